"""The pages built on the listing endpoints: a repository list with figures and stacked severity bars
(``GET /api/repositories``), a repository's images (``GET /api/images`` without a reference), the
vulnerability search and detail (``GET /api/vulnerabilities[/{id}]``) and the package search
(``GET /api/packages``)."""

from __future__ import annotations

import pytest

from testkit.images import PushedImage
from testkit.stack import Stack
from tests.dashboard.conftest import EVIL, analyzed_image
from tests.dashboard.support import Dashboard

pytestmark = pytest.mark.e2e


def no_missing_endpoint(dashboard: Dashboard) -> None:
    """Fail with the page's own words when it says the API lacks an endpoint."""
    missing = [box.text for box in dashboard.elements(".error-box")]
    assert missing == [], missing


def test_repository_list_with_figures_and_stacked_bars(dashboard: Dashboard, stack: Stack, shop_image: PushedImage,
                                                       hostile_image: PushedImage) -> None:
    dashboard.open("repositories", integration=stack.integration["id"])
    no_missing_endpoint(dashboard)
    shop = dashboard.element("#repositories-table tr[data-repository='dash/shop']")
    cells = shop.find_elements("css selector", "td")
    assert shop.find_element("css selector", "input.switch").is_selected()
    assert cells[2].text == "1"
    assert cells[4].find_element("css selector", "a .tag").text == "1"
    bar = cells[5].find_element("css selector", "svg.stacked-bar")
    assert bar.find_elements("css selector", "rect.sev-fill-critical")
    assert "1 C" in cells[5].text
    dashboard.shot("repositories")
    cells[4].find_element("css selector", "a").click()
    dashboard.wait_ready()
    assert dashboard.text("#image-digest") == str(shop_image.digest)


def test_repository_images_newest_first(dashboard: Dashboard, stack: Stack, advisories: None) -> None:
    old = analyzed_image(stack, "dash/history", "old", [{"app/v": "1"}], created="2025-01-01T00:00:00Z")
    new = analyzed_image(stack, "dash/history", "new", [{"app/v": "2"}], created="2025-02-01T00:00:00Z")
    dashboard.open("repository", registry=stack.registry.host, repository="dash/history", limit="1")
    no_missing_endpoint(dashboard)
    assert [row.get_attribute("data-digest") for row in dashboard.elements("#images-table tbody tr")] == [str(new.digest)]
    dashboard.click("button.more")
    dashboard.wait(lambda d: len(dashboard.elements("#images-table tbody tr")) == 2, what="the second page")
    dashboard.wait(lambda d: not dashboard.element("#main").find_elements("css selector", "button.more:not([hidden])"),
                   what="no further page")
    rows = dashboard.elements("#images-table tbody tr")
    assert [row.get_attribute("data-digest") for row in rows] == [str(new.digest), str(old.digest)]
    assert rows[0].find_element("css selector", ".tag").text == "new"
    dashboard.shot("repository")
    rows[1].find_element("css selector", "td:nth-child(2) a").click()
    dashboard.wait_ready()
    assert dashboard.text("#image-digest") == str(old.digest)


def test_vulnerability_search_and_detail(dashboard: Dashboard, stack: Stack, shop_image: PushedImage,
                                         hostile_image: PushedImage) -> None:
    dashboard.open("vulnerabilities")
    no_missing_endpoint(dashboard)
    lodash = dashboard.element("#vulnerabilities-table tr[data-id='GHSA-test-lodash']")
    assert "Critical" in lodash.text and "lodash" in lodash.text and "fix available" in lodash.text
    hostile = dashboard.element("#vulnerabilities-table tr[data-id='GHSA-test-hostile']")
    assert "<img src=x onerror=alert(2)> in the summary" in hostile.text and EVIL in hostile.text
    dashboard.element("#vuln-tally svg.stacked-bar")
    dashboard.shot("vulnerabilities")

    for level in ("high", "medium", "low", "unknown"):
        dashboard.click(f"label:has(#vulns-{level})")
        dashboard.wait_ready()
    ids = {row.get_attribute("data-id") for row in dashboard.elements("#vulnerabilities-table tbody tr[data-id]")}
    assert "GHSA-test-lodash" in ids and "GHSA-test-hostile" not in ids
    assert "severity=critical" in dashboard.driver.current_url

    dashboard.open("vulnerabilities", q="lodash")
    dashboard.click("#vulnerabilities-table a[href*='GHSA-test-lodash']")
    dashboard.wait_ready()
    no_missing_endpoint(dashboard)
    affected = dashboard.text("#affected-table")
    assert "dash/shop" in affected and "4.17.15" in affected and "4.17.21" in affected
    link = dashboard.element("ul.references a")
    assert link.get_attribute("href") == "https://example.test/GHSA-test-lodash"
    assert link.get_attribute("rel") == "noopener noreferrer external"
    dashboard.shot("vulnerability")

    dashboard.open("vulnerability", id="GHSA-test-hostile")
    assert "<img src=x onerror=alert(2)> in the summary" in dashboard.text("#vuln-summary")
    assert "javascript:alert(3)" in dashboard.text("ul.references")
    assert not dashboard.elements("a[href^='javascript']")
    assert EVIL in dashboard.text("#affected-table")


def test_package_search(dashboard: Dashboard, stack: Stack, shop_image: PushedImage, hostile_image: PushedImage) -> None:
    dashboard.open("packages")
    assert dashboard.element("#package-hint").is_displayed()
    dashboard.fill("#package-query", "lodash")
    dashboard.click("#package-search button[type='submit']")
    dashboard.wait_ready()
    no_missing_endpoint(dashboard)
    rows = [row for row in dashboard.elements("#packages-table tbody tr") if "dash/shop" in row.text]
    assert rows and "4.17.15" in rows[0].text and "pkg:npm/lodash@4.17.15" in rows[0].text
    layer = rows[0].find_element("css selector", "td:last-child .digest").get_attribute("title")
    assert layer == str(shop_image.layer_digests[1])
    dashboard.shot("packages")

    dashboard.open("packages", purl="pkg:npm/lodash@4.17.15")
    assert any("dash/shop" in row.text for row in dashboard.elements("#packages-table tbody tr"))
    dashboard.open("packages", name=EVIL, type="npm")
    assert EVIL in dashboard.text("#packages-table")
