"""Each policy against real-shaped evidence: SBOM packages with their declared licenses, reports of matching them
against OSV records, platform records with users and detected bases, an index's attestations."""

from __future__ import annotations

from dataclasses import replace

from shared.policy.config import effective_settings, parse_config
from shared.policy.evaluate import (
    check_attestations,
    check_base,
    check_fixable,
    check_high_profile,
    check_licenses,
    check_root,
    evaluate,
    findings_read,
)
from shared.policy.model import MAX_REASONS, PolicyResult, Reason
from tests.policy.support import INDEX_TYPE, evidence, package, platform, with_base

DEFAULTS = {s.spec.id: s.params for s in effective_settings([])}


def test_fixable_critical_and_high_fail_and_name_package_and_advisory() -> None:
    found = evidence([platform("sha256:" + "1" * 64, [package("pypi", "requests", "2.19.0"),
                                                       package("pypi", "urllib3", "1.26.0"),
                                                       package("pypi", "six", "1.0"),
                                                       package("npm", "lodash", "4.17.15")])])
    outcome, reasons = check_fixable(found, DEFAULTS["no-fixable-critical-high"])
    assert outcome == "fail"
    # urllib3 is critical but has no fix; six is fixable but medium.
    # Findings are named by their CVE id when the advisory has one.
    assert [(r.advisory, r.package) for r in reasons] == [("CVE-2018-18074", "pkg:pypi/requests@2.19.0"),
                                                         ("CVE-2019-10744", "pkg:npm/lodash@4.17.15")]
    assert reasons[1].text == "CVE-2019-10744 (critical, fixed in 4.17.21) in lodash 4.17.15"


def test_fixable_passes_when_only_unfixable_or_lower_findings_remain_and_severities_are_configurable() -> None:
    found = evidence([platform("sha256:" + "1" * 64, [package("pypi", "urllib3", "1.26.0"), package("pypi", "six", "1.0"),
                                                       package("pypi", "requests", "2.31.0")])])
    assert check_fixable(found, DEFAULTS["no-fixable-critical-high"]) == ("pass", [])
    outcome, reasons = check_fixable(found, {"severities": ["medium"]})
    assert outcome == "fail" and [r.advisory for r in reasons] == ["PYSEC-2099-2"]  # it has no CVE alias


def test_vulnerability_policies_are_unknown_without_a_report() -> None:
    found = evidence([platform("sha256:" + "1" * 64, [package("pypi", "requests", "2.19.0")])], reports=False,
                     high_profile=["CVE-2018-18074"])
    assert check_fixable(found, DEFAULTS["no-fixable-critical-high"]) == (
        "unknown", [Reason("no vulnerability report for platform linux/amd64 yet")])
    assert check_high_profile(found, DEFAULTS["no-high-profile-vulnerabilities"])[0] == "unknown"


def test_a_finding_on_two_platforms_is_named_once() -> None:
    packages = [package("pypi", "requests", "2.19.0")]
    found = evidence([platform("sha256:" + "1" * 64, packages), platform("sha256:" + "2" * 64, packages, arch="arm64")])
    outcome, reasons = check_fixable(found, DEFAULTS["no-fixable-critical-high"])
    assert outcome == "fail" and len(reasons) == 1


def test_high_profile_matches_an_alias_or_the_id_and_is_unknown_without_a_list() -> None:
    packages = [package("pypi", "requests", "2.19.0"), package("npm", "lodash", "4.17.15"),
                package("pypi", "urllib3", "1.26.0")]
    found = evidence([platform("sha256:" + "1" * 64, packages)], high_profile=["CVE-2018-18074", "PYSEC-2099-1"])
    outcome, reasons = check_high_profile(found, DEFAULTS["no-high-profile-vulnerabilities"])
    assert outcome == "fail"
    assert [(r.advisory, r.text) for r in reasons] == [
        ("CVE-2018-18074", "CVE-2018-18074 (high-profile, high) in requests 2.19.0"),
        ("CVE-2099-0001", "CVE-2099-0001 (high-profile as PYSEC-2099-1, critical) in urllib3 1.26.0")]
    # Configured ids count as well (an alias included); the imported list can be ignored.
    assert [r.advisory for r in check_high_profile(found, {"ids": ["GHSA-jf85-cpcp-j695"], "use_imported": False})[1]] \
        == ["CVE-2019-10744"]
    unlisted = evidence([platform("sha256:" + "1" * 64, packages)])
    outcome, reasons = check_high_profile(unlisted, DEFAULTS["no-high-profile-vulnerabilities"])
    assert outcome == "unknown" and "lookout policy kev import" in reasons[0].text
    clean = evidence([platform("sha256:" + "1" * 64, [package("pypi", "six", "1.0")])], high_profile=["CVE-2018-18074"])
    assert check_high_profile(clean, DEFAULTS["no-high-profile-vulnerabilities"]) == ("pass", [])


