#!/usr/bin/env bash
# Remove a Lookout deployment: delete the resource group that infra/deploy.sh deployed into.
# Refuses when the group holds resources that the Lookout template did not create, unless --force.
set -euo pipefail

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
    echo "destroy.sh: needs bash 4.4 or later (on macOS: brew install bash)" >&2
    exit 1
fi

usage() {
    cat <<'EOF'
Usage: infra/destroy.sh -g RESOURCE_GROUP [--yes] [--force] [--subscription ID]

Deletes RESOURCE_GROUP with everything in it: the function app, its storage (integrations, results,
queued jobs, dead-lettered events), Application Insights and Log Analytics data, and the Key Vault.

  -g, --resource-group NAME  the resource group deploy.sh used    (or LOOKOUT_RESOURCE_GROUP)
      --subscription ID      subscription to use instead of az's current one (or LOOKOUT_SUBSCRIPTION)
      --yes                  do not ask for confirmation          (or LOOKOUT_DESTROY_CONFIRM=yes)
      --force                delete the group even if it holds resources Lookout did not create
  -h, --help                 this help

The Key Vault is soft-deleted and purge-protected for 90 days: deploy.sh recovers it, with the
encryption key, when it deploys the same prefix into a resource group of the same name again.
Registries keep their Event Grid subscriptions and tokens; remove them as infra/README.md shows.
EOF
}

die() { printf 'destroy.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

resource_group="${LOOKOUT_RESOURCE_GROUP:-}"
subscription="${LOOKOUT_SUBSCRIPTION:-}"
confirmed=false
[[ "${LOOKOUT_DESTROY_CONFIRM:-}" == yes ]] && confirmed=true
force=false

while (($#)); do
    case "$1" in
        -g|--resource-group) resource_group="${2:?$1 needs a value}"; shift 2 ;;
        --subscription) subscription="${2:?$1 needs a value}"; shift 2 ;;
        --yes) confirmed=true; shift ;;
        --force) force=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[[ -n "$resource_group" ]] || { usage >&2; die "the resource group is missing (-g or LOOKOUT_RESOURCE_GROUP)"; }
command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"
sub_args=()
if [[ -n "$subscription" ]]; then
    sub_args=(--subscription "$subscription")
fi
az account show "${sub_args[@]}" --output none 2>/dev/null || die "az is not logged in: run az login first"

if [[ "$(az group exists "${sub_args[@]}" --name "$resource_group")" != "true" ]]; then
    log "resource group $resource_group does not exist; nothing to remove"
    exit 0
fi

# Everything main.json creates carries the tag lookout-deployment; Application Insights adds its own
# smart-detection alert rule and action group without it.
untagged="$(az resource list "${sub_args[@]}" --resource-group "$resource_group" \
    --query "[?tags.\"lookout-deployment\" == null].[type, name]" --output tsv)"
foreign="$(printf '%s\n' "$untagged" \
    | grep -v -i -E '^(microsoft\.alertsmanagement/smartdetectoralertrules|microsoft\.insights/actiongroups)[[:space:]]' \
    | sed '/^[[:space:]]*$/d' || true)"
if [[ -n "$foreign" ]]; then
    printf 'Resources in %s that the Lookout template did not create:\n%s\n' "$resource_group" "$foreign" >&2
    [[ "$force" == true ]] || die "refusing to delete the resource group; remove them first or pass --force"
fi

if [[ "$confirmed" != true ]]; then
    [[ -t 0 ]] || die "no terminal to confirm on: pass --yes (or LOOKOUT_DESTROY_CONFIRM=yes) to delete $resource_group"
    printf 'Delete resource group %s and all Lookout data in it? Type its name to confirm: ' "$resource_group" >&2
    read -r answer
    [[ "$answer" == "$resource_group" ]] || die "not confirmed; nothing deleted"
fi

log "deleting resource group $resource_group (several minutes)"
az group delete "${sub_args[@]}" --name "$resource_group" --yes --output none
log "deleted $resource_group"
cat >&2 <<'EOF'
Registries wired to this deployment still send events to it, and Event Grid retries them for a day.
For each one, in the registry's resource group:
  az eventgrid system-topic event-subscription delete -g REGISTRY_RG --system-topic-name docker-scout-repository -n image-change
  az acr token delete -r REGISTRY -n docker-scout-readonly-token
EOF
