"""Distribution: the ``os-release`` file (``ID``, ``VERSION_ID``, ``VERSION_CODENAME``...).

The cataloger records the fields of each ``os-release`` it reads as facts; which one describes the
image is decided after the squash (``/etc/os-release``, often a link to ``../usr/lib/os-release``,
then ``/usr/lib/os-release``), by :func:`os_from_facts`.
"""

from __future__ import annotations

import shlex

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, text
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "distro"
VERSION = 1

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
"""Where ``os-release`` is looked for, in order of precedence (the freedesktop.org rule)."""

_KEPT = ("ID", "VERSION_ID", "VERSION_CODENAME", "NAME", "PRETTY_NAME", "ID_LIKE")


def parse_os_release_text(content: str) -> dict[str, str]:
    """The ``KEY=value`` assignments of an ``os-release`` file, shell quoting and escapes undone."""
    fields: dict[str, str] = {}
    for raw in content.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not key.replace("_", "").isalnum():
            continue
        try:
            words = shlex.split(value, comments=False, posix=True)
            fields[key] = " ".join(words)
        except ValueError:
            fields[key] = value.strip().strip("\"'")
    return fields


def parse_os_release(path: str, data: bytes, context: ParseContext) -> FileResult:
    """Parse one ``os-release`` file into facts (lowercase keys: ``id``, ``version_id``...)."""
    fields = parse_os_release_text(text(data))
    facts = {key.lower(): fields[key] for key in _KEPT if fields.get(key)}
    if "id" not in facts:
        raise ParseError("os-release has no ID")
    return FileResult(facts=facts)


def os_from_facts(facts: dict[str, str] | None) -> OSInfo | None:
    """The :class:`OSInfo` of an ``os-release`` file's facts."""
    if not facts or not facts.get("id"):
        return None
    return OSInfo(
        id=facts["id"].lower(),
        version_id=facts.get("version_id"),
        version_codename=facts.get("version_codename"),
        name=facts.get("name"),
        pretty_name=facts.get("pretty_name"),
    )


def _no_packages(record: PackageRecord, os: OSInfo | None) -> str:
    raise ValueError("the distro cataloger finds no packages")


def cataloger() -> GlobCataloger:
    """The distribution cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser(OS_RELEASE_PATHS, parse=parse_os_release)], _no_packages)
