"""End to end: the integration lifecycle through ``lookout serve`` and through the ``lookout`` CLI.

Create a pending integration, handshake, bad and good token passwords, a token without rights, the
summary, activation with backfill, pushes to inactive repositories, removal and refused deliveries.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.secrets import generate_key
from testkit.azurite import Azurite
from testkit.events import image_pushed
from testkit.images import push_image
from testkit.localhost import PROJECT_ROOT, ServedApp
from testkit.processes import wait_until
from testkit.registry import RegistryServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app() -> Iterator[ServedApp]:
    storage = Azurite()
    storage.start()
    served = ServedApp({
        "AzureWebJobsStorage": storage.connection_string,
        "LOOKOUT_ENCRYPTION_KEY": generate_key(),
        "LOOKOUT_TABLE_PREFIX": "lifecycle",
    })
    served.settings["LOOKOUT_PUBLIC_URL"] = served.url
    served.start()
    try:
        yield served
    finally:
        served.close()
        storage.close()


def api(app: ServedApp, method: str, path: str, body: dict[str, Any] | None = None, **params: str) -> requests.Response:
    return requests.request(method, f"{app.url}/api/{path}", json=body, params=params, timeout=60)


def lookout(app: ServedApp, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, against the served app."""
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args, "--url", app.url], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, check=False)


def image(app: ServedApp, registry: RegistryServer, repository: str, reference: str) -> requests.Response:
    return api(app, "GET", "images", registry=registry.host, repository=repository, reference=reference)


def test_lifecycle_over_the_api(app: ServedApp, registry: RegistryServer) -> None:
    # Images already in the registry before the integration exists.
    old = push_image(registry, "shop/web", "1.0", [{"v": "1"}], created="2024-01-01T00:00:00Z")
    new = push_image(registry, "shop/web", "2.0", [{"v": "2"}], created="2025-06-01T00:00:00Z")
    push_image(registry, "shop/batch", "1", [{"b": "1"}])

    created = api(app, "POST", "integrations", {"registry": registry.host, "insecure": True})
    assert created.status_code == 201, created.text
    integration = created.json()
    assert integration["status"] == "pending" and integration["enabled"] is False
    webhook = integration["webhook_url"]
    assert webhook.startswith(f"{app.url}/api/events?integration={integration['id']}&secret=")
    template = integration["registry_template"]
    assert template["parameters"] == {"RegistryName": "127", "DockerScoutWebhook": webhook}
    assert template["az_command"].startswith("az deployment group create --resource-group <registry-resource-group>")
    assert f"--template-uri {app.url}/api/templates/registry-integration.json" in template["az_command"]
    assert template["deploy_to_azure_url"].startswith("https://portal.azure.com/#create/Microsoft.Template/uri/http")
    served_template = requests.get(template["template_url"], timeout=10)
    assert served_template.status_code == 200
    assert "DockerScoutWebhook" in served_template.json()["parameters"]

    duplicate = api(app, "POST", "integrations", {"registry": registry.host, "insecure": True})
    assert duplicate.status_code == 409

    # Event Grid creates the subscription: the handshake works while the integration is pending.
    validation = [{"id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "topic": "t", "subject": "",
                   "eventTime": "2026-01-01T00:00:00Z", "data": {"validationCode": "abc"}, "dataVersion": "1"}]
    assert requests.post(webhook, json=validation, timeout=10).json() == {"validationResponse": "abc"}

    wrong = api(app, "PUT", f"integrations/{integration['id']}/token",
                {"username": registry.readonly.username, "password": "not-the-password"})
    assert wrong.status_code == 200
    assert wrong.json()["status"] == "pending"
    assert wrong.json()["connection"]["error"]["code"] == "unauthorized"
    assert "az acr token credential generate" in wrong.json()["connection"]["error"]["hint"]

    registry.add_user("no-rights-token", "pw-no-rights", pull=False, catalog=False)
    powerless = api(app, "PUT", f"integrations/{integration['id']}/token",
                    {"username": "no-rights-token", "password": "pw-no-rights"})
    assert powerless.json()["connection"]["error"]["code"] == "denied"
    assert "_repositories_pull_metadata_read" in powerless.json()["connection"]["error"]["hint"]
    assert powerless.json()["status"] == "pending"

    good = api(app, "PUT", f"integrations/{integration['id']}/token", {"password": registry.readonly.password})
    assert good.json()["connection"] == {"ok": True}
    assert good.json()["status"] == "connected" and good.json()["enabled"] is True
    assert good.json()["username"] == "docker-scout-readonly-token"
    assert registry.readonly.password not in good.text

    retested = api(app, "POST", f"integrations/{integration['id']}/test")
    assert retested.json()["connection"] == {"ok": True}

    listing = api(app, "GET", f"integrations/{integration['id']}/repositories").json()
    rows = {r["repository"]: r["enabled"] for r in listing["repositories"]}
    assert rows["shop/web"] is False and rows["shop/batch"] is False

    # Activating a repository that already holds images analyzes its newest image at once.
    activated = api(app, "PUT", f"integrations/{integration['id']}/repositories/shop%2Fweb", {"enabled": True})
    assert activated.json()["repositories"] == [{"repository": "shop/web", "enabled": True, "backfill_queued": True}]
    wait_until(lambda: image(app, registry, "shop/web", "2.0").status_code == 200, timeout=45, what="backfill")
    backfilled = image(app, registry, "shop/web", "2.0").json()
    assert backfilled["digest"] == str(new.digest) and backfilled["status"] == "analyzed"
    assert image(app, registry, "shop/web", str(old.digest)).status_code == 404

    # A push to a repository that is not activated is acknowledged and dropped.
    batch = push_image(registry, "shop/batch", "2", [{"b": "2"}])
    answer = requests.post(webhook, timeout=10, json=[
        image_pushed(registry.host, "shop/batch", str(batch.digest), "2", batch.media_type, batch.size)])
    assert answer.status_code == 200 and answer.json()["dropped"] == 1

    summary = api(app, "GET", "integrations").json()["integrations"]
    (row,) = [i for i in summary if i["id"] == integration["id"]]
    assert (row["status"], row["activated_repositories"], row["images_analyzed"]) == ("connected", 1, 1)
    assert row["last_event"] and row["last_tested"]

    removed = api(app, "DELETE", f"integrations/{integration['id']}")
    assert removed.status_code == 200
    result = removed.json()
    assert result["analyses_kept"] is True
    assert any("az acr token delete --registry 127 --name docker-scout-readonly-token" in c
               for c in result["cleanup_commands"])
    assert any("az eventgrid system-topic delete" in c and "docker-scout-repository" in c for c in result["cleanup_commands"])
    refused = requests.post(webhook, timeout=10, json=[
        image_pushed(registry.host, "shop/web", str(new.digest), "2.0", new.media_type, new.size)])
    assert refused.status_code == 401
    assert image(app, registry, "shop/web", "2.0").status_code == 200  # analyses kept without purge
    assert api(app, "GET", f"integrations/{integration['id']}").status_code == 404


