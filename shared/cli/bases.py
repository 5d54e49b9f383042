"""``lookout bases import FILE`` and ``lookout bases list``: the public base images Lookout recognises.

``import`` reads the JSON document of :mod:`shared.bases.public` (``{"bases": [{"name", "tag", "digest",
"diff_ids", "platform"?}, ...]}``), refuses it whole with the entry and field at fault when anything in
it is wrong, else files every base's diff-ID chain and points its name and tag at its digest (a tag
imported again with another digest has moved: images built on the old digest then need a rebuild).
``list`` prints what was imported. Both talk to storage directly with the app's settings, like
``lookout advisories``. Exit codes: 0; 1 storage failure; 2 a refused document or a missing file.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.cli.output import Screen, short_digest
from shared.errors import InvalidInput


def cmd_import(args: argparse.Namespace) -> int:
    """``lookout bases import FILE [--json]``."""
    from shared.bases.public import MAX_DOCUMENT_BYTES, parse_document
    from shared.wiring import services

    path = Path(args.file)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        bases = parse_document(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc.message}; nothing was imported") from None
    outcome = services().base_service.import_public(bases)
    if args.json:
        Screen().json({"file": str(path), "bases": len(bases), **outcome.to_json()})
    else:
        print(f"{path}: {len(bases)} bases: {outcome.added} added, {outcome.moved} moved to another digest, "
              f"{outcome.unchanged} unchanged")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``lookout bases list [--name NAME] [--json]``."""
    from shared.wiring import services

    bases = services().base_service.list_public(args.name)
    screen = Screen()
    if args.json:
        screen.json({"bases": [b.to_json() for b in bases]})
        return 0
    if not bases:
        print("no public base images imported yet: run `lookout bases import FILE`")
        return 0
    rows: list[list[Any]] = [[b.name, b.tag, short_digest(b.digest), str(len(b.diff_ids)), b.platform or "-",
                              b.imported] for b in bases]
    screen.table(["NAME", "TAG", "DIGEST", "LAYERS", "PLATFORM", "IMPORTED"], rows, numeric=("LAYERS",))
    return 0


def add_parser(commands: Any) -> None:
    """Register ``bases`` on the top-level subparsers."""
    parser = commands.add_parser("bases", help="the public base images recognised by their layers")
    group = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = group.add_parser("import", help="import public base images from a JSON document",
                                description='A JSON object {"bases": [{"name", "tag", "digest", "diff_ids", '
                                            '"platform"?}, ...]}; see the README.')
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--json", action="store_true")
    imported.set_defaults(handler=cmd_import)
    listed = group.add_parser("list", help="the imported public base images")
    listed.add_argument("--name", help="only this base (e.g. library/debian)")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(handler=cmd_list)


def stored_origins(client: Any, query: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Per platform digest, the stored report's ``base``, ``origin_counts`` and each finding's ``origin`` by
    (id, package URL), read from ``GET /api/images/vulnerabilities`` (what ``lookout cves`` adds to a stored
    report)."""
    document = client.get("images/vulnerabilities", dict(query))
    found: dict[str, dict[str, Any]] = {}
    for platform in document.get("platforms", []):
        found[str(platform.get("digest"))] = {
            "base": platform.get("base"), "origin_counts": platform.get("origin_counts"),
            "origins": {(str(f.get("id")), str(f.get("package"))): f.get("origin")
                        for f in platform.get("findings", [])}}
    return found


def add_origins(document: dict[str, Any], origins: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An :func:`~shared.vulns.report.image_json` document with each platform's ``base`` and ``origin_counts`` and
    each finding's ``origin`` (null where unknown), changed in place and returned."""
    for platform in document.get("platforms", []):
        known = origins.get(str(platform.get("digest")), {})
        platform["base"] = known.get("base")
        platform["origin_counts"] = known.get("origin_counts")
        by_key = known.get("origins") or {}
        for finding in platform.get("findings", []):
            finding["origin"] = by_key.get((str(finding.get("id")), str(finding.get("package"))))
    return document


def origin_text(document: Mapping[str, Any], origins: Mapping[str, Mapping[str, Any]]) -> str:
    """Lines for the table of ``lookout cves``: per platform, its detected base and which findings came from it and
    which the image added (nothing for a platform without a detected base)."""
    lines: list[str] = []
    for platform in document.get("platforms", []):
        known = origins.get(str(platform.get("digest")), {})
        base, split = known.get("base"), known.get("origin_counts")
        if not base or not split:
            continue
        by_key = known.get("origins") or {}
        lines.append("")
        lines.append(f"{platform.get('platform')}: base image {base['name']} ({base['layers']} layers, "
                     f"{base['digest']})")
        if base.get("current_digest"):
            lines.append(f"rebuild needed: {base['tag']} now points at {base['current_digest']}")
        for origin, label in (("base", "from the base"), ("image", "added by this image")):
            ids = sorted({str(f.get("id")) for f in platform.get("findings", [])
                          if by_key.get((str(f.get("id")), str(f.get("package")))) == origin})
            counts = split[origin]
            lines.append(f"{label}: {counts['total']} ({counts['critical']} critical, {counts['high']} high, "
                         f"{counts['medium']} medium, {counts['low']} low, {counts['unknown']} unknown)"
                         + (f": {', '.join(ids)}" if ids else ""))
    return "\n".join(lines) + "\n" if lines else ""
