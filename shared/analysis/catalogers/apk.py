"""Alpine packages: the apk database ``/lib/apk/db/installed``.

One record per package, blank-line separated, one ``X:value`` field per line (``P`` name, ``V``
version, ``A`` architecture, ``o`` origin, ``L`` license); other fields (file lists) are skipped.
"""

from __future__ import annotations

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, Parser, purl, text
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "apk"
VERSION = 1

_META = {"A": "arch", "o": "origin", "L": "license"}


def parse_installed(path: str, data: bytes, context: ParseContext) -> FileResult:
    """Every package of an apk ``installed`` database."""
    packages: list[PackageRecord] = []
    problems: list[str] = []
    record: dict[str, str] = {}

    def flush() -> None:
        if not record:
            return
        name, version = record.get("P"), record.get("V")
        if name and version:
            meta = {_META[k]: v for k, v in record.items() if k in _META and v}
            packages.append(PackageRecord("apk", name, version, meta))
        else:
            problems.append(f"a record without {'P' if not name else 'V'} (package {name or '?'})")
        record.clear()

    for line in text(data).splitlines():
        if not line.strip():
            flush()
            continue
        key, sep, value = line.partition(":")
        if sep and len(key) == 1 and key in "PVAoL" and key not in record:
            record[key] = value.strip()
    flush()
    return FileResult(packages=tuple(packages), problems=tuple(problems))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4`` (``upstream`` is the origin when it differs)."""
    origin = record.meta.get("origin")
    return purl(
        "apk",
        record.name,
        record.version,
        namespace=os.id if os else "alpine",
        qualifiers={
            "arch": record.meta.get("arch"),
            "distro": os.distro if os else None,
            "upstream": origin if origin and origin != record.name else None,
        },
    )


def cataloger() -> GlobCataloger:
    """The apk cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser(("/lib/apk/db/installed",), parse=parse_installed)], package_url)
