"""Applying VEX statements to a platform report: which findings they suppress, and how every output shows it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.cli.stored_reports import platform_report
from shared.vex.apply import Subject, apply_vex
from shared.vex.model import Scope
from shared.vulns.report import ImageReport, platform_json, platform_text, select
from shared.vulns.sarif import to_sarif
from shared.vulns.service import image_counts
from tests.vex.support import DIGEST, INDEX_DIGEST, REGISTRY, REPOSITORY, fixture, imported, report

SUBJECT = Subject(REGISTRY, REPOSITORY, frozenset({DIGEST}))


def openvex(*statements: dict[str, Any], timestamp: str = "2026-03-01T00:00:00Z") -> dict[str, Any]:
    return {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.test/vex/1", "author": "t",
            "timestamp": timestamp, "version": 1, "statements": list(statements)}


def not_affected(name: str, *products: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"vulnerability": {"name": name}, "products": list(products), "status": "not_affected",
            "justification": "vulnerable_code_not_present", **fields}


def suppressed_ids(value: Any) -> list[str]:
    return sorted(f.id for f in value.findings if value.suppression(f))


def test_the_openvex_fixture_suppresses_the_not_affected_finding_and_every_output_shows_it() -> None:
    before = report()
    assert (before.counts.total, before.counts.critical, before.counts.high, before.fixable) == (3, 1, 1, 2)
    after = apply_vex(before, [imported(fixture("openvex.json"), vex_id="abc")], SUBJECT)
    assert suppressed_ids(after) == ["CVE-2099-1001"]  # by its alias PYSEC-T-1 too; lodash is affected
    assert len(after.findings) == 3  # shown, not hidden
    assert (after.counts.total, after.counts.critical, after.counts.high, after.fixable) == (2, 1, 0, 1)
    assert after.suppressed_count == 1

    document = platform_json(after)
    assert document["counts"] == {"total": 2, "critical": 1, "high": 0, "medium": 0, "low": 0, "unknown": 1,
                                  "fixable": 1}
    assert document["suppressed"] == 1
    (flagged,) = [f for f in document["findings"] if "suppressed" in f]
    assert flagged["suppressed"] == {
        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
        "statement": "the application never calls the affected proxy code",
        "source": "openvex https://example.test/vex/app-2026-001 statements[0] (vex abc)",
        "scope": "integration int1"}

    text = platform_text(after, "app")
    assert text.splitlines()[0] == "2 vulnerabilities: 1 critical, 0 high, 0 medium, 0 low, 1 unknown (1 fixable)"
    assert "1 suppressed by VEX (not counted):" in text
    assert ("  CVE-2099-1001 in requests 2.19.0: not_affected (vulnerable_code_not_in_execute_path, the application "
            "never calls the affected proxy code); openvex https://example.test/vex/app-2026-001 statements[0] "
            "(vex abc), integration int1") in text
    assert "CVE-2099-1001 [VEX not_affected]" in text

    sarif = to_sarif(ImageReport("app", DIGEST, (after,)), tool_version="1.0")
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["CVE-2099-1001"]["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": "VEX not_affected: vulnerable_code_not_in_execute_path; the application never calls the "
                         "affected proxy code",
        "properties": flagged["suppressed"]}]
    assert "suppressions" not in results["CVE-2099-2002"]


def test_the_cyclonedx_fixture_suppresses_false_positive_and_not_affected_findings() -> None:
    after = apply_vex(report(), [imported(fixture("cyclonedx.json"))], SUBJECT)
    assert suppressed_ids(after) == ["CVE-2099-1001", "CVE-2099-2002"]
    statuses = {f.id: s.status for f in after.findings if (s := after.suppression(f))}
    assert statuses == {"CVE-2099-1001": "false_positive", "CVE-2099-2002": "not_affected"}
    assert (after.counts.total, after.counts.unknown, after.fixable) == (1, 1, 0)


REQUESTS = "CVE-2099-1001"


@pytest.mark.parametrize(("product", "covered"), [
    ({"@id": "pkg:pypi/requests"}, True),  # no version: every version
    ({"@id": "pkg:pypi/requests@2.19.0"}, True),
    ({"@id": "pkg:PyPI/Requests@2.19.0"}, True),  # type and name without case
    ({"@id": "pkg:pypi/requests@2.20.0"}, False),
    ({"@id": "pkg:pypi/requests@2.19.0?arch=x86_64"}, False),  # a qualifier the package lacks narrows it out
    ({"@id": "pkg:npm/requests@2.19.0"}, False),
    ({"identifiers": {"purl": "pkg:pypi/requests"}}, True),
    ({"@id": f"pkg:oci/app@{DIGEST}"}, True),  # the image: every package
    ({"@id": "pkg:oci/app@sha256:" + "9" * 64}, False),
    ({"@id": "pkg:oci/app"}, True),  # every image of the repository named app
    ({"@id": "pkg:oci/other"}, False),
    ({"@id": f"pkg:oci/app?repository_url={REGISTRY}/{REPOSITORY}"}, True),
    ({"@id": "pkg:oci/app?repository_url=elsewhere.test/team/app"}, False),
    ({"@id": f"pkg:oci/app@{DIGEST}", "subcomponents": [{"@id": "pkg:pypi/requests"}]}, True),
    ({"@id": f"pkg:oci/app@{DIGEST}", "subcomponents": [{"@id": "pkg:pypi/urllib3"}]}, False),
    ({"@id": "pkg:npm/lodash@4.17.15", "subcomponents": [{"@id": "pkg:pypi/requests"}]}, True),  # the image holds it
    ({"@id": "pkg:npm/absent", "subcomponents": [{"@id": "pkg:pypi/requests"}]}, False),
    ({"@id": "https://example.test/product/app"}, False),  # not a package URL: matches nothing
])
def test_products_cover_packages_as_openvex_matches_package_urls(product: dict[str, Any], covered: bool) -> None:
    after = apply_vex(report(), [imported(openvex(not_affected(REQUESTS, product)))], SUBJECT)
    assert suppressed_ids(after) == ([REQUESTS] if covered else [])


@pytest.mark.parametrize("name", ["CVE-2099-1001", "PYSEC-T-1", "cve-2099-1001"])
def test_a_statement_names_a_finding_by_its_id_or_any_alias(name: str) -> None:
    after = apply_vex(report(), [imported(openvex(not_affected(name, {"@id": "pkg:pypi/requests"})))], SUBJECT)
    assert suppressed_ids(after) == [REQUESTS]


def test_an_image_product_may_name_the_index_the_platform_belongs_to() -> None:
    document = imported(openvex(not_affected(REQUESTS, {"@id": f"pkg:oci/app@{INDEX_DIGEST}"})))
    assert suppressed_ids(apply_vex(report(), [document], SUBJECT)) == []
    subject = Subject(REGISTRY, REPOSITORY, frozenset({DIGEST, INDEX_DIGEST}))
    assert suppressed_ids(apply_vex(report(), [document], subject)) == [REQUESTS]


def test_the_latest_statement_decides() -> None:
    product = {"@id": "pkg:pypi/requests"}
    early = not_affected(REQUESTS, product, timestamp="2026-03-01T00:00:00Z")
    late = {"vulnerability": {"name": REQUESTS}, "products": [product], "status": "affected",
            "action_statement": "upgrade", "timestamp": "2026-03-02T00:00:00Z"}
    assert suppressed_ids(apply_vex(report(), [imported(openvex(early, late))], SUBJECT)) == []
    fixed = {"vulnerability": {"name": REQUESTS}, "products": [product], "status": "fixed",
             "timestamp": "2026-03-03T00:00:00Z"}
    after = apply_vex(report(), [imported(openvex(early, late), vex_id="a"), imported(openvex(fixed), vex_id="b")],
                      SUBJECT)
    assert suppressed_ids(after) == [REQUESTS]
    assert next(s for f in after.findings if (s := after.suppression(f))).status == "fixed"


@pytest.mark.parametrize(("scope", "digests", "applies"), [
    (Scope("int1", REGISTRY), (), True),
    (Scope("int1", "other.test"), (), False),
    (Scope("int1", REGISTRY, REPOSITORY), (), True),
    (Scope("int1", REGISTRY, "team/other"), (), False),
    (Scope("int1", REGISTRY, REPOSITORY, DIGEST), (), True),
    (Scope("int1", REGISTRY, REPOSITORY, INDEX_DIGEST), (DIGEST,), True),  # the index's platform, known at import
    (Scope("int1", REGISTRY, REPOSITORY, INDEX_DIGEST), (), False),
])
def test_statements_apply_within_their_scope(scope: Scope, digests: tuple[str, ...], applies: bool) -> None:
    document = imported(openvex(not_affected(REQUESTS, {"@id": "pkg:pypi/requests"})), scope, digests=digests)
    after = apply_vex(report(), [document], SUBJECT)
    assert suppressed_ids(after) == ([REQUESTS] if applies else [])
    if applies:
        assert next(s for f in after.findings if (s := after.suppression(f))).scope == scope.label


def test_applying_again_without_statements_lifts_the_suppression() -> None:
    suppressed = apply_vex(report(), [imported(fixture("openvex.json"))], SUBJECT)
    lifted = apply_vex(suppressed, [], SUBJECT)
    assert lifted.suppressions == {} and lifted.counts.total == 3 and lifted.fixable == 2


def test_filters_and_stored_reports_keep_suppressed_findings_shown_and_uncounted() -> None:
    after = apply_vex(report(), [imported(fixture("cyclonedx.json"))], SUBJECT)
    fixable = select(after, fixable=True)
    assert [f.id for f in fixable.findings] == ["CVE-2099-2002", "CVE-2099-1001"]
    assert (fixable.counts.total, fixable.fixable, fixable.suppressed_count) == (0, 0, 2)
    assert ImageReport("app", DIGEST, (after,)).finding_count == 1

    stored = platform_json(after)
    again = platform_report(stored, None)
    assert again.suppressions == after.suppressions
    assert platform_json(again)["counts"] == stored["counts"]
    counts, fixable_count = image_counts([stored])
    assert (counts, fixable_count) == ({"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 1}, 0)
