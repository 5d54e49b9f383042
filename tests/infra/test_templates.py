"""The ARM templates: well-formed, self-consistent, and in agreement with the settings module."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shared.settings import SETTINGS
from tests.infra.arm import ExpressionError, ResourceRef, is_expression, parse, relative_scope
from tests.infra.templates import INFRA, MAIN, REGISTRY, TEMPLATES, Scope, load, resources_of, scopes, site

# Azure built-in roles, by the GUID Microsoft's "Azure built-in roles" reference documents for each.
BUILT_IN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}

# The roles each template grants, by name.
GRANTED_ROLES = {
    MAIN.name: {
        "Storage Blob Data Owner",
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
        "Monitoring Metrics Publisher",
        "Key Vault Secrets User",
    },
    REGISTRY.name: {"Storage Blob Data Contributor"},
}

# Resource types a scope may point at without declaring them, because they exist before it runs.
EXISTING = {
    MAIN.name: {"microsoft.authorization/roledefinitions"},
    REGISTRY.name: {
        "microsoft.authorization/roledefinitions",
        "microsoft.containerregistry/registries",  # the registry being wired
        "microsoft.containerregistry/registries/scopemaps",  # ACR's built-in scope maps
    },
    f"{REGISTRY.name} > nested template 1": {
        "microsoft.authorization/roledefinitions",
        "microsoft.storage/storageaccounts",  # Lookout's storage, deployed by main.json
        "microsoft.storage/storageaccounts/blobservices/containers",
    },
}

# Template parameters that carry a setting's value, and the setting.
PARAMETER_SETTINGS = {
    "tablePrefix": "LOOKOUT_TABLE_PREFIX",
    "publicUrl": "LOOKOUT_PUBLIC_URL",
    "allowInsecureRegistries": "LOOKOUT_ALLOW_INSECURE_REGISTRIES",
    "advisorySource": "LOOKOUT_ADVISORY_SOURCE",
    "advisoryFeeds": "LOOKOUT_ADVISORY_FEEDS",
    "osvApiUrl": "LOOKOUT_OSV_API_URL",
    "notifyAllowPrivate": "LOOKOUT_NOTIFY_ALLOW_PRIVATE",
}


def app_settings(template: dict[str, Any]) -> dict[str, Any]:
    entries = site(template)["properties"]["siteConfig"]["appSettings"]
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), f"app settings set twice: {sorted(n for n in names if names.count(n) > 1)}"
    return {entry["name"]: entry["value"] for entry in entries}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_is_a_deployment_template(path: Path) -> None:
    template = load(path)
    assert template["$schema"].startswith("https://schema.management.azure.com/schemas/")
    assert template["$schema"].endswith("/deploymentTemplate.json#")
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", template["contentVersion"])
    assert isinstance(template["resources"], list) and template["resources"]
    for resource in template["resources"]:
        assert {"type", "apiVersion", "name"} <= set(resource), f"incomplete resource: {resource.get('name')}"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", resource["apiVersion"]), resource["apiVersion"]


def test_example_parameters_name_declared_parameters() -> None:
    example = load(INFRA / "main.parameters.example.json")
    assert example["$schema"].endswith("/deploymentParameters.json#")
    declared = load(MAIN)["parameters"]
    assert set(example["parameters"]) <= set(declared)
    assert "encryptionKey" not in example["parameters"], "a secret does not belong in an example file"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_expression_parses(path: Path) -> None:
    for scope in scopes(path):
        for expression in scope.expressions():
            try:
                parse(expression)
            except ExpressionError as exc:
                pytest.fail(f"{scope.label}: {exc}")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_parameters_and_variables_are_declared_and_used(path: Path) -> None:
    for scope in scopes(path):
        evaluator = scope.evaluator()
        assert not evaluator.undeclared, f"{scope.label} uses undeclared {sorted(evaluator.undeclared)}"
        unused_parameters = set(scope.template.get("parameters", {})) - evaluator.used_parameters
        assert not unused_parameters, f"{scope.label} declares unused parameters {sorted(unused_parameters)}"
        unused_variables = set(scope.template.get("variables", {})) - evaluator.used_variables
        assert not unused_variables, f"{scope.label} declares unused variables {sorted(unused_variables)}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_resource_references_resolve(path: Path) -> None:
    for scope in scopes(path):
        evaluator = scope.evaluator()
        declared = scope.declared(evaluator)
        existing = EXISTING[scope.label]
        names = {str(evaluator.value(r["name"])) for r in scope.resources()}

        def resolves(target: Any, where: str, scope: Scope = scope, declared: dict[str, Any] = declared,
                     existing: set[str] = existing, names: set[str] = names) -> None:
            if isinstance(target, ResourceRef):
                ok = target.key() in declared or target.type.lower() in existing
                assert ok, f"{scope.label}: {where} points at {target.type} '{target.name}', declared nowhere"
            elif isinstance(target, str):
                assert target in names, f"{scope.label}: {where} names '{target}', declared nowhere"
            else:
                pytest.fail(f"{scope.label}: {where} cannot be resolved: {target!r}")

        for resource in scope.resources():
            label = f"{resource['type']} {resource['name']}"
            for dependency in resource.get("dependsOn", []):
                resolves(evaluator.value(dependency), f"dependsOn of {label}")
            if "scope" in resource:
                target = str(evaluator.value(resource["scope"]))
                key = relative_scope(target)
                scope_type = key.split("|")[1]
                assert key in declared or scope_type in existing, f"{scope.label}: {label} is scoped to {target}"
        for built in evaluator.built:
            resolves(built, "resourceId()")
        for referenced in evaluator.references:
            resolves(referenced, "reference()")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_role_definitions_are_documented_built_in_roles(path: Path) -> None:
    granted: set[str] = set()
    for scope in scopes(path):
        evaluator = scope.evaluator()
        for assignment in resources_of(scope.template, "Microsoft.Authorization/roleAssignments"):
            role = evaluator.value(assignment["properties"]["roleDefinitionId"])
            assert isinstance(role, ResourceRef), f"{scope.label}: roleDefinitionId must use subscriptionResourceId()"
            assert role.scope == "subscription" and role.type == "Microsoft.Authorization/roleDefinitions"
            assert role.name in BUILT_IN_ROLES, f"{scope.label}: {role.name} is not a known built-in role"
            assert assignment["properties"].get("principalType") == "ServicePrincipal"
            granted.add(BUILT_IN_ROLES[role.name])
    assert granted == GRANTED_ROLES[path.name]


def test_app_settings_are_the_deployed_settings() -> None:
    deployed = {s.name for s in SETTINGS if s.deployed}
    template = set(app_settings(load(MAIN)))
    assert not deployed - template, f"settings.py settings main.json does not set: {sorted(deployed - template)}"
    assert not template - deployed, f"main.json sets settings settings.py does not declare: {sorted(template - deployed)}"


def test_app_settings_leave_out_local_and_flex_forbidden_settings() -> None:
    settings = app_settings(load(MAIN))
    for setting in SETTINGS:
        if setting.local_only or setting.read_by == "platform":
            assert setting.name not in settings, f"{setting.name} is not for the template to set"
    # The Flex Consumption plan takes the runtime and the package from functionAppConfig instead.
    for name in ("FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"):
        assert name not in settings


def test_parameter_defaults_are_the_setting_defaults() -> None:
    template = load(MAIN)
    settings = app_settings(template)
    defaults = {s.name: s.default for s in SETTINGS}
    for parameter, setting in PARAMETER_SETTINGS.items():
        assert f"parameters('{parameter}')" in settings[setting], f"{setting} should come from {parameter}"
        default = template["parameters"][parameter]["defaultValue"]
        if isinstance(default, bool):
            default = "true" if default else "false"
        assert default == defaults[setting], f"{parameter} defaults to {default!r}, {setting} to {defaults[setting]!r}"


def test_identity_based_storage_and_key_vault_reference() -> None:
    template = load(MAIN)
    scope = scopes(MAIN)[0]
    evaluator = scope.evaluator()
    settings = {name: evaluator.value(value) for name, value in app_settings(template).items()}
    identity = evaluator.value("[variables('identityId')]")
    storage = evaluator.value("[variables('storageAccountName')]")

    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__accountName"] == storage
    for service in ("blob", "queue", "table"):
        uri = settings[f"AzureWebJobsStorage__{service}ServiceUri"]
        assert uri.startswith(f"https://{storage}.{service}.") and not uri.endswith("/")
    assert identity in evaluator.references, "the client ID comes from the user-assigned identity"

    app = site(template)
    assert app["identity"]["type"] == "UserAssigned"
    assert [evaluator.value(k) for k in app["identity"]["userAssignedIdentities"]] == [identity]
    assert evaluator.value(app["properties"]["keyVaultReferenceIdentity"]) == identity

    vault = evaluator.value("[variables('keyVaultName')]")
    secret_name = evaluator.value("[variables('encryptionKeySecretName')]")
    reference = settings["LOOKOUT_ENCRYPTION_KEY"]
    match = re.fullmatch(r"@Microsoft\.KeyVault\(SecretUri=https://(.+?)<environment\(\)\.suffixes\.keyvaultDns>"
                         r"/secrets/(.+)/\)", reference)
    assert match, f"LOOKOUT_ENCRYPTION_KEY is not a versionless Key Vault reference: {reference}"
    assert match.groups() == (vault, secret_name)
    secrets = resources_of(template, "Microsoft.KeyVault/vaults/secrets")
    assert [evaluator.value(s["name"]) for s in secrets] == [f"{vault}/{secret_name}"]
    assert template["parameters"]["encryptionKey"]["type"] == "securestring"
    assert "not(empty(parameters('encryptionKey')))" in secrets[0]["condition"], "an empty key must not replace it"


def test_flex_consumption_app_on_python_311() -> None:
    template = load(MAIN)
    evaluator = scopes(MAIN)[0].evaluator()
    (plan,) = resources_of(template, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True
    app = site(template)
    assert app["kind"] == "functionapp,linux"
    assert app["properties"]["httpsOnly"] is True
    config = app["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    container = evaluator.value(storage["value"])
    containers = [evaluator.value(c["name"]).split("/") for c in
                  resources_of(template, "Microsoft.Storage/storageAccounts/blobServices/containers")]
    assert any(container.endswith("/" + parts[-1]) for parts in containers), "the package container is declared"

    (account,) = resources_of(template, "Microsoft.Storage/storageAccounts")
    assert account["properties"]["allowSharedKeyAccess"] is False
    assert account["properties"]["allowBlobPublicAccess"] is False
    (insights,) = resources_of(template, "Microsoft.Insights/components")
    assert insights["properties"]["DisableLocalAuth"] is True
    assert "WorkspaceResourceId" in insights["properties"]
    assert {"functionAppName", "functionAppUrl"} <= set(template["outputs"])


def test_registry_template_keeps_the_docker_scout_contract() -> None:
    template = load(REGISTRY)
    parameters = template["parameters"]
    assert parameters["DockerScoutWebhook"]["type"] == "securestring"
    assert parameters["RegistryName"]["type"].lower() == "string"
    assert parameters["systemTopics_dockerScoutRepository"]["defaultValue"] == "docker-scout-repository"
    required = {name for name, p in parameters.items() if "defaultValue" not in p}
    assert required == {"DockerScoutWebhook", "RegistryName"}, "new parameters need defaults to stay compatible"

    (topic,) = resources_of(template, "Microsoft.EventGrid/systemTopics")
    assert topic["properties"]["topicType"] == "Microsoft.ContainerRegistry.Registries"
    assert topic["name"] == "[parameters('systemTopics_dockerScoutRepository')]"
    assert "useExistingSystemTopic" in topic["condition"]

    (subscription,) = resources_of(template, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    properties = subscription["properties"]
    assert parameters["eventSubscriptionName"]["defaultValue"] == "image-change"
    assert properties["destination"]["endpointType"] == "WebHook"
    assert properties["destination"]["properties"]["endpointUrl"] == "[parameters('DockerScoutWebhook')]"
    assert properties["destination"]["properties"]["maxEventsPerBatch"] == 1
    assert properties["eventDeliverySchema"] == "EventGridSchema"
    assert properties["filter"]["enableAdvancedFilteringOnArrays"] is True
    assert sorted(properties["filter"]["includedEventTypes"]) == [
        "Microsoft.ContainerRegistry.ImageDeleted",
        "Microsoft.ContainerRegistry.ImagePushed",
    ]
    assert properties["retryPolicy"] == {"eventTimeToLiveInMinutes": 1440, "maxDeliveryAttempts": 30}
    dead_letter = properties["deadLetterWithResourceIdentity"]
    assert "'StorageBlob'" in dead_letter and "'SystemAssigned'" in dead_letter
    assert "parameters('deadLetterStorageAccountId')" in dead_letter

    evaluator = scopes(REGISTRY)[0].evaluator()
    (token,) = resources_of(template, "Microsoft.ContainerRegistry/registries/tokens")
    assert evaluator.value(token["name"]) == "{param:RegistryName}/docker-scout-readonly-token"
    scope_map = evaluator.value(token["properties"]["scopeMapId"])
    assert scope_map == ResourceRef("", "Microsoft.ContainerRegistry/registries/scopeMaps",
                                    "{param:RegistryName}/_repositories_pull_metadata_read")


def test_dead_letter_container_agrees_between_templates() -> None:
    main = scopes(MAIN)[0].evaluator()
    default = load(REGISTRY)["parameters"]["deadLetterContainerName"]["defaultValue"]
    assert main.value("[variables('deadLetterContainerName')]") == default
    assert {"deadLetterStorageAccountId", "deadLetterContainerName"} <= set(load(MAIN)["outputs"])


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_secure_parameters_stay_out_of_outputs(path: Path) -> None:
    template = load(path)
    secure = [name for name, p in template["parameters"].items() if p["type"].lower() == "securestring"]
    outputs = json.dumps(template.get("outputs", {}))
    for name in secure:
        assert f"parameters('{name}')" not in outputs


def test_deploy_script_derives_the_template_names() -> None:
    script = (INFRA / "deploy.sh").read_text(encoding="utf-8")
    evaluator = scopes(MAIN)[0].evaluator()
    vault = evaluator.value("[variables('keyVaultName')]")
    shell = vault.replace("{param:namePrefix}", "${prefix}").replace("{param:nameSuffix}", "${suffix}")
    assert f'key_vault="{shell}"' in script, f"deploy.sh must compute the Key Vault name as {shell}"
    secret = evaluator.value("[variables('encryptionKeySecretName')]")
    assert f'SECRET_NAME="{secret}"' in script
    outputs = set(re.findall(r"\$\(output (\w+)\)", script))
    assert outputs and outputs <= set(load(MAIN)["outputs"]), "deploy.sh reads outputs main.json has"
    block = re.search(r"^values = \{\n(.*?)^\}", script, flags=re.MULTILINE | re.DOTALL)
    assert block, "deploy.sh writes its parameters from a 'values' dictionary"
    parameters = set(re.findall(r'^\s+"(\w+)": ', block.group(1), flags=re.MULTILINE)) | {"encryptionKey"}
    assert parameters <= set(load(MAIN)["parameters"]), f"deploy.sh passes {sorted(parameters)}"


def test_expressions_are_not_escaped_by_mistake() -> None:
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for value in re.findall(r'"(\[[^"]*\])"', text):
            assert is_expression(value), f"{path.name}: {value} is escaped and would stay literal"
