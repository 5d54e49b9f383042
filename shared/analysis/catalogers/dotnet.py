""".NET packages: the ``*.deps.json`` an application ships (its ``libraries`` of type ``package``)."""

from __future__ import annotations

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, load_json, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "dotnet"
VERSION = 1


def parse_deps_json(path: str, data: bytes, context: ParseContext) -> FileResult:
    """The NuGet packages listed in a ``.deps.json`` (projects and reference assemblies are not packages)."""
    document = load_json(data, "deps.json", encoding="utf-8-sig")
    libraries = document.get("libraries") if isinstance(document, dict) else None
    if not isinstance(libraries, dict):
        raise ParseError("deps.json has no libraries")
    packages: list[PackageRecord] = []
    for key, library in libraries.items():
        if not isinstance(library, dict) or library.get("type") != "package":
            continue
        name, slash, version = key.partition("/")
        if slash and name and version:
            packages.append(PackageRecord("nuget", name, version))
    return FileResult(packages=tuple(packages))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:nuget/Newtonsoft.Json@13.0.3``."""
    return purl("nuget", record.name, record.version)


def cataloger() -> GlobCataloger:
    """The .NET cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser(("**/*.deps.json",), parse=parse_deps_json)], package_url)
