"""npm packages installed in ``node_modules`` (``node_modules/<name>/package.json``, scoped or not, at any depth),
and the application's own root project.

A ``package.json`` outside ``node_modules`` is an application's root project; it is reported (with
``meta["root"] = "true"``) only where the final filesystem shows it installed: a package in the
``node_modules`` directory beside it (:data:`~shared.analysis.catalogers.base.REQUIRES`). An
application need not have a version (a private project seldom does): a root project is reported
with an empty version then, as Syft reports it; an installed package needs both name and version.
"""

from __future__ import annotations

from shared.analysis.catalogers.base import REQUIRES, GlobCataloger, ParseContext, ParseError, Parser, load_json, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "npm"
VERSION = 2


def parse_package_json(path: str, data: bytes, context: ParseContext) -> FileResult:
    """The installed package a ``package.json`` describes (name and version required)."""
    document = load_json(data, "package.json")
    if not isinstance(document, dict):
        raise ParseError("package.json is not a JSON object")
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        raise ParseError("package.json without name or version")
    meta: dict[str, str] = {}
    license_value = document.get("license")
    if isinstance(license_value, str) and license_value:
        meta["license"] = license_value
    return FileResult(packages=(PackageRecord("npm", name, version, meta),))


def parse_root_package_json(path: str, data: bytes, context: ParseContext) -> FileResult:
    """An application's root project: its ``package.json``, kept where ``node_modules`` beside it holds packages.

    A name is needed, a version is not. A file that is not a JSON object with a name is not a
    project (no problem recorded: such files are common outside ``node_modules``).
    """
    try:
        document = load_json(data, "package.json")
    except ParseError:
        return FileResult()
    if not isinstance(document, dict) or not isinstance(document.get("name"), str) or not document["name"]:
        return FileResult()
    version = document.get("version")
    meta = {"root": "true", REQUIRES: f"{path.rpartition('/')[0]}/node_modules/"}
    license_value = document.get("license")
    if isinstance(license_value, str) and license_value:
        meta["license"] = license_value
    return FileResult(packages=(PackageRecord("npm", document["name"], version if isinstance(version, str) else "", meta),))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:npm/%40scope/name@1.0.0`` or ``pkg:npm/name@1.0.0``."""
    scope, slash, bare = record.name.rpartition("/")
    return purl("npm", bare, record.version, namespace=scope if slash else None)


def cataloger() -> GlobCataloger:
    """The npm cataloger."""
    return GlobCataloger(
        NAME,
        VERSION,
        [
            Parser(("**/node_modules/*/package.json", "**/node_modules/@*/*/package.json"), parse=parse_package_json),
            Parser(("**/package.json",), parse=parse_root_package_json, exclude=("**/node_modules/**",)),
        ],
        package_url,
    )
