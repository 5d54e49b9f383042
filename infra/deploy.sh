#!/usr/bin/env bash
# Deploy Lookout to Azure: the infrastructure (infra/main.json), then the code, then wait until the app
# answers, and print the base URL that the lookout CLI and the registry integrations use.
# Run it again to update; it never replaces the encryption key once the Key Vault holds one.
set -euo pipefail

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
    echo "deploy.sh: needs bash 4.4 or later (on macOS: brew install bash)" >&2
    exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOYMENT_NAME="lookout-main"
SECRET_NAME="lookout-encryption-key"     # variables('encryptionKeySecretName') in main.json

usage() {
    cat <<'EOF'
Usage: infra/deploy.sh -g RESOURCE_GROUP -p NAME_PREFIX [-l LOCATION] [options]
       infra/deploy.sh --package-only ZIP_PATH

Deploys Lookout into RESOURCE_GROUP (created in LOCATION when it does not exist): the Azure resources
of infra/main.json, then the code, then prints the app's base URL.

  -g, --resource-group NAME     resource group to deploy into      (or LOOKOUT_RESOURCE_GROUP)
  -l, --location REGION         region offering Flex Consumption   (or LOOKOUT_LOCATION); needed
                                only when the resource group does not exist yet
  -p, --prefix PREFIX           3-11 lowercase letters and digits starting with a letter, the start
                                of every resource name             (or LOOKOUT_NAME_PREFIX)
      --subscription ID         subscription to use instead of az's current one
                                                                   (or LOOKOUT_SUBSCRIPTION)
      --public-url URL          LOOKOUT_PUBLIC_URL, when registries reach the app through another
                                host name (default: https://<the app's default host name>)
      --allow-insecure-registries
                                set LOOKOUT_ALLOW_INSECURE_REGISTRIES=true
      --advisory-feeds URLS     LOOKOUT_ADVISORY_FEEDS: comma-separated https URLs of the advisory
                                feeds the app imports at start and every six hours (default: OSV's
                                feed of every matched ecosystem and the Debian tracker; '' for none;
                                pass them on every deploy)
      --publisher auto|func|zip how to publish the code: Core Tools when 'func' is on PATH, else a
                                zip deployment with a remote build (default: auto)
      --infra-only              deploy the resources, not the code
      --show-key                print the function key (otherwise only the command that reads it)
      --package-only ZIP_PATH   only build the deployment package (what .funcignore lets through)
  -h, --help                    this help

Needs: the Azure CLI (az, logged in with rights to create resources and role assignments in the
resource group) and Python 3. See infra/README.md.
EOF
}

die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

python_bin() {
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        printf '%s\n' "$ROOT/.venv/bin/python"
    elif command -v python3 >/dev/null 2>&1; then
        command -v python3
    else
        die "Python 3 is needed (python3 on PATH, or make setup for .venv)"
    fi
}

# Build the zip that Azure builds and runs: the project minus what .funcignore names.
build_package() {
    local out="$1" py
    py="$(python_bin)"
    "$py" - "$ROOT" "$out" <<'PY'
import fnmatch
import os
import sys
import zipfile

root, out = sys.argv[1], sys.argv[2]
rules = []
with open(os.path.join(root, ".funcignore"), encoding="utf-8") as lines:
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            sys.exit(f".funcignore: negated patterns are not supported here: {line}")
        directory_only = line.endswith("/")
        pattern = line.strip("/")
        anchored = "/" in pattern or line.startswith("/")
        rules.append((pattern, directory_only, anchored))


def ignored(path: str, is_dir: bool) -> bool:
    name = path.rsplit("/", 1)[-1]
    for pattern, directory_only, anchored in rules:
        if directory_only and not is_dir:
            continue
        if fnmatch.fnmatchcase(path if anchored else name, pattern):
            return True
    return False


count = 0
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        rel = "" if rel == "." else rel + "/"
        dirs[:] = sorted(d for d in dirs if not ignored(rel + d, True))
        for name in sorted(files):
            path = rel + name
            if os.path.abspath(os.path.join(folder, name)) == os.path.abspath(out) or ignored(path, False):
                continue
            archive.write(os.path.join(folder, name), path)
            count += 1
for required in ("function_app.py", "host.json", "requirements.txt"):
    if not os.path.exists(os.path.join(root, required)):
        sys.exit(f"the project has no {required}: nothing to deploy")
print(f"packaged {count} files into {out}", file=sys.stderr)
PY
}

resource_group="${LOOKOUT_RESOURCE_GROUP:-}"
location="${LOOKOUT_LOCATION:-}"
prefix="${LOOKOUT_NAME_PREFIX:-}"
subscription="${LOOKOUT_SUBSCRIPTION:-}"
public_url=""
advisory_feeds=""
advisory_feeds_given=false
allow_insecure=false
publisher=auto
infra_only=false
show_key=false
package_only=""

while (($#)); do
    case "$1" in
        -g|--resource-group) resource_group="${2:?$1 needs a value}"; shift 2 ;;
        -l|--location) location="${2:?$1 needs a value}"; shift 2 ;;
        -p|--prefix) prefix="${2:?$1 needs a value}"; shift 2 ;;
        --subscription) subscription="${2:?$1 needs a value}"; shift 2 ;;
        --public-url) public_url="${2:?$1 needs a value}"; shift 2 ;;
        --advisory-feeds) advisory_feeds="${2?$1 needs a value}"; advisory_feeds_given=true; shift 2 ;;
        --allow-insecure-registries) allow_insecure=true; shift ;;
        --publisher) publisher="${2:?$1 needs a value}"; shift 2 ;;
        --infra-only) infra_only=true; shift ;;
        --show-key) show_key=true; shift ;;
        --package-only) package_only="${2:?$1 needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

