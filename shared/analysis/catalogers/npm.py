"""npm packages installed in ``node_modules`` (``node_modules/<name>/package.json``, scoped or not, at any depth)."""

from __future__ import annotations

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, load_json, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "npm"
VERSION = 1


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


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:npm/%40scope/name@1.0.0`` or ``pkg:npm/name@1.0.0``."""
    scope, slash, bare = record.name.rpartition("/")
    return purl("npm", bare, record.version, namespace=scope if slash else None)


def cataloger() -> GlobCataloger:
    """The npm cataloger."""
    return GlobCataloger(
        NAME,
        VERSION,
        [Parser(("**/node_modules/*/package.json", "**/node_modules/@*/*/package.json"), parse=parse_package_json)],
        package_url,
    )
