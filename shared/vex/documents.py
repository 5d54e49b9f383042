"""Reading a VEX document of either format from its bytes, bounded in size."""

from __future__ import annotations

import json
from typing import Any

from shared.vex.cyclonedx import is_cyclonedx, parse_cyclonedx
from shared.vex.errors import InvalidVex
from shared.vex.model import VexDocument
from shared.vex.openvex import is_openvex, parse_openvex

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""The largest VEX document read (4 MiB of JSON)."""
MAX_STATEMENTS = 5000
"""The most statements one document may hold."""


def parse_document(data: bytes) -> VexDocument:
    """The OpenVEX or CycloneDX VEX document in ``data`` (UTF-8 JSON; the format is told by OpenVEX's
    ``@context`` or CycloneDX's ``bomFormat``). Raises :class:`InvalidVex` with the JSON path of the
    field at fault (``$`` for the document as a whole)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidVex("$", f"the document is too large ({len(data)} bytes; at most {MAX_DOCUMENT_BYTES})")
    try:
        value: Any = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidVex("$", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidVex("$", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidVex("$", "the JSON nests too deeply") from None
    if not isinstance(value, dict):
        raise InvalidVex("$", "expected a JSON object")
    if is_openvex(value):
        document = parse_openvex(value)
    elif is_cyclonedx(value):
        document = parse_cyclonedx(value)
    else:
        raise InvalidVex("$", "neither OpenVEX (an @context of https://openvex.dev/ns/…) nor CycloneDX "
                              "(bomFormat 'CycloneDX')")
    if len(document.statements) > MAX_STATEMENTS:
        raise InvalidVex("statements" if document.format == "openvex" else "vulnerabilities",
                         f"too many statements ({len(document.statements)}; at most {MAX_STATEMENTS})")
    return document