def test_copyleft_licenses_fail_only_without_another_choice() -> None:
    packages = [package("pypi", "agpl-only", "1.0", "AGPL-3.0-only"),
                package("npm", "dual", "1.0", "MIT OR AGPL-3.0-or-later"),
                package("npm", "both", "2.0", "(AGPL-3.0-or-later AND MIT) OR AGPL-1.0"),
                package("pypi", "deprecated-id", "1.0", "AGPL-3.0"),
                package("pypi", "free-text", "1.0", "GNU Affero General Public License v3"),
                package("pypi", "gpl", "1.0", "GPL-3.0-only"),
                package("pypi", "mit", "1.0", "MIT"),
                package("pypi", "undeclared", "1.0")]
    found = evidence([platform("sha256:" + "1" * 64, packages)])
    outcome, reasons = check_licenses(found, DEFAULTS["no-copyleft-licenses"])
    assert outcome == "fail"
    assert [r.package for r in reasons] == ["pkg:npm/both@2.0", "pkg:pypi/agpl-only@1.0", "pkg:pypi/deprecated-id@1.0",
                                            "pkg:pypi/free-text@1.0"]
    assert reasons[1].text == "agpl-only 1.0 is licensed AGPL-3.0-only"
    # The list is configurable: GPL-3.0-only now fails too.
    outcome, reasons = check_licenses(found, {"licenses": ["GPL-3.0-only"]})
    assert [r.package for r in reasons] == ["pkg:pypi/gpl@1.0"]


def test_licenses_pass_without_listed_licenses_and_are_unknown_without_an_sbom() -> None:
    packages = [package("pypi", "mit", "1.0", "MIT"), package("npm", "dual", "1.0", "MIT OR AGPL-3.0-only")]
    assert check_licenses(evidence([platform("sha256:" + "1" * 64, packages)]),
                          DEFAULTS["no-copyleft-licenses"]) == ("pass", [])
    outcome, reasons = check_licenses(evidence([platform("sha256:" + "1" * 64, packages)], sboms=False),
                                      DEFAULTS["no-copyleft-licenses"])
    assert outcome == "unknown" and reasons[0].text == "no SBOM stored for platform linux/amd64"


def test_root_user_fails_for_unset_zero_or_root_with_or_without_a_group() -> None:
    for user in (None, "", "0", "root", "root:root", "0:1000"):
        outcome, _reasons = check_root(evidence([platform("sha256:" + "1" * 64, [], user=user)]), {})
        assert outcome == "fail", user
    assert check_root(evidence([platform("sha256:" + "1" * 64, [], user=None)]), {})[1][0].text == \
        "platform linux/amd64 runs as root (no user set)"
    for user in ("app", "1000", "1000:1000", "nobody"):
        assert check_root(evidence([platform("sha256:" + "1" * 64, [], user=user)]), {}) == ("pass", []), user
    mixed = evidence([platform("sha256:" + "1" * 64, [], user="app"), platform("sha256:" + "2" * 64, [], user="root",
                                                                              arch="arm64")])
    assert check_root(mixed, {})[1] == [Reason("platform linux/arm64 runs as root (user 'root')")]


def test_base_image_unknown_without_base_fail_when_rebuild_needed_else_pass() -> None:
    record, analysis = platform("sha256:" + "1" * 64, [])
    assert check_base(evidence([(record, analysis)]), {}) == (
        "unknown", [Reason("no base image detected for platform linux/amd64")])
    assert check_base(evidence([(with_base(record, None), analysis)]), {}) == ("pass", [])
    outcome, reasons = check_base(evidence([(with_base(record, "sha256:" + "b" * 64), analysis)]), {})
    assert outcome == "fail"
    assert reasons[0].text.startswith("rebuild needed: library/debian:12 now points at sha256:bbbb")


def test_attestations_fail_for_a_plain_manifest_pass_with_sbom_and_provenance() -> None:
    settings = DEFAULTS["supply-chain-attestations"]
    plain = evidence([platform("sha256:" + "1" * 64, [])])
    outcome, reasons = check_attestations(plain, settings)
    assert outcome == "fail"
    assert [r.text for r in reasons] == [
        "no sbom attestation (a plain manifest, not an index: it carries no attestations)",
        "no provenance attestation (a plain manifest, not an index: it carries no attestations)"]
    both = evidence([platform("sha256:" + "1" * 64, [])], media_type=INDEX_TYPE,
                    attestations=("https://slsa.dev/provenance/v0.2", "https://spdx.dev/Document"))
    assert check_attestations(both, settings) == ("pass", [])
    sbom_only = evidence([platform("sha256:" + "1" * 64, [])], media_type=INDEX_TYPE,
                         attestations=("https://spdx.dev/Document",))
    assert check_attestations(sbom_only, settings)[1] == [
        Reason("no provenance attestation (the index carries no attestation manifest of that kind)")]
    assert check_attestations(sbom_only, {"require": ["sbom"]}) == ("pass", [])
    unknown = evidence([platform("sha256:" + "1" * 64, [])], attestations=None)
    assert check_attestations(unknown, settings)[0] == "unknown"


