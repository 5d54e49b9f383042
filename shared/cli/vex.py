"""``lookout vex import|list|remove``: VEX documents that say which findings do not apply.

``lookout vex import --integration ID [--repository R [--image DIGEST]] FILE`` stores an OpenVEX or
CycloneDX VEX document (``-`` reads standard input) for the integration, one repository of it, or
one image, and refreshes the reports of the analyzed images it concerns (:mod:`shared.vex.service`);
an invalid document is refused, nothing stored, with the JSON path of the field at fault
(``statements[3].status: 'maybe' is not one of …``) and exit code 2. ``lookout vex list
[--integration ID]`` shows what is imported; ``lookout vex remove --integration ID VEX_ID`` removes a
document and refreshes the reports again. Findings a ``not_affected``/``fixed`` statement covers stay
in every report, marked suppressed with the statement's justification, and are left out of the counts.

These commands talk to storage directly, with the app's settings (environment, then
``local.settings.json``), like the function app itself: run them where the app's settings are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.errors import InvalidInput

if TYPE_CHECKING:
    from shared.vex.model import ImportedVex
    from shared.vex.service import VexChange

# The storage modules are imported by the commands, so that every other ``lookout`` command starts
# without loading the Azure SDK.


def read_document(name: str, limit: int) -> bytes:
    """The bytes of file ``name`` (``-``: standard input), at most ``limit`` plus one (so that the reader can
    tell a document that is too large); :class:`InvalidInput` when it cannot be read."""
    if name == "-":
        return sys.stdin.buffer.read(limit + 1)
    try:
        with Path(name).open("rb") as stream:
            return stream.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror or exc}") from None


def change_json(change: VexChange) -> dict[str, Any]:
    """An import's or removal's JSON: the document's summary, SBOMs re-matched, images changed."""
    return {**change.vex.summary_json(), "sboms_rematched": change.rematch.platforms_checked,
            "images_changed": list(change.rematch.images_changed)}


def summary_line(vex: ImportedVex) -> str:
    """``<id>  <scope>  <format> <document id>: N statements (k not_affected, …) from <name>, imported <when>``."""
    summary = vex.summary_json()
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(summary["statuses"].items()))
    return (f"{vex.id}  {vex.scope.label}  {vex.document.format} {vex.document.id or '-'}: "
            f"{summary['statements']} statements ({statuses}) from {vex.name}, imported {vex.imported}")


def cmd_import(args: argparse.Namespace) -> int:
    from shared.vex.documents import MAX_DOCUMENT_BYTES
    from shared.wiring import services

    svc = services().vex_service
    scope = svc.scope(args.integration, args.repository, args.image)
    data = read_document(args.file, MAX_DOCUMENT_BYTES)
    change = svc.import_document(scope, data, "stdin" if args.file == "-" else Path(args.file).name)
    _show_change(args, change, "imported")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from shared.wiring import services

    documents = services().vex_service.list_documents(args.integration)
    if args.json:
        print(json.dumps({"documents": [d.summary_json() for d in documents]}, indent=2))
    elif not documents:
        print("no VEX documents imported — run `lookout vex import --integration ID FILE`")
    else:
        for document in documents:
            print(summary_line(document))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from shared.wiring import services

    change = services().vex_service.remove(args.integration, args.vex_id)
    _show_change(args, change, "removed")
    return 0


def _show_change(args: argparse.Namespace, change: VexChange, done: str) -> None:
    """Print what an import or a removal did (``done``: the verb), as JSON with ``--json``."""
    if args.json:
        print(json.dumps(change_json(change), indent=2))
    else:
        print(f"{done} {summary_line(change.vex)}")
        print(f"{change.rematch.platforms_checked} SBOMs re-matched, {len(change.rematch.images_changed)} images changed")


def add_parser(commands: Any) -> None:
    """Register ``vex`` on the top-level subparsers."""
    parser = commands.add_parser("vex", help="import VEX documents (OpenVEX, CycloneDX) that suppress findings")
    group = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = group.add_parser("import", help="store a VEX document for an integration, a repository or an image")
    imported.add_argument("file", metavar="FILE", help="the OpenVEX or CycloneDX VEX JSON document ('-': stdin)")
    imported.add_argument("--integration", required=True, metavar="ID", help="the integration it applies to")
    imported.add_argument("--repository", metavar="R", help="only this repository of the integration")
    imported.add_argument("--image", metavar="DIGEST", help="only this image (manifest digest) of the repository")
    imported.add_argument("--json", action="store_true")
    imported.set_defaults(handler=cmd_import)
    listed = group.add_parser("list", help="the imported VEX documents")
    listed.add_argument("--integration", metavar="ID", help="only those of this integration")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(handler=cmd_list)
    removed = group.add_parser("remove", help="remove an imported VEX document")
    removed.add_argument("vex_id", metavar="VEX_ID", help="its id, as `lookout vex list` shows it")
    removed.add_argument("--integration", required=True, metavar="ID", help="the integration it was imported for")
    removed.add_argument("--json", action="store_true")
    removed.set_defaults(handler=cmd_remove)
