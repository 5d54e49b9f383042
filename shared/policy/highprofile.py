"""The high-profile vulnerability list: advisory ids users import from a file.

Two formats are read (:func:`parse_high_profile`):

- the CISA Known Exploited Vulnerabilities catalog's JSON: ``{"vulnerabilities": [{"cveID": "CVE-…"}, …]}``
  (other fields are ignored), or a JSON list of ids;
- plain text: ids separated by new lines, spaces or commas; ``#`` starts a comment.

A file of another shape, an id that is not one, or more than :data:`MAX_IDS` ids is refused with an
:class:`~shared.errors.InvalidInput` naming the entry (or line) at fault.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput
from shared.policy.config import ADVISORY_ID

MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest list file accepted (the KEV catalog is about 1.5 MB)."""
MAX_IDS = 50_000
"""The most ids a list holds."""
MAX_ID_CHARS = 64


class InvalidHighProfileList(InvalidInput):
    """A high-profile list file cannot be read: the message names the entry or line at fault."""

    code = "invalid-high-profile-list"


@dataclass(frozen=True)
class HighProfileList:
    """The imported list: ``ids`` (sorted, each once; CVE ids upper-cased), where they came from (``source``, a
    file name without directories, or the catalog's title and version) and when they were imported."""

    ids: tuple[str, ...]
    source: str
    imported: str

    def to_json(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "source": self.source, "imported": self.imported}

    @staticmethod
    def from_json(value: dict[str, Any]) -> HighProfileList:
        return HighProfileList(ids=tuple(str(i) for i in value.get("ids") or ()), source=str(value.get("source", "")),
                               imported=str(value.get("imported", "")))


def normalize_id(value: str) -> str:
    """An advisory id as lists and findings are compared: CVE ids upper-cased, others as written."""
    return value.upper() if value[:4].upper() == "CVE-" else value


def _checked(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidHighProfileList(f"{where}: is not an advisory id")
    text = value.strip()
    if len(text) > MAX_ID_CHARS or not ADVISORY_ID.fullmatch(text):
        raise InvalidHighProfileList(f"{where}: {text[:MAX_ID_CHARS]!r} is not an advisory id (such as CVE-2024-3094)")
    return normalize_id(text)


def parse_high_profile(data: bytes) -> tuple[str, ...]:
    """The ids of a list file (see the module notes), sorted, each once."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidHighProfileList(f"the file is {len(data)} bytes; at most {MAX_FILE_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidHighProfileList("the file is not UTF-8 text") from None
    ids: list[str] = []
    if text.lstrip().startswith(("{", "[")):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InvalidHighProfileList(f"not valid JSON: {exc}") from None
        if isinstance(document, dict):
            entries = document.get("vulnerabilities")
            if not isinstance(entries, list):
                raise InvalidHighProfileList("vulnerabilities: the KEV catalog's list is missing")
            for index, entry in enumerate(entries):
                where = f"vulnerabilities[{index}].cveID"
                if not isinstance(entry, dict):
                    raise InvalidHighProfileList(f"vulnerabilities[{index}]: is not an object")
                ids.append(_checked(entry.get("cveID"), where))
                if len(ids) > MAX_IDS:
                    break
        else:
            for index, entry in enumerate(document):
                ids.append(_checked(entry, f"[{index}]"))
                if len(ids) > MAX_IDS:
                    break
    else:
        for number, line in enumerate(text.splitlines(), 1):
            for word in re.split(r"[\s,]+", line.split("#", 1)[0]):
                if word:
                    ids.append(_checked(word, f"line {number}"))
            if len(ids) > MAX_IDS:
                break
    if len(ids) > MAX_IDS:
        raise InvalidHighProfileList(f"the list holds more than {MAX_IDS} ids")
    return tuple(sorted(set(ids)))
