"""PHP Composer packages: ``vendor/composer/installed.json`` (Composer 1: a list; Composer 2: ``{"packages": [...]}``)."""

from __future__ import annotations

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, load_json, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "php-composer"
VERSION = 1


def parse_installed_json(path: str, data: bytes, context: ParseContext) -> FileResult:
    """Every package Composer installed into a ``vendor`` directory."""
    document = load_json(data, "installed.json")
    entries = document.get("packages") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise ParseError("installed.json has no package list")
    packages: list[PackageRecord] = []
    problems: list[str] = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(version, str):
            problems.append("a package without name or version")
            continue
        meta: dict[str, str] = {}
        licenses = entry.get("license")
        if isinstance(licenses, list) and licenses and all(isinstance(item, str) for item in licenses):
            meta["license"] = " OR ".join(licenses)
        packages.append(PackageRecord("composer", name, version, meta))
    return FileResult(packages=tuple(packages), problems=tuple(problems))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:composer/symfony/console@v6.4.1``."""
    vendor, _, name = record.name.rpartition("/")
    return purl("composer", name, record.version, namespace=vendor or None)


def cataloger() -> GlobCataloger:
    """The Composer cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser(("**/vendor/composer/installed.json",), parse=parse_installed_json)], package_url)
