"""Shared pieces of the VEX tests: the fixture documents, a small analyzed platform and its advisories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.analysis.model import Package, PlatformAnalysis
from shared.vex.model import ImportedVex, Scope
from shared.vulns.index import MemoryIndex
from shared.vulns.parse import parse_advisory
from shared.vulns.report import PlatformReport, match_platform
from testkit.contents import osv_record

TESTDATA = Path(__file__).parent / "testdata"
REGISTRY = "registry.test"
REPOSITORY = "team/app"
DIGEST = "sha256:" + "1" * 64
INDEX_DIGEST = "sha256:" + "2" * 64
LAYER = "sha256:" + "3" * 64
CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"


def fixture(name: str) -> dict[str, Any]:
    """A document of ``testdata/`` as JSON data (to change before encoding it again)."""
    value: dict[str, Any] = json.loads((TESTDATA / name).read_text(encoding="utf-8"))
    return value


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def advisories() -> MemoryIndex:
    """requests high (PYSEC-T-1, alias CVE-2099-1001, fixed in 2.20.0), lodash critical (GHSA-t-lodash, alias
    CVE-2099-2002, fixed in 4.17.21), urllib3 unrated without a fix (PYSEC-T-3)."""
    index = MemoryIndex()
    result = index.import_records([parse_advisory(r) for r in (
        osv_record("PYSEC-T-1", "PyPI", "requests", "2.20.0", aliases=("CVE-2099-1001",), severity=HIGH),
        osv_record("GHSA-t-lodash", "npm", "lodash", "4.17.21", aliases=("CVE-2099-2002",), severity=CRITICAL),
        osv_record("PYSEC-T-3", "PyPI", "urllib3", None),
    )])
    assert not result.problems
    return index


def package(purl: str, path: str) -> Package:
    name, version = purl.split("/")[-1].split("@")
    return Package(type=purl.split(":")[1].split("/")[0], name=name, version=version, purl=purl, layer=LAYER,
                   path=path, cataloger="test")


def analysis(digest: str = DIGEST) -> PlatformAnalysis:
    """A platform holding requests 2.19.0, urllib3 1.26.0 and lodash 4.17.15."""
    return PlatformAnalysis(platform="linux/amd64", digest=digest, os=None, problems=(), packages=(
        package("pkg:npm/lodash@4.17.15", "/app/node_modules/lodash/package.json"),
        package("pkg:pypi/requests@2.19.0", "/usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA"),
        package("pkg:pypi/urllib3@1.26.0", "/usr/lib/python3/dist-packages/urllib3-1.26.0.dist-info/METADATA"),
    ))


def report(digest: str = DIGEST) -> PlatformReport:
    """The platform of :func:`analysis` matched against :func:`advisories`: three findings."""
    return match_platform(analysis(digest), advisories())


def imported(document: Any, scope: Scope | None = None, *, vex_id: str = "v1", imported_at: str = "2026-03-10T00:00:00Z",
             digests: tuple[str, ...] = ()) -> ImportedVex:
    from shared.vex.documents import parse_document

    return ImportedVex(id=vex_id, scope=scope or Scope("int1", REGISTRY), name="vex.json", imported=imported_at,
                       document=parse_document(encoded(document)), digests=digests)