if [[ -n "$package_only" ]]; then
    build_package "$package_only"
    exit 0
fi

[[ -n "$resource_group" ]] || { usage >&2; die "the resource group is missing (-g or LOOKOUT_RESOURCE_GROUP)"; }
[[ -n "$prefix" ]] || { usage >&2; die "the name prefix is missing (-p or LOOKOUT_NAME_PREFIX)"; }
[[ "$prefix" =~ ^[a-z][a-z0-9]{2,10}$ ]] \
    || die "the prefix must be 3-11 lowercase letters and digits starting with a letter, not '$prefix'"
[[ "$publisher" =~ ^(auto|func|zip)$ ]] || die "--publisher takes auto, func or zip, not '$publisher'"
if [[ -n "$public_url" && ! "$public_url" =~ ^https?:// ]]; then
    die "--public-url must be an http(s) URL"
fi

command -v az >/dev/null 2>&1 \
    || die "the Azure CLI (az) is not installed: https://learn.microsoft.com/cli/azure/install-azure-cli"
sub_args=()
if [[ -n "$subscription" ]]; then
    sub_args=(--subscription "$subscription")
fi
az account show "${sub_args[@]}" --output none 2>/dev/null \
    || die "az is not logged in (or cannot see the subscription): run az login first"
subscription_id="$(az account show "${sub_args[@]}" --query id --output tsv)"
PY="$(python_bin)"

tmpdir="$(mktemp -d)"
trap 'rm -rf "$tmpdir"' EXIT

# 1. The resource group.
if [[ "$(az group exists "${sub_args[@]}" --name "$resource_group")" == "true" ]]; then
    group_location="$(az group show "${sub_args[@]}" --name "$resource_group" --query location --output tsv)"
    if [[ -n "$location" && "${location,,}" != "${group_location,,}" ]]; then
        log "resource group $resource_group is in $group_location; deploying there, not in $location"
    fi
    location="$group_location"
else
    [[ -n "$location" ]] || die "resource group $resource_group does not exist: give a location (-l) to create it"
    log "creating resource group $resource_group in $location"
    az group create "${sub_args[@]}" --name "$resource_group" --location "$location" \
        --tags "lookout-deployment=$prefix" --output none
fi

# 2. Names. The suffix keeps global names unique; deriving it here (not in the template) tells this
#    script the Key Vault name before the first deployment. Must match variables('keyVaultName').
suffix="$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].lower().encode()).hexdigest()[:8])' \
    "/subscriptions/$subscription_id/resourceGroups/$resource_group")"
key_vault="${prefix}-kv-${suffix}"
vault_id="/subscriptions/$subscription_id/resourceGroups/$resource_group/providers/Microsoft.KeyVault/vaults/$key_vault"

# 3. The encryption key: created once, never replaced. A vault left soft-deleted by destroy.sh is
#    recovered with its secret, so the registry passwords stored in Table storage stay readable.
create_mode=default
new_key=false
if az keyvault show "${sub_args[@]}" --name "$key_vault" --resource-group "$resource_group" --output none 2>/dev/null; then
    if ! az resource show "${sub_args[@]}" --ids "$vault_id/secrets/$SECRET_NAME" --api-version 2023-07-01 \
            --output none 2>/dev/null; then
        new_key=true
    fi
elif [[ -n "$(az keyvault list-deleted "${sub_args[@]}" --resource-type vault \
        --query "[?name=='$key_vault'].name" --output tsv 2>/dev/null)" ]]; then
    log "recovering the soft-deleted Key Vault $key_vault (and the encryption key in it)"
    create_mode=recover
else
    new_key=true
fi
if [[ "$new_key" == true ]]; then
    log "generating a new encryption key for the Key Vault secret $SECRET_NAME"
fi

# Every parameter goes through a file only this user can read, so the key never shows on a command line.
umask 077
"$PY" - "$tmpdir/parameters.json" "$prefix" "$suffix" "$location" "$public_url" "$allow_insecure" \
    "$create_mode" "$new_key" "$advisory_feeds_given" "$advisory_feeds" <<'PY'
import base64
import json
import os
import sys

out, prefix, suffix, location, public_url, insecure, create_mode, new_key, feeds_given, feeds = sys.argv[1:]
values = {
    "namePrefix": prefix,
    "nameSuffix": suffix,
    "location": location,
    "publicUrl": public_url,
    "allowInsecureRegistries": insecure == "true",
    "keyVaultCreateMode": create_mode,
}
if feeds_given == "true":
    values["advisoryFeeds"] = feeds
if new_key == "true":
    values["encryptionKey"] = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
document = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {name: {"value": value} for name, value in values.items()},
}
with open(out, "w", encoding="utf-8") as stream:
    json.dump(document, stream)
PY

# 4. The infrastructure.
log "deploying infra/main.json into $resource_group (a few minutes)"
if ! az deployment group create "${sub_args[@]}" --resource-group "$resource_group" --name "$DEPLOYMENT_NAME" \
        --template-file "$ROOT/infra/main.json" --parameters "@$tmpdir/parameters.json" --output none; then
    die "the infrastructure deployment failed (see the error above; az deployment operation group list -g $resource_group -n $DEPLOYMENT_NAME shows each step)"
fi
rm -f "$tmpdir/parameters.json"

output() {
    az deployment group show "${sub_args[@]}" --resource-group "$resource_group" --name "$DEPLOYMENT_NAME" \
        --query "properties.outputs.$1.value" --output tsv
}
app="$(output functionAppName)"
base_url="$(output functionAppUrl)"
dead_letter_account="$(output deadLetterStorageAccountId)"
dead_letter_container="$(output deadLetterContainerName)"
[[ -n "$app" && -n "$base_url" ]] || die "the deployment has no functionAppName/functionAppUrl outputs"

# 5. The code. The app must run before any registry subscription is created: Event Grid validates a
#    webhook with a handshake when the subscription is created, and only a running app answers it.
publish_zip() {
    build_package "$tmpdir/app.zip"
    local attempt
    for attempt in 1 2 3 4 5; do
        # A new role assignment on the package container can take minutes to apply.
        if az functionapp deployment source config-zip "${sub_args[@]}" --resource-group "$resource_group" \
                --name "$app" --src "$tmpdir/app.zip" --build-remote true --timeout 900 --output none; then
            return 0
        fi
        log "publishing failed (attempt $attempt of 5); retrying in $((attempt * 30)) s"
        sleep $((attempt * 30))
    done
    return 1
}

if [[ "$infra_only" == true ]]; then
    log "skipping the code (--infra-only)"
else
    published=false
    if [[ "$publisher" == func || ("$publisher" == auto && -z "$subscription") ]] && command -v func >/dev/null 2>&1; then
        # Core Tools finds the app in az's current subscription; with --subscription, auto uses zip.
        log "publishing with Azure Functions Core Tools"
        if (cd "$ROOT" && func azure functionapp publish "$app" --python); then
            published=true
        elif [[ "$publisher" == func ]]; then
            die "func azure functionapp publish failed"
        else
            log "Core Tools could not publish; falling back to a zip deployment"
        fi
    elif [[ "$publisher" == func ]]; then
        die "--publisher func needs Azure Functions Core Tools (func) on PATH"
    fi
    if [[ "$published" == false ]]; then
        log "publishing a zip deployment (Azure installs requirements.txt: remote build)"
        publish_zip || die "the code could not be published to $app"
    fi

    log "waiting for the app to list its functions"
    functions=0
    for _ in $(seq 1 30); do
        functions="$(az functionapp function list "${sub_args[@]}" --resource-group "$resource_group" --name "$app" \
            --query 'length(@)' --output tsv 2>/dev/null || echo 0)"
        [[ "${functions:-0}" =~ ^[0-9]+$ ]] || functions=0
        ((functions > 0)) && break
        sleep 10
    done
    ((functions > 0)) || log "warning: the app lists no functions yet; check Application Insights before wiring registries"

    # The encryption key reaches the app as a Key Vault reference; a reference resolved before its role
    # assignment applied stays unresolved until the app restarts.
    reference_url="/subscriptions/$subscription_id/resourceGroups/$resource_group/providers/Microsoft.Web/sites/$app"
    reference_url+="/config/configreferences/appsettings/LOOKOUT_ENCRYPTION_KEY?api-version=2023-12-01"
    status=""
    for attempt in 1 2 3 4 5 6; do
        status="$(az rest --method get --url "$reference_url" --query properties.status \
            --output tsv 2>/dev/null || true)"
        [[ "$status" == Resolved ]] && break
        if ((attempt == 2 || attempt == 4)); then
            log "the LOOKOUT_ENCRYPTION_KEY reference is ${status:-not resolved yet}; restarting the app"
            az functionapp restart "${sub_args[@]}" --resource-group "$resource_group" --name "$app" --output none || true
        fi
        sleep 20
    done
    [[ "$status" == Resolved ]] \
        || log "warning: the LOOKOUT_ENCRYPTION_KEY Key Vault reference is '${status:-unknown}'; see infra/README.md (troubleshooting)"
fi

# 6. The function key (host key 'default'), which the management routes and the lookout CLI need.
key=""
for _ in 1 2 3 4 5 6; do
    key="$(az functionapp keys list "${sub_args[@]}" --resource-group "$resource_group" --name "$app" \
        --query functionKeys.default --output tsv 2>/dev/null || true)"
    [[ -n "$key" ]] && break
    sleep 10
done

key_command="az functionapp keys list -g $resource_group -n $app --query functionKeys.default -o tsv"
if [[ -n "$subscription" ]]; then
    key_command+=" --subscription $subscription"
fi
echo
echo "Lookout is deployed."
echo "  Base URL:      $base_url"
echo "  Function app:  $app (resource group $resource_group)"
if [[ -z "$key" ]]; then
    echo "  Function key:  not readable yet; read it later with: $key_command"
elif [[ "$show_key" == true ]]; then
    echo "  Function key:  $key"
else
    echo "  Function key:  read it with: $key_command   (or run again with --show-key)"
fi
echo
echo "Next, for each registry (see infra/README.md):"
echo "  1. create an integration: POST $base_url/api/integrations with the key in the x-functions-key header;"
echo "     its answer holds the registry's webhook URL;"
echo "  2. deploy infra/registry-integration.json into the registry's resource group with that URL"
echo "     (DockerScoutWebhook), RegistryName, and to keep refused deliveries:"
echo "       deadLetterStorageAccountId=$dead_letter_account deadLetterContainerName=$dead_letter_container"
