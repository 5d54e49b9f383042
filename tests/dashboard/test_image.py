"""An image's page in the browser: the severity chart, platform facts and labels, findings filtered by
severity and fixability, the layers with the packages each introduced, SBOM downloads, and registry
values that are hostile HTML shown as text."""

from __future__ import annotations

import json

import pytest

from testkit.images import PushedImage
from testkit.stack import Stack
from tests.dashboard.conftest import EVIL, analyzed_image
from tests.dashboard.support import Dashboard

pytestmark = pytest.mark.e2e


def finding_ids(dashboard: Dashboard) -> set[str]:
    return {row.find_element("css selector", "td:nth-child(2) strong").text
            for row in dashboard.elements("#findings-table tbody tr")}


def test_findings_chart_filters_and_layers(dashboard: Dashboard, stack: Stack, shop_image: PushedImage) -> None:
    dashboard.open("image", registry=stack.registry.host, repository="dash/shop", reference="1")
    assert dashboard.text("#image-digest") == str(shop_image.digest)
    assert "analyzed" in dashboard.text("#image-status")

    image = stack.image("dash/shop", "1").json()
    chart = dashboard.element("#severity-chart svg")
    columns = {c.get_attribute("data-level"): c.find_element("css selector", "text.count").text
               for c in chart.find_elements("css selector", "g.column")}
    assert columns["critical"] == str(image["vulnerabilities"]["critical"]) == "1"
    assert columns == {level: str(image["vulnerabilities"].get(level, 0)) for level in columns}
    assert "findings by severity" in (chart.get_attribute("aria-label") or "").lower()

    labels = dashboard.text("#labels-table")
    assert "org.opencontainers.image.title" in labels and "shop" in labels

    dashboard.element("#findings-table")
    every = finding_ids(dashboard)
    assert "GHSA-test-lodash" in every and "CVE-2018-18074" in every
    lodash = dashboard.element("#findings-table tr:has(a[href*='GHSA-test-lodash'])")
    assert "Critical 9.8" in lodash.text and "4.17.15" in lodash.text and "4.17.21" in lodash.text
    assert "/app/node_modules/lodash/package.json" in lodash.text
    dashboard.shot("image")

    for level in ("high", "medium", "low", "unknown"):
        dashboard.click(f"label:has(#vuln-{level})")
    dashboard.wait(lambda d: finding_ids(dashboard) == {"GHSA-test-lodash"}, what="only the critical finding")
    dashboard.click("label:has(#vuln-critical)")
    dashboard.wait_text("#findings", "Pick at least one severity.")
    for level in ("critical", "high", "medium", "low", "unknown"):
        dashboard.click(f"label:has(#vuln-{level})")
    dashboard.wait(lambda d: finding_ids(dashboard) == every, what="every finding again")
    dashboard.click("label:has(#vuln-fixable)")
    fixable = {f["id"] for p in stack.http.get(f"{stack.app.url}/api/images/vulnerabilities", timeout=10, params={
        "registry": stack.registry.host, "repository": "dash/shop", "reference": "1", "fixable": "true"}).json()["platforms"]
        for f in p["findings"]}
    dashboard.wait(lambda d: finding_ids(dashboard) == fixable, what="the fixable findings")

    layers = dashboard.elements("#layers details.layer")
    assert [layer.get_attribute("data-layer") for layer in layers] == [str(d) for d in shop_image.layer_digests]
    assert "requests" in layers[0].text and "2.19.0" in layers[0].text and "lodash" not in layers[0].text
    assert "lodash" in layers[1].text and "/app/node_modules/lodash/package.json" in layers[1].text


def test_sbom_downloads_in_each_format(dashboard: Dashboard, stack: Stack, shop_image: PushedImage) -> None:
    dashboard.open("image", registry=stack.registry.host, repository="dash/shop", reference="1")
    stem = f"dash_shop-{shop_image.digest.hex[:12]}"

    dashboard.click("#sbom button[data-format='json']")
    lookout_json = json.loads(dashboard.downloaded(f"{stem}.json").read_text())
    assert lookout_json["digest"] == str(shop_image.digest)
    assert {p["name"] for p in lookout_json["platforms"][0]["packages"]} == {"requests", "lodash"}
    dashboard.clear_downloads()

    dashboard.click("#sbom button[data-format='cyclonedx']")
    cyclonedx = json.loads(dashboard.downloaded(f"{stem}-linux_amd64.cdx.json").read_text())
    assert cyclonedx["bomFormat"] == "CycloneDX" and cyclonedx["specVersion"] == "1.6"
    assert {"requests", "lodash"} <= {c["name"] for c in cyclonedx["components"]}
    dashboard.clear_downloads()

    dashboard.click("#sbom button[data-format='spdx']")
    spdx = json.loads(dashboard.downloaded(f"{stem}-linux_amd64.spdx.json").read_text())
    assert spdx["spdxVersion"] == "SPDX-2.3"
    assert {"requests", "lodash"} <= {p["name"] for p in spdx["packages"]}
    assert "Downloaded" in dashboard.text("#sbom-status")


def test_hostile_registry_values_render_as_text(dashboard: Dashboard, stack: Stack, hostile_image: PushedImage) -> None:
    dashboard.open("image", registry=stack.registry.host, repository="dash/hostile", reference="1")
    labels = dashboard.text("#labels-table")
    assert EVIL in labels and "label name" in labels
    dashboard.wait_text("#layers", EVIL)
    dashboard.wait_text("#findings-table", "<img src=x onerror=alert(2)> in the summary")
    assert EVIL in dashboard.text("#findings-table")
    dashboard.shot("image-hostile-values")

    injected = dashboard.driver.execute_script(
        "return [document.querySelectorAll('#main img, [onerror]').length, [...document.querySelectorAll('#main *')]"
        ".filter((e) => e.getAttributeNames().some((n) => n.startsWith('on'))).length];")
    assert injected == [0, 0]
    assert dashboard.alert_text() is None
    assert dashboard.violations() == []


def test_packages_checked_against_no_advisories_are_called_out(dashboard: Dashboard, stack: Stack,
                                                                advisories: None) -> None:
    gems = "usr/local/bundle/specifications"
    spec = 'Gem::Specification.new do |s|\n  s.name = "rack"\n  s.version = "2.2.3"\nend\n'
    analyzed_image(stack, "dash/ruby", "1", [{f"{gems}/rack-2.2.3.gemspec": spec}])
    dashboard.open("image", registry=stack.registry.host, repository="dash/ruby", reference="1")
    dashboard.wait_text("#findings", "Not checked: no advisories loaded for RubyGems: its 1 package was not checked.")
    caption = dashboard.text("#severity-chart figcaption")
    assert caption == "No findings (packages of 1 ecosystem not checked: no advisories loaded)"
    dashboard.shot("image-not-checked")