def test_connection_failures_say_what_to_fix(app: ServedApp, azurite_blob_url: str) -> None:
    unreachable = api(app, "POST", "integrations",
                      {"registry": "127.0.0.1:1", "insecure": True, "password": "x"}).json()
    assert unreachable["connection"]["error"]["code"] == "registry-unreachable"
    assert unreachable["status"] == "pending"
    host = azurite_blob_url.removeprefix("http://")
    not_registry = api(app, "POST", "integrations", {"registry": host, "insecure": True, "password": "x"}).json()
    assert not_registry["connection"]["error"]["code"] == "not-a-registry"
    remote = api(app, "POST", "integrations", {"registry": "example.azurecr.io", "insecure": True})
    assert remote.status_code == 400
    bad = api(app, "POST", "integrations", {"registry": "https://example.azurecr.io/v2"})
    assert bad.status_code == 400 and "host" in bad.json()["error"]["message"]
    for integration_id in (unreachable["id"], not_registry["id"]):
        assert api(app, "DELETE", f"integrations/{integration_id}").status_code == 200


@pytest.fixture
def azurite_blob_url(app: ServedApp) -> str:
    """An HTTP server on this machine that is not a registry: the app's Azurite blob endpoint."""
    connection = app.settings["AzureWebJobsStorage"]
    blob = next(p for p in connection.split(";") if p.startswith("BlobEndpoint="))
    return blob.removeprefix("BlobEndpoint=").rsplit("/", 1)[0]


def test_lifecycle_through_the_cli(app: ServedApp, registry: RegistryServer) -> None:
    repository = f"cli/app{uuid.uuid4().hex[:6]}"
    pushed = push_image(registry, repository, "v1", [{"c": "1"}])

    added = lookout(app, "integrations", "add", registry.host, "--insecure")
    assert added.returncode == 0, added.stderr
    assert "webhook URL" in added.stdout and "az deployment group create" in added.stdout
    integration_id = added.stdout.split()[1]

    wrong = lookout(app, "integrations", "token", integration_id, "--password-stdin", stdin="wrong\n")
    assert wrong.returncode == 1
    assert "unauthorized" in wrong.stderr and "to fix it" in wrong.stderr

    good = lookout(app, "integrations", "token", integration_id, "--password-stdin", stdin=registry.readonly.password + "\n")
    assert good.returncode == 0, good.stderr
    assert "connected" in good.stdout

    listed = lookout(app, "integrations", "list")
    assert listed.returncode == 0
    assert integration_id in listed.stdout and "connected" in listed.stdout
    as_json = json.loads(lookout(app, "integrations", "list", "--json").stdout)
    assert any(i["id"] == integration_id for i in as_json["integrations"])

    repos = lookout(app, "repos", "list", integration_id)
    assert repos.returncode == 0 and repository in repos.stdout

    enabled = lookout(app, "repos", "enable", integration_id, repository)
    assert enabled.returncode == 0, enabled.stderr
    assert "queued for analysis" in enabled.stdout
    wait_until(lambda: image(app, registry, repository, "v1").status_code == 200, timeout=45, what="CLI backfill")
    assert image(app, registry, repository, "v1").json()["digest"] == str(pushed.digest)

    disabled = lookout(app, "repos", "disable", integration_id, repository)
    assert disabled.returncode == 0 and "deactivated" in disabled.stdout

    removed = lookout(app, "integrations", "remove", integration_id, "--purge", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "az acr token delete" in removed.stdout and "az eventgrid system-topic delete" in removed.stdout
    assert image(app, registry, repository, "v1").status_code == 404  # purged

    missing = lookout(app, "integrations", "test", integration_id)
    assert missing.returncode == 1 and "no integration" in missing.stderr
    unreachable = subprocess.run([sys.executable, "-m", "shared.cli.main", "integrations", "list", "--url",
                                  "http://127.0.0.1:1"], capture_output=True, text=True, timeout=60, check=False)
    assert unreachable.returncode == 3
