"""An image's page beyond its findings, in the browser, with data the running stack produced: the Policies panel
(``GET /api/images/policy``), the base image with the findings split by origin and a rebuild notice, the
Recommendations panel (``GET /api/images/recommendations``) with a base tag no vulnerability data is known for,
findings a VEX statement suppresses (listed, marked, not counted), and the policy summary of a repository's
image list."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.remote.webelement import WebElement

from testkit.stack import Stack
from tests.dashboard.conftest import PUBLIC_BASE, VEX_IMPACT, VEX_JUSTIFICATION, BasedImages
from tests.dashboard.support import Dashboard

pytestmark = pytest.mark.e2e


def api(stack: Stack, path: str, repository: str, reference: str = "1") -> Any:
    response = stack.http.get(f"{stack.app.url}/api/{path}", timeout=30, params={
        "registry": stack.registry.host, "repository": repository, "reference": reference})
    assert response.status_code == 200, response.text
    return response.json()


def short(digest: object) -> str:
    """A digest as the page writes it: ``sha256:`` and the first 12 hex digits."""
    return str(digest)[:19]


def finding_rows(dashboard: Dashboard) -> dict[str, WebElement]:
    return {str(row.get_attribute("data-id")): row for row in dashboard.elements("#findings-table tbody tr")}


def test_policies_panel(dashboard: Dashboard, stack: Stack, based_images: BasedImages) -> None:
    expected = api(stack, "images/policy", "dash/app")
    dashboard.open("image", registry=stack.registry.host, repository="dash/app", reference="1")
    counts = dashboard.wait_text("#policy-counts", "failed")
    assert expected["summary"] == {"fail": 4, "unknown": 1, "pass": 1}
    assert counts == "✕ 4 failed · ? 1 unknown · ✓ 1 passed"
    assert dashboard.text("#summary-policies") == counts

    panels = dashboard.elements("#policies details.policy")
    assert [(p.get_attribute("data-policy"), p.get_attribute("data-result")) for p in panels] == [
        (r["id"], r["result"]) for r in expected["results"]]
    for panel in panels:
        badge = panel.find_element("css selector", "summary .outcome")
        assert badge.text.split()[-1].lower() == panel.get_attribute("data-result")  # a word, not a colour alone
        assert (panel.get_attribute("open") is not None) == (panel.get_attribute("data-result") != "pass")

    fixable = dashboard.element("#policies details[data-policy='no-fixable-critical-high']")
    assert "GHSA-test-lodash (critical, fixed in 4.17.21) in lodash 4.17.15" in fixable.text
    assert "package pkg:npm/lodash@4.17.15" in fixable.text
    link = fixable.find_element("css selector", "a[href*='GHSA-test-lodash']")
    assert str(link.get_attribute("href")).endswith("#/vulnerability?id=GHSA-test-lodash")
    unknown = dashboard.element("#policies details[data-policy='no-high-profile-vulnerabilities']")
    assert "`lookout policy kev import FILE`" in unknown.text
    passed = dashboard.driver.find_element("css selector", "#policies details[data-policy='no-copyleft-licenses']")
    assert not passed.find_element("css selector", ".reasons-none").is_displayed()  # folded
    passed.find_element("css selector", "summary").click()
    assert dashboard.text("#policies details[data-policy='no-copyleft-licenses'] .reasons-none") == "Nothing is at fault."
    assert dashboard.element("#policies h2").text == "Policies"


def test_base_image_split_and_rebuild_notice(dashboard: Dashboard, stack: Stack, based_images: BasedImages) -> None:
    host = stack.registry.host
    dashboard.open("image", registry=host, repository="dash/app", reference="1")
    name = dashboard.element("#base-name")
    assert name.text == f"{host}/dash/base:1@{short(based_images.base_v1.digest)}"
    assert name.find_element("css selector", ".digest").get_attribute("title") == str(based_images.base_v1.digest)
    assert str(name.find_element("css selector", "a").get_attribute("href")).endswith(
        f"reference={str(based_images.base_v1.digest).replace(':', '%3A')}")
    assert dashboard.text("#base-layers") == "the first of 2 layers"
    notice = " ".join(dashboard.text("#base-image #rebuild-notice").split())
    assert notice == (f"⚠ Rebuild needed {host}/dash/base:1 now points at {short(based_images.base_v2.digest)}; "
                      f"this image was built on {short(based_images.base_v1.digest)}.")

    # the split leaves out the finding VEX suppresses, like the image's own counts
    image = api(stack, "images", "dash/app")
    dashboard.wait_text("#origin-split", "From the base")
    rows = {row.get_attribute("data-origin"): [cell.text for cell in row.find_elements("css selector", "td")]
            for row in dashboard.elements("#origin-table tbody tr")}
    headers = [cell.text.lower() for cell in dashboard.elements("#origin-table thead th")][1:]
    split = {origin: dict(zip(headers, map(int, cells), strict=True)) for origin, cells in rows.items()}
    assert split["base"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 1, "total": 1, "fixable": 1}
    assert split["image"] == {"critical": 1, "high": 0, "medium": 0, "low": 0, "unknown": 0, "total": 1, "fixable": 1}
    assert split["base"]["total"] + split["image"]["total"] == sum(image["vulnerabilities"].values())
    assert split["base"]["fixable"] + split["image"]["fixable"] == image["fixable"]
    line = dashboard.text("#origin-split .origin-line")
    assert line == "From the base: 1 (1 unknown) · Added by this image: 1 (1 critical) · 1 suppressed by VEX (not counted)"

    layers = dashboard.elements("#layers details.layer")
    assert [bool(layer.find_elements("css selector", ".base-tag")) for layer in layers] == [True, False]


def test_suppressed_findings_are_listed_marked_and_not_counted(dashboard: Dashboard, stack: Stack,
                                                               based_images: BasedImages) -> None:
    dashboard.open("image", registry=stack.registry.host, repository="dash/app", reference="1")
    dashboard.element("#findings-table")
    rows = finding_rows(dashboard)
    assert set(rows) == {"GHSA-test-lodash", "CVE-2018-18074", "CVE-2023-32681"}
    suppressed = rows["CVE-2018-18074"]
    assert suppressed.get_attribute("data-suppressed") == "true"
    note = suppressed.find_element("css selector", ".vex-note")
    assert note.find_element("css selector", ".vex-badge").text == "VEX: not_affected"
    assert VEX_JUSTIFICATION.replace("_", " ") in note.text and VEX_IMPACT in note.text
    assert f"repository {stack.registry.host}/dash/app" in (note.get_attribute("title") or "")
    assert [r.get_attribute("data-suppressed") for i, r in rows.items() if i != "CVE-2018-18074"] == [None, None]
    assert not dashboard.elements("#main img")  # the statement's markup stayed text

    assert dashboard.text("#findings-tally") == ("2 counted (1 critical, 1 unknown, 2 fixable) · "
                                                  "1 suppressed by VEX (not counted, shown below)")
    assert dashboard.wait_text("#suppressed-note", "suppressed") == "1 suppressed by VEX (not counted)"
    columns = {c.get_attribute("data-level"): c.find_element("css selector", "text.count").text
               for c in dashboard.elements("#severity-chart g.column")}
    assert columns == {"critical": "1", "high": "0", "medium": "0", "low": "0", "unknown": "1"}
    assert "2 findings" in dashboard.text("#severity-chart figcaption")

    # the origin column and filter
    origins = {i: r.find_element("css selector", ".origin").text for i, r in rows.items()}
    assert origins == {"GHSA-test-lodash": "this image", "CVE-2018-18074": "base", "CVE-2023-32681": "base"}
    dashboard.click("label:has(#origin-base)")
    dashboard.wait(lambda d: set(finding_rows(dashboard)) == {"CVE-2018-18074", "CVE-2023-32681"}, what="base findings")
    dashboard.click("label:has(#origin-image)")
    dashboard.wait(lambda d: set(finding_rows(dashboard)) == {"GHSA-test-lodash"}, what="the image's findings")
    dashboard.click("label:has(#vuln-critical)")
    dashboard.wait_text("#findings", "No finding matches.")
    dashboard.click("label:has(#origin-all)")
    dashboard.wait(lambda d: set(finding_rows(dashboard)) == {"CVE-2018-18074", "CVE-2023-32681"},
                   what="every origin, critical left out")


def test_recommendations_panel(dashboard: Dashboard, stack: Stack, based_images: BasedImages) -> None:
    host = stack.registry.host
    dashboard.open("image", registry=host, repository="dash/app", reference="1")
    dashboard.element("#alternatives-table")
    rebuild = dashboard.element("#recommend-rebuild")
    assert rebuild.text == f"Rebuild on {host}/dash/base:1: the tag now points at {short(based_images.base_v2.digest)}, " \
        "which the alternatives below include."
    assert rebuild.get_attribute("title") == f"rebuild needed: 1 now points at {based_images.base_v2.digest}"
    assert len(dashboard.elements("#rebuild-notice")) == 1
    assert dashboard.text("#current-base") == (
        f"Vulnerabilities of the current base {host}/dash/base:1: 2 (2 unknown) (source: base image report)")
    (row,) = dashboard.elements("#alternatives-table tbody tr")
    assert row.get_attribute("data-digest") == str(based_images.base_v2.digest)
    texts = [cell.text for cell in row.find_elements("css selector", "td")]
    assert texts == [f"{host}/dash/base:1", short(based_images.base_v2.digest), "newer", "0", "2 (2 unknown)", "0"]
    assert dashboard.element("#alternatives-table caption").text.startswith("Other tags of dash/base")
    dashboard.shot("dash-image-app")
    dashboard.shot("dash-image-app-narrow", width=420)

    dashboard.open("image", registry=host, repository="dash/pubapp", reference="1")
    assert dashboard.text("#base-name").startswith(f"{PUBLIC_BASE}:1.0@sha256:")
    assert not dashboard.elements("#base-name a")  # a public base has no page here
    assert dashboard.text("#base-image #base-layers") == "the first of 2 layers"
    dashboard.wait_text("#origin-split", "From the base")
    assert dashboard.text("#origin-split .origin-line") == "From the base: 2 (2 unknown) · Added by this image: 0"
    assert not dashboard.elements("#rebuild-notice") and not dashboard.elements("#recommend-rebuild")
    dashboard.wait_text("#recommendations", "Other tags")
    assert dashboard.text("#current-base").endswith("2 (2 unknown) (source: this image's base layers)")
    (row,) = dashboard.elements("#alternatives-table tbody tr")
    assert row.get_attribute("data-tag") == "1.1"
    cells = row.find_elements("css selector", "td")
    assert [cell.text for cell in cells[:3]] == [f"{PUBLIC_BASE}:1.1", short(cells[1].find_element(
        "css selector", ".digest").get_attribute("title")), "not known"]
    assert len(cells) == 4 and cells[3].get_attribute("colspan") == "3"
    assert cells[3].text == ("no vulnerability data is known for this base: "
                             "Lookout has not analyzed an image with its layers")
    assert "0" not in cells[3].text  # never a zero
    dashboard.shot("dash-image-public-base")


def test_image_without_a_base(dashboard: Dashboard, stack: Stack, based_images: BasedImages) -> None:
    dashboard.open("image", registry=stack.registry.host, repository="dash/base", reference="1")
    assert "No base image detected for linux/amd64" in dashboard.text("#no-base")
    dashboard.wait_text("#recommendations", "No base image detected, so there is no other base to recommend.")
    dashboard.element("#findings")
    assert not dashboard.elements("#origin-filter") and not dashboard.elements("#origin-table")
    dashboard.wait_text("#findings-tally", "0 counted")
    assert "suppressed" not in dashboard.text("#findings-tally")


def test_repository_list_shows_policies_and_rebuilds(dashboard: Dashboard, stack: Stack,
                                                     based_images: BasedImages) -> None:
    dashboard.open("repository", registry=stack.registry.host, repository="dash/app")
    (row,) = dashboard.elements("#images-table tbody tr")
    summary = row.find_element("css selector", "td.policies-cell .policy-summary")
    assert summary.get_attribute("aria-label") == "Policies: 4 failed, 1 unknown, 1 passed"
    assert summary.text.split() == ["✕", "4", "?", "1", "✓", "1"]
    assert "rebuild needed" in row.find_element("css selector", "td:nth-child(3)").text
    dashboard.shot("dash-repository-app")

    dashboard.open("repository", registry=stack.registry.host, repository="dash/base")
    rows = dashboard.elements("#images-table tbody tr")
    assert [r.get_attribute("data-digest") for r in rows] == [str(based_images.base_v2.digest),
                                                               str(based_images.base_v1.digest)]
    assert all("rebuild needed" not in r.text for r in rows)
    assert all(str(r.find_element("css selector", ".policy-summary").get_attribute("aria-label")).startswith("Policies: ")
               for r in rows)
