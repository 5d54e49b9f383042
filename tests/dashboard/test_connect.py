"""Connecting a registry in the browser, as the README's steps go: add it, read the webhook URL and the
template's command, hand over the token password (a wrong one first), test again, activate a repository
with its switch and see its latest image analyzed, and finally remove the integration.

The registry is one of its own (the stack's already has an integration), on the stack's app.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from testkit.contents import dist_info
from testkit.images import push_image
from testkit.registry import RegistryServer
from testkit.stack import Stack
from tests.dashboard.support import Dashboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def other_registry() -> Iterator[RegistryServer]:
    with RegistryServer() as server:
        yield server


def test_connect_activate_and_remove_a_registry_through_the_page(dashboard: Dashboard, stack: Stack,
                                                                  other_registry: RegistryServer) -> None:
    push_image(other_registry, "team/api", "1.0", [dist_info("flask", "2.0.0")], created="2025-01-01T00:00:00Z")
    latest = push_image(other_registry, "team/api", "1.1", [dist_info("flask", "3.0.0")], created="2025-03-01T00:00:00Z")
    push_image(other_registry, "team/worker", "7", [{"app/run.sh": "#!/bin/sh\n"}])

    # 1. Add the registry: a pending integration with its webhook URL and the template's inputs.
    dashboard.open("integrations")
    dashboard.fill("#registry-input", other_registry.host)
    dashboard.click("#insecure-input")
    dashboard.click("#add-button")
    webhook = dashboard.text("#webhook-url")
    dashboard.wait_ready()
    integration_id = parse_qs(urlsplit(dashboard.driver.current_url).fragment.partition("?")[2])["id"][0]
    assert webhook.startswith(f"{stack.app.url}/api/events?integration=") and "&secret=" in webhook
    assert "pending" in dashboard.text("#integration-status")
    az = dashboard.text("#az-command")
    assert az.startswith("az deployment group create --resource-group <registry-resource-group>")
    assert f"--template-uri {stack.app.url}/api/templates/registry-integration.json" in az and webhook in az
    deploy = dashboard.element("#deploy-to-azure")
    assert (deploy.get_attribute("href") or "").startswith("https://portal.azure.com/#create/Microsoft.Template/uri/")
    assert deploy.get_attribute("rel") == "noopener noreferrer external"
    assert "az acr token credential generate" in dashboard.text("#password-command")
    dashboard.shot("integration-new")

    # 2. A wrong password: the test fails with what to do, the integration stays pending.
    dashboard.fill("#token-password", "not-the-password")
    dashboard.click("#token-save")
    failed = dashboard.element("#token-result .result[data-ok='false']")
    assert failed.get_attribute("data-code") == "unauthorized"
    assert "az acr token credential generate" in failed.text
    assert "pending" in dashboard.text("#integration-status")
    dashboard.shot("integration-wrong-password")

    # 3. The right password: connected, and the password field is emptied.
    dashboard.fill("#token-password", other_registry.readonly.password)
    dashboard.click("#token-save")
    dashboard.wait_text("#token-result", "Connection test passed")
    assert "connected" in dashboard.text("#integration-status")
    assert dashboard.text("#token-name") == "docker-scout-readonly-token"
    assert dashboard.element("#token-password").get_attribute("value") == ""
    assert other_registry.readonly.password not in dashboard.driver.page_source

    dashboard.click("#retest")
    dashboard.wait_text("#connection-result", "Connection test passed")
    dashboard.shot("integration-connected")

    # 4. Activate a repository with its switch: its latest image is analyzed at once.
    dashboard.click("#step-repositories a")
    dashboard.wait_ready()
    rows = [row.get_attribute("data-repository") for row in dashboard.elements("#repositories-table tbody tr")]
    assert rows == ["team/api", "team/worker"]
    toggles = {t.get_attribute("data-repository"): t for t in dashboard.elements("#repositories-table input.switch")}
    assert not toggles["team/api"].is_selected() and not toggles["team/worker"].is_selected()
    dashboard.click("tr[data-repository='team/api'] .switch-label")
    dashboard.wait_text("tr[data-repository='team/api'] .row-note", "activated: analyzing its latest image")
    assert toggles["team/api"].is_selected()
    dashboard.shot("repositories-activated")

    dashboard.open("image", registry=other_registry.host, repository="team/api", reference="1.1")
    dashboard.reload_until("#image-status", "analyzed")
    assert dashboard.text("#image-digest") == str(latest.digest)
    dashboard.wait_text("#layers", "flask")

    # 5. Remove it with its analyses: the cleanup commands for the registry side are shown.
    dashboard.open("integrations")
    assert other_registry.host in dashboard.text("#integrations-table")
    dashboard.shot("integrations")
    dashboard.open("integration", id=integration_id)
    dashboard.click("#purge")
    dashboard.click("#remove")
    assert "delete its analyses" in dashboard.text("#remove-confirm")
    dashboard.click("#remove-confirmed")
    commands = dashboard.text("#cleanup-commands")
    assert "az acr token delete" in commands and "docker-scout-readonly-token" in commands
    assert "az eventgrid system-topic delete" in commands
    assert "Its analyses were deleted (1 image)." in dashboard.text("#removed")
    dashboard.shot("integration-removed")
    assert stack.http.get(f"{stack.app.url}/api/integrations/{integration_id}", timeout=10).status_code == 404
    assert stack.http.post(webhook, json=[], timeout=10).status_code == 401
