"""What the user deploys on the registry side: the inputs of ``infra/registry-integration.json``.

The app serves the template itself (``GET /api/templates/registry-integration.json``), so the
``az`` command line and the "Deploy to Azure" link always match the deployed version of Lookout.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import quote

from shared.integrations.model import registry_name

TEMPLATE_NAME = "registry-integration.json"
TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "infra" / TEMPLATE_NAME
TEMPLATE_ROUTE = f"templates/{TEMPLATE_NAME}"
TOKEN_NAME = "docker-scout-readonly-token"  # noqa: S105 - the registry token's name, not a secret
SYSTEM_TOPIC = "docker-scout-repository"
EVENT_SUBSCRIPTION = "image-change"
PORTAL_CREATE = "https://portal.azure.com/#create/Microsoft.Template/uri/"


def template_url(public_url: str) -> str:
    """Where the app serves the registry-side template."""
    return f"{public_url}/api/{TEMPLATE_ROUTE}"


def registry_template_inputs(public_url: str, registry_host: str, webhook: str) -> dict[str, object]:
    """The template's parameters, the exact ``az`` command, the portal link and the token steps."""
    name = registry_name(registry_host)
    url = template_url(public_url)
    deploy = " ".join([
        "az deployment group create",
        "--resource-group", "<registry-resource-group>",
        "--name", "lookout-integration",
        "--template-uri", shlex.quote(url),
        "--parameters", f"RegistryName={shlex.quote(name)}", shlex.quote(f"DockerScoutWebhook={webhook}"),
    ])
    password = (
        f"az acr token credential generate --registry {shlex.quote(name)} --name {TOKEN_NAME} "
        "--password1 --query 'passwords[0].value' --output tsv"
    )
    return {
        "template_url": url,
        "parameters": {"RegistryName": name, "DockerScoutWebhook": webhook},
        "az_command": deploy,
        "deploy_to_azure_url": PORTAL_CREATE + quote(url, safe=""),
        "token_password_command": password,
        "next_steps": [
            "Deploy the template into the registry's resource group (az_command, or deploy_to_azure_url "
            "with the two parameters).",
            f"Generate the {TOKEN_NAME} password (token_password_command); it works after about a minute.",
            "Hand it to Lookout: PUT /api/integrations/{id}/token with {\"password\": ...} "
            "or `lookout integrations token ID`.",
        ],
    }


def cleanup_commands(registry_host: str) -> list[str]:
    """The commands that delete what the template created on the registry side."""
    name = shlex.quote(registry_name(registry_host))
    return [
        f"az acr token delete --registry {name} --name {TOKEN_NAME} --yes",
        f"az eventgrid system-topic event-subscription delete --resource-group <registry-resource-group> "
        f"--system-topic-name {SYSTEM_TOPIC} --name {EVENT_SUBSCRIPTION} --yes",
        f"az eventgrid system-topic delete --resource-group <registry-resource-group> --name {SYSTEM_TOPIC} --yes",
    ]
