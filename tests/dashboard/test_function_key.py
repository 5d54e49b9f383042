"""The function key in a browser: taken once from ``?code=``, kept for the tab, sent on every API call, and a
refused or missing key said plainly. Azure's key check is played by :class:`KeyGate` in front of the app."""

from __future__ import annotations

import pytest

from testkit.stack import Stack
from tests.dashboard.keygate import KeyGate
from tests.dashboard.support import Dashboard

pytestmark = pytest.mark.e2e

KEY = "test-function-key-0123456789"


def test_key_from_the_url_is_kept_for_the_tab_and_sent_as_a_header(dashboard: Dashboard, stack: Stack) -> None:
    with KeyGate(stack.app.url, KEY) as gate:
        dashboard.base_url = gate.url
        dashboard.driver.get(dashboard.url("integrations", query=f"code={KEY}"))
        dashboard.wait_ready()
        assert dashboard.element("#integrations-table").is_displayed()
        assert "code=" not in dashboard.driver.current_url  # out of the address bar and the history
        assert dashboard.driver.execute_script("return sessionStorage.getItem('lookout.functionKey');") == KEY
        assert dashboard.text("#key-status") .startswith("Function key set")
        dashboard.driver.refresh()
        dashboard.wait_ready()
        assert dashboard.element("#integrations-table").is_displayed()
        assert gate.keys_seen and set(gate.keys_seen) == {KEY}
        dashboard.shot("function-key-set")


def test_a_missing_or_refused_key_is_explained_and_can_be_entered(dashboard: Dashboard, stack: Stack) -> None:
    with KeyGate(stack.app.url, KEY) as gate:
        dashboard.base_url = gate.url
        dashboard.open("integrations")
        box = dashboard.element(".error-box[data-kind='auth']")
        assert "no function key" in box.text and "HTTP 401" in box.text and "?code=" in box.text
        assert "This page has no function key" in dashboard.text("#auth-message")
        dashboard.shot("function-key-missing")

        dashboard.fill("#key-input", "not-the-key")
        dashboard.click("#key-form button[type='submit']")
        dashboard.wait_text(".error-box[data-kind='auth']", "was refused")

        dashboard.fill("#key-input", KEY)
        dashboard.click("#key-form button[type='submit']")
        dashboard.wait_ready()
        assert dashboard.element("#integrations-table").is_displayed()
        assert not dashboard.element("#main").find_elements("css selector", ".error-box")


def test_an_endpoint_this_api_lacks_is_explained(dashboard: Dashboard, stack: Stack) -> None:
    with KeyGate(stack.app.url, KEY, older_api=["/api/vulnerabilities"]) as gate:
        dashboard.base_url = gate.url
        dashboard.driver.get(dashboard.url("vulnerabilities", query=f"code={KEY}"))
        dashboard.wait_ready()
        box = dashboard.element(".error-box[data-kind='missing']")
        assert "not available on this Lookout" in box.text
        assert "GET /api/vulnerabilities" in box.text and "newer version of the API" in box.text
        dashboard.go("vulnerability", id="CVE-2024-0001")
        assert "not available on this Lookout" in dashboard.text(".error-box[data-kind='missing']")
