"""The document of public base images ``lookout bases import`` reads.

A JSON object ``{"bases": [ENTRY, ...]}``, each entry ``{"name", "tag", "digest", "diff_ids",
"platform"?}``: ``name`` a repository name as registries write it (``library/debian``; a registry host
may lead it, ``mcr.microsoft.com/dotnet/runtime``), ``tag`` the tag, ``digest`` the ``sha256:`` manifest
digest the tag pointed at, ``diff_ids`` the image config's ``rootfs.diff_ids`` (lowest layer first, at
most :data:`~shared.bases.chains.MAX_LAYERS`), ``platform`` optionally ``os/architecture[/variant]``.
One name and tag may appear once per document. The document is refused whole, naming the entry and
field at fault (``bases[3].diff_ids[2]: ...``), when anything in it is wrong: nothing is imported then.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.bases.chains import validate_chain
from shared.bases.model import PublicBase
from shared.errors import InvalidInput
from shared.registry.reference import Digest, validate_registry, validate_repository, validate_tag

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""The largest document read (a thousand bases of a hundred layers is under 8 MiB)."""
MAX_ENTRIES = 2000
"""The most entries one document may hold."""
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
FIELDS = frozenset({"name", "tag", "digest", "diff_ids", "platform"})


def parse_document(data: bytes) -> list[PublicBase]:
    """The bases of an import document (see the module notes); :class:`InvalidInput` naming the field at fault."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("the document is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the document is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("bases"), list):
        raise InvalidInput('the document must be a JSON object with a "bases" list')
    entries = document["bases"]
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"bases: {len(entries)} entries, more than {MAX_ENTRIES}")
    bases: list[PublicBase] = []
    seen: dict[tuple[str, str], int] = {}
    for index, value in enumerate(entries):
        base = parse_entry(value, f"bases[{index}]")
        earlier = seen.setdefault((base.name, base.tag), index)
        if earlier != index:
            raise InvalidInput(f"bases[{index}]: {base.name}:{base.tag} is already bases[{earlier}]")
        bases.append(base)
    return bases


def parse_entry(value: Any, where: str) -> PublicBase:
    """One entry of the document; ``where`` names it in errors."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: must be an object")
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise InvalidInput(f"{where}.{unknown[0]}: unknown field (expected {', '.join(sorted(FIELDS))})")
    for name in ("name", "tag", "digest", "diff_ids"):
        if name not in value:
            raise InvalidInput(f"{where}.{name}: required")
    name = _field(where, "name", value["name"], _name)
    tag = _field(where, "tag", value["tag"], validate_tag)
    digest = _field(where, "digest", value["digest"], lambda d: Digest(d).value)
    if not isinstance(value["diff_ids"], list):
        raise InvalidInput(f"{where}.diff_ids: must be a list of diff IDs")
    diff_ids = validate_chain(value["diff_ids"], f"{where}.diff_ids")
    platform = value.get("platform", "")
    if not isinstance(platform, str) or (platform and not _PLATFORM.match(platform)):
        raise InvalidInput(f"{where}.platform: expected os/architecture[/variant], e.g. linux/amd64")
    return PublicBase(name=name, tag=tag, digest=digest, diff_ids=diff_ids, platform=platform)


def _name(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("must be a string")
    first, _, rest = value.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        validate_registry(first)
        validate_repository(rest)
    else:
        validate_repository(value)
    return value


def _field(where: str, name: str, value: Any, check: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{name}: must be a string")
    try:
        return str(check(value))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}.{name}: {exc.message}") from None
