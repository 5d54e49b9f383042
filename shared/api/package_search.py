"""Which live images hold a package: ``GET /api/packages?purl=…`` or ``?name=…[&type=…]`` (the log4j question)."""

from __future__ import annotations

import re
from typing import Any

from shared.api.image_listing import tags_by_image
from shared.api.paging import Continuations, parse_limit
from shared.errors import InvalidInput
from shared.images.listing import PackageOccurrence
from shared.records import ImageRecords, PackageOccurrences
from shared.vulns.purl import parse_purl

MAX_PURL = 1024
MAX_NAME = 256
_TYPE = re.compile(r"[a-z][a-z0-9.+-]{0,31}")


def occurrence_json(occurrence: PackageOccurrence, tags: list[str]) -> dict[str, Any]:
    """The API representation of a package found in an image."""
    return {"purl": occurrence.purl, "name": occurrence.name, "version": occurrence.version, "type": occurrence.type,
            "registry": occurrence.registry, "repository": occurrence.repository, "digest": occurrence.digest,
            "tags": tags, "platform": occurrence.platform, "layer": occurrence.layer}


def _text(value: object, what: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > longest or any(ord(c) < 32 for c in value):
        raise InvalidInput(f"'{what}' must be text of 1 to {longest} characters")
    return value.strip()


def search_packages(packages: PackageOccurrences, images: ImageRecords, continuations: Continuations,
                    purl: object = None, name: object = None, type: object = None, limit: object = None,
                    continuation: object = None) -> dict[str, Any]:
    """``{"packages": [...], "continuation"}``: every package in a live image matching ``purl`` or ``name``.

    ``purl``: a package URL; its type, namespace and name must match, and its version when it has one
    (qualifiers and subpath are ignored). ``name`` (case-insensitive), optionally with a purl ``type``
    (``maven``, ``npm``, ``deb`` …). Reads one key range of the type's partition (of every type's
    without one). Raises :class:`InvalidInput` when neither is given or one is malformed.
    """
    size = parse_limit(limit)
    if purl not in (None, ""):
        wanted = parse_purl(_text(purl, "purl", MAX_PURL))
        scope: tuple[str, ...] = ("packages", "purl", wanted.type, wanted.namespace.lower(), wanted.name.lower(),
                                  wanted.version)

        def keep(found: PackageOccurrence) -> bool:
            return not wanted.version or parse_purl(found.purl).version == wanted.version

        page = packages.find(wanted.name, wanted.type, size, continuations.open(continuation, scope),
                             namespace=wanted.namespace, keep=keep if wanted.version else None)
    elif name not in (None, ""):
        text = _text(name, "name", MAX_NAME)
        kind = None
        if type not in (None, ""):
            if not isinstance(type, str) or not _TYPE.fullmatch(type.lower()):
                raise InvalidInput("'type' must be a package URL type such as maven, npm, pypi or deb")
            kind = type.lower()
        scope = ("packages", "name", text.lower(), kind or "*")
        page = packages.find(text, kind, size, continuations.open(continuation, scope))
    else:
        raise InvalidInput("give 'purl' (a package URL) or 'name' (with an optional 'type')")
    tags = tags_by_image(images, [(o.registry, o.repository, o.digest) for o in page.items])
    return {"packages": [occurrence_json(o, tags.get((o.registry, o.repository, o.digest), [])) for o in page.items],
            "continuation": continuations.seal(page.cursor, scope)}