def test_evaluate_gives_every_enabled_policy_in_order_with_counts() -> None:
    found = evidence([platform("sha256:" + "1" * 64, [package("pypi", "requests", "2.19.0")], user="root")],
                     high_profile=["CVE-2018-18074"])
    config = parse_config("policies:\n  base-image-up-to-date:\n    enabled: false\n")
    evaluation = evaluate(found, effective_settings([config]), "2026-01-01T00:00:00.000000Z")
    assert [(r.id, r.outcome) for r in evaluation.results] == [
        ("no-fixable-critical-high", "fail"), ("no-copyleft-licenses", "pass"), ("no-root-user", "fail"),
        ("no-high-profile-vulnerabilities", "fail"), ("supply-chain-attestations", "fail")]
    assert evaluation.disabled == ("base-image-up-to-date",)
    assert evaluation.summary == {"pass": 1, "fail": 4, "unknown": 0} and evaluation.failed
    assert all(r.version == 1 and r.title for r in evaluation.results)


def test_reasons_are_bounded() -> None:
    result = PolicyResult.of("p", 1, "P", "fail", [Reason("x" * 1000, package=f"pkg:npm/p{i}@1") for i in range(80)])
    assert len(result.reasons) == MAX_REASONS and result.omitted == 30
    assert len(result.reasons[0].text) == 300 and result.reasons[0].text.endswith("…")
    assert PolicyResult.from_json(result.to_json()) == result


def test_policy_changes_tell_a_pass_turning_to_fail() -> None:
    from shared.policy.model import PolicyEvaluation, policy_changes

    passing = PolicyEvaluation((PolicyResult("no-root-user", 1, "Not running as root", "pass"),
                                PolicyResult("no-copyleft-licenses", 1, "No copyleft licenses", "pass")), "t1")
    failing = replace(passing, results=(PolicyResult("no-root-user", 1, "Not running as root", "fail"),
                                        passing.results[1]), evaluated="t2")
    changes = policy_changes(passing, failing)
    assert [(c.id, c.before, c.after, c.now_failing) for c in changes] == [("no-root-user", "pass", "fail", True)]
    assert policy_changes(failing, failing) == ()
    assert [c.before for c in policy_changes(None, failing)] == [None, None]
    assert PolicyEvaluation.from_json(failing.to_json()) == failing


def test_a_finding_a_vex_statement_suppressed_is_left_out_of_the_vulnerability_policies() -> None:
    found = evidence([platform("sha256:" + "1" * 64, [package("pypi", "requests", "2.19.0")])],
                     high_profile=["CVE-2018-18074"])
    for report in found.reports.values():
        for value in report["findings"]:
            value["suppressed"] = {"status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}
    assert check_fixable(found, DEFAULTS["no-fixable-critical-high"]) == ("pass", [])
    assert check_high_profile(found, DEFAULTS["no-high-profile-vulnerabilities"]) == ("pass", [])


def test_what_the_policies_read_of_a_report_leaves_out_text_and_suppressed_findings() -> None:
    record, analysis = platform("sha256:" + "a" * 64, [package("pypi", "requests", "2.19.0"),
                                                       package("npm", "lodash", "4.17.15")])
    report = evidence([(record, analysis)]).reports[analysis.digest]
    findings = report["findings"]
    assert len(findings) >= 2
    read = findings_read(report)
    assert read is not None and len(read) == len(findings)
    reworded = {**report, "matched": "later", "findings": [
        {**f, "summary": "new words", "references": [], "modified": "2026-01-01T00:00:00Z", "locations": []}
        for f in findings]}
    assert findings_read(reworded) == read
    for changed in ({"fixed_versions": ["99.0"]}, {"aliases": ["CVE-2099-1"]}, {"installed_version": "0.1"},
                    {"severity": {**findings[0]["severity"], "rating": "low"}}):
        assert findings_read({**report, "findings": [{**findings[0], **changed}, *findings[1:]]}) != read
    suppressed = {**report, "findings": [{**findings[0], "suppressed": {"status": "not_affected"}}, *findings[1:]]}
    assert findings_read(suppressed) == findings_read({**report, "findings": findings[1:]}) != read
    assert findings_read(None) is None
