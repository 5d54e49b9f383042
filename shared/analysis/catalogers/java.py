"""Java archives: ``.jar``, ``.war``, ``.ear`` (and the jars nested in them).

Each archive is opened from memory with :mod:`zipfile` (capped at ``max_file_bytes``). Every
``META-INF/maven/<group>/<artifact>/pom.properties`` is a package (shaded jars hold several);
without any, ``META-INF/MANIFEST.MF`` names the package (``Implementation-Title`` /
``Bundle-SymbolicName`` and their versions), and then the file name (``name-1.2.3.jar``). Archives
inside the archive (``WEB-INF/lib/*.jar``, ``BOOT-INF/lib/*.jar``) are read the same way, down to
``max_nested_archive_depth``; a nested archive larger than ``max_file_bytes`` uncompressed is
skipped and recorded.
"""

from __future__ import annotations

import io
import re
import zipfile

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, purl, text
from shared.analysis.model import FileResult, OSInfo, PackageRecord
from shared.analysis.paths import basename

NAME = "java"
VERSION = 1

ARCHIVE_GLOBS = ("**/*.jar", "**/*.war", "**/*.ear", "**/*.jpi", "**/*.hpi")
_ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
_POM_PROPERTIES = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")
_FILE_NAME = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.\-+]*)\.(?:jar|war|ear|jpi|hpi)$")


def parse_properties(content: str) -> dict[str, str]:
    """A Java ``.properties`` file's ``key=value`` (or ``key: value``) pairs; comments and blank lines skipped."""
    values: dict[str, str] = {}
    for raw in content.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        match = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)", line)
        if match:
            values[match.group(1)] = match.group(2).strip()
    return values


def parse_manifest(content: str) -> dict[str, str]:
    """The main section of a jar manifest (continuation lines start with one space)."""
    values: dict[str, str] = {}
    key: str | None = None
    for line in content.splitlines():
        if not line.strip():
            break
        if line.startswith(" ") and key is not None:
            values[key] += line[1:]
            continue
        key, sep, value = line.partition(":")
        if not sep:
            key = None
            continue
        key = key.strip()
        values[key] = value.strip()
    return values


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise ParseError(f"{info.filename}: {info.file_size} bytes is over the {limit} bytes limit")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ParseError(f"{info.filename}: more than {limit} bytes")
    return data


def _archive_packages(
    data: bytes, file_name: str, inner: str, depth: int, context: ParseContext, problems: list[str]
) -> list[PackageRecord]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise ParseError(f"{inner or file_name}: not a zip archive ({error})") from None
    limit = context.limits.max_file_bytes
    packages: list[PackageRecord] = []
    location = {"archive": inner} if inner else {}
    with archive:
        infos = archive.infolist()
        for info in infos:
            if _POM_PROPERTIES.match(info.filename):
                props = parse_properties(text(_read_member(archive, info, limit)))
                group, artifact, version = props.get("groupId"), props.get("artifactId"), props.get("version")
                if group and artifact and version:
                    packages.append(PackageRecord("maven", f"{group}/{artifact}", version, location))
        if not packages:
            manifest_info = next((i for i in infos if i.filename.upper() == "META-INF/MANIFEST.MF"), None)
            manifest = parse_manifest(text(_read_member(archive, manifest_info, limit))) if manifest_info else {}
            name = manifest.get("Implementation-Title") or manifest.get("Bundle-SymbolicName", "").split(";")[0].strip()
            version = manifest.get("Implementation-Version") or manifest.get("Bundle-Version")
            group = manifest.get("Implementation-Vendor-Id") or ""
            from_file = _FILE_NAME.match(basename(file_name))
            if from_file and not (name and version):
                name, version = from_file.group("name"), from_file.group("version")
            if name and version:
                packages.append(PackageRecord("maven", f"{group}/{name}" if group else name, version, location))
        for info in infos:
            if not info.filename.lower().endswith(_ARCHIVE_SUFFIXES) or info.is_dir():
                continue
            nested = f"{inner}!/{info.filename}" if inner else info.filename
            if depth >= context.limits.max_nested_archive_depth:
                problems.append(f"{nested}: nested deeper than {context.limits.max_nested_archive_depth} archives, not read")
                continue
            try:
                packages.extend(
                    _archive_packages(_read_member(archive, info, limit), info.filename, nested, depth + 1, context, problems)
                )
            except (ParseError, zipfile.BadZipFile, RuntimeError, OSError, EOFError) as error:
                problems.append(str(error))
    return packages


def parse_archive(path: str, data: bytes, context: ParseContext) -> FileResult:
    """The Maven packages of one Java archive and of the archives nested in it."""
    problems: list[str] = []
    packages = _archive_packages(data, path, "", 0, context, problems)
    return FileResult(packages=tuple(packages), problems=tuple(problems))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:maven/org.apache.commons/commons-lang3@3.12.0`` (no namespace when the group is unknown)."""
    group, _, artifact = record.name.rpartition("/")
    return purl("maven", artifact, record.version, namespace=group or None)


def cataloger() -> GlobCataloger:
    """The Java archive cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser(ARCHIVE_GLOBS, parse=parse_archive)], package_url)
