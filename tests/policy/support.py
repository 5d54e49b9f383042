"""Real-shaped evidence for the policy tests: SBOMs of real package records, matched against OSV records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from packageurl import PackageURL

from shared.analysis.model import OSInfo, Package, PlatformAnalysis
from shared.images.model import BaseImage, ImageRecord, PlatformRecord
from shared.policy.evaluate import Evidence
from shared.policy.highprofile import HighProfileList
from shared.registry.image import Layer
from shared.vulns.index import MemoryIndex
from shared.vulns.report import match_platform, platform_json
from tests.vulns.support import advisory, affected

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N"
LAYER = "sha256:" + "1" * 64
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def package(kind: str, name: str, version: str, license_text: str | None = None) -> Package:
    """A package as a cataloger reports it: a PyPI distribution or an npm package, with its declared license."""
    purl_type, path = {"pypi": ("pypi", f"/usr/lib/python3/dist-packages/{name}-{version}.dist-info/METADATA"),
                       "npm": ("npm", f"/app/node_modules/{name}/package.json")}[kind]
    return Package(type=purl_type, name=name, version=version, purl=PackageURL(purl_type, None, name, version).to_string(),
                   layer=LAYER, path=path, cataloger=kind, meta={"license": license_text} if license_text else {})


def index_of() -> MemoryIndex:
    """Advisories: requests < 2.20.0 high (fixed, alias CVE-2018-18074), lodash < 4.17.21 critical (fixed),
    urllib3 critical without a fix, six medium fixed."""
    index = MemoryIndex()
    index.import_records([
        advisory("PYSEC-2018-28", affected("PyPI", "requests", ("introduced", "0"), ("fixed", "2.20.0")),
                 aliases=["CVE-2018-18074"], severity=[{"type": "CVSS_V3", "score": HIGH}]),
        advisory("GHSA-jf85-cpcp-j695", affected("npm", "lodash", ("introduced", "0"), ("fixed", "4.17.21")),
                 aliases=["CVE-2019-10744"], severity=[{"type": "CVSS_V3", "score": CRITICAL}]),
        advisory("PYSEC-2099-1", affected("PyPI", "urllib3", ("introduced", "0")), aliases=["CVE-2099-0001"],
                 severity=[{"type": "CVSS_V3", "score": CRITICAL}]),
        advisory("PYSEC-2099-2", affected("PyPI", "six", ("introduced", "0"), ("fixed", "9.0")),
                 severity=[{"type": "CVSS_V3", "score": MEDIUM}]),
    ])
    return index


def platform(digest: str, packages: Sequence[Package], *, user: str | None = "app", base: BaseImage | None = None,
             arch: str = "amd64") -> tuple[PlatformRecord, PlatformAnalysis]:
    """A platform record (a Debian 12 image of one layer) and its SBOM."""
    analysis = PlatformAnalysis(platform=f"linux/{arch}", digest=digest, os=OSInfo(id="debian", version_id="12"),
                                packages=tuple(packages), problems=())
    record = PlatformRecord(digest=digest, os="linux", architecture=arch, media_type=MANIFEST_TYPE,
                            config_digest="sha256:" + "c" * 64, user=user,
                            layers=(Layer(LAYER, 100, "application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "d" * 64),),
                            distro="Debian GNU/Linux 12", base=base)
    return record, analysis


def evidence(platforms: Sequence[tuple[PlatformRecord, PlatformAnalysis]], *, attestations: tuple[str, ...] | None = (),
             media_type: str = MANIFEST_TYPE, high_profile: Sequence[str] = (), reports: bool = True,
             sboms: bool = True) -> Evidence:
    """The evidence of an image of ``platforms``: its record, the reports of matching each SBOM against
    :func:`index_of` (none when not ``reports``), its SBOMs (none when not ``sboms``)."""
    index = index_of()
    matched: dict[str, dict[str, Any]] = {}
    if reports:
        matched = {a.digest: platform_json(match_platform(a, index)) for _, a in platforms}
    analyses = {a.digest: a for _, a in platforms} if sboms else {}
    record = ImageRecord(registry="registry.test", repository="team/app", digest="sha256:" + "e" * 64,
                         status="analyzed", media_type=media_type, platforms=tuple(p for p, _ in platforms),
                         attestations=attestations)
    listed = HighProfileList(tuple(high_profile), "kev.json", "2026-01-01T00:00:00.000000Z") if high_profile else None
    return Evidence(record=record, reports=matched, sbom=analyses.get, high_profile=listed)


def with_base(record: PlatformRecord, current: str | None) -> PlatformRecord:
    """``record`` built on ``debian:12``, whose tag now points at ``current`` (None: unchanged)."""
    return replace(record, base=BaseImage(registry="", repository="library/debian", tag="12",
                                          digest="sha256:" + "a" * 64, layers=1, current_digest=current))
