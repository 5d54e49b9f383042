"""PHP Composer packages: ``vendor/composer/installed.json`` (Composer 1: a list; Composer 2: ``{"packages": [...]}``),
and the application's own root project.

A ``composer.json`` outside ``vendor`` is an application's root project; it is reported (with
``meta["root"] = "true"``) only where the final filesystem shows its dependencies installed: a
``vendor/composer/installed.json`` beside it that lists packages
(:data:`~shared.analysis.catalogers.base.REQUIRES`). Without a name and a version it is not a
package.
"""

from __future__ import annotations

from shared.analysis.catalogers.base import REQUIRES, GlobCataloger, ParseContext, ParseError, Parser, load_json, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "php-composer"
VERSION = 2


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


def parse_root_composer_json(path: str, data: bytes, context: ParseContext) -> FileResult:
    """An application's root project: its ``composer.json``, kept where ``vendor/composer`` beside it lists packages."""
    try:
        document = load_json(data, "composer.json")
    except ParseError:
        return FileResult()
    name = document.get("name") if isinstance(document, dict) else None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return FileResult()
    directory = path.rpartition("/")[0]
    meta = {"root": "true", REQUIRES: f"{directory}/vendor/composer/"}
    return FileResult(packages=(PackageRecord("composer", name, version, meta),))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:composer/symfony/console@v6.4.1``."""
    vendor, _, name = record.name.rpartition("/")
    return purl("composer", name, record.version, namespace=vendor or None)


def cataloger() -> GlobCataloger:
    """The Composer cataloger."""
    return GlobCataloger(
        NAME,
        VERSION,
        [
            Parser(("**/vendor/composer/installed.json",), parse=parse_installed_json),
            Parser(("**/composer.json",), parse=parse_root_composer_json, exclude=("**/vendor/**",)),
        ],
        package_url,
    )
