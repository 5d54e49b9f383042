"""A small parser of package URLs (``pkg:type/namespace/name@version?qualifiers#subpath``).

It follows the purl specification's parsing steps: the scheme is ``pkg``; the subpath, qualifiers
and version are split off from the right; the type is lower-cased; namespace segments, name, version
and qualifier values are percent-decoded; qualifier keys are lower-cased. An ``@`` before the last
``/`` is part of a name (``pkg:npm/@scope/name`` written without encoding), not a version marker.
Raises :class:`~shared.errors.InvalidInput` for something that is not a package URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import unquote

from shared.errors import InvalidInput

MAX_PURL_CHARS = 4096


def _no_qualifiers() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Purl:
    """The parts of a package URL, decoded; ``namespace`` joins its segments with ``/``."""

    type: str
    name: str
    namespace: str = ""
    version: str = ""
    qualifiers: Mapping[str, str] = field(default_factory=_no_qualifiers, compare=False, hash=False)
    subpath: str = ""


def parse_purl(text: str) -> Purl:
    """Parse ``text``; raises :class:`InvalidInput` when it is not a package URL."""
    if len(text) > MAX_PURL_CHARS:
        raise InvalidInput("package URL is too long")
    scheme, sep, rest = text.strip().partition(":")
    if not sep or scheme.lower() != "pkg":
        raise InvalidInput(f"{text[:80]!r} is not a package URL")
    rest = rest.lstrip("/")
    rest, _, subpath = rest.partition("#")
    rest, _, query = rest.partition("?")
    version = ""
    at = rest.rfind("@")
    if at > rest.rfind("/"):
        rest, version = rest[:at], unquote(rest[at + 1 :])
    segments = [segment for segment in rest.split("/") if segment]
    if len(segments) < 2:
        raise InvalidInput(f"{text[:80]!r} has no type and name")
    qualifiers: dict[str, str] = {}
    for pair in query.split("&") if query else ():
        key, eq, value = pair.partition("=")
        if key and eq and value:
            qualifiers[key.lower()] = unquote(value)
    return Purl(
        type=segments[0].lower(),
        name=unquote(segments[-1]),
        namespace="/".join(unquote(segment) for segment in segments[1:-1]),
        version=version,
        qualifiers=MappingProxyType(qualifiers),
        subpath="/".join(unquote(part) for part in subpath.split("/") if part not in ("", ".", "..")),
    )
