"""Rust crates compiled into executables: the dependency list ``cargo auditable`` embeds.

``cargo auditable`` stores zlib-compressed JSON (``{"packages": [{"name", "version", "source",
"kind", "dependencies", "root"}]}``) in a section of the executable (``.dep-v0``). The section
table sits at the end of an ELF file, past the data, so instead of reading it the scanner looks for
a zlib stream (``0x78`` and a standard second byte) whose first inflated bytes are
``{"packages":``, then inflates it as the file streams by. Memory: one chunk, plus the inflated
JSON (capped at ``max_file_bytes``).
"""

from __future__ import annotations

import re
import zlib

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, load_json, purl
from shared.analysis.catalogers.executables import MAGICS, ExecutableScanner
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "rust-audit"
VERSION = 2

_ZLIB_HEADER = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
_PREFIX = b'{"packages":'
_PROBE = 512
"""Compressed bytes tried per candidate: enough for the largest dynamic Huffman block header."""


def parse_audit_json(data: bytes) -> tuple[PackageRecord, ...]:
    """The crates of ``cargo auditable``'s JSON."""
    document = load_json(data, "cargo auditable data")
    entries = document.get("packages") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ParseError("cargo auditable data has no package list")
    records: list[PackageRecord] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("version"), str):
            continue
        meta = {"source": str(entry.get("source", "")), "kind": str(entry.get("kind", "runtime"))}
        if entry.get("root") is True:
            meta["main"] = "true"
        records.append(PackageRecord("cargo", entry["name"], entry["version"], {k: v for k, v in meta.items() if v}))
    return tuple(records)


def _plausible_block(data: bytes, position: int) -> bool:
    """Whether a deflate block may start at ``data[position]``: a cheap test before inflating a candidate.

    Block type 3 does not exist; a stored block (type 0) has its length beside its complement.
    """
    kind = (data[position] >> 1) & 3
    if kind == 3:
        return False
    if kind == 0:
        head = data[position + 1 : position + 5]
        return len(head) == 4 and int.from_bytes(head[:2], "little") ^ int.from_bytes(head[2:], "little") == 0xFFFF
    return True


class AuditDataScanner(ExecutableScanner):
    """The :class:`~shared.analysis.catalogers.base.Scanner` of one executable: its crates, or ``None``."""

    def __init__(self, path: str, size: int, context: ParseContext) -> None:
        super().__init__()
        self._limit = context.limits.max_file_bytes
        self._tail = b""  # the last bytes of the chunk before, where a candidate could not be probed yet
        self._inflater: zlib._Decompress | None = None
        self._inflated = bytearray()

    def _feed(self, chunk: bytes) -> bool:
        if self._inflater is not None:
            return self._inflate(chunk)
        # Each chunk is searched where it is; a candidate in the last bytes of the one before is
        # probed with the start of this one.
        if self._tail:
            seam = self._tail + chunk[:_PROBE]
            start = self._audit_data_in(seam, starting_before=len(self._tail))
            if start is not None:
                return self._begin(seam[start:] + chunk[_PROBE:])
        start = self._audit_data_in(chunk, starting_before=len(chunk))
        if start is not None:
            return self._begin(chunk[start:])
        seen = self._tail + chunk if len(chunk) < _PROBE - 1 else chunk
        self._tail = seen[-(_PROBE - 1) :]
        return True

    def _audit_data_in(self, data: bytes, *, starting_before: int) -> int | None:
        """Where in ``data`` the audit data starts, among candidates with a whole probe after them."""
        for match in _ZLIB_HEADER.finditer(data, 0, min(len(data) - _PROBE + 2, starting_before + 1)):
            start = match.start()
            if _plausible_block(data, start + 2) and self._looks_like_audit_data(data[start : start + _PROBE]):
                return start
        return None

    def _begin(self, data: bytes) -> bool:
        self._inflater = zlib.decompressobj()
        self._tail = b""
        return self._inflate(data)

    @staticmethod
    def _looks_like_audit_data(probe: bytes) -> bool:
        try:
            head = zlib.decompressobj().decompress(probe, len(_PREFIX))
        except zlib.error:
            return False
        return head == _PREFIX

    def _inflate(self, data: bytes) -> bool:
        assert self._inflater is not None
        try:
            self._inflated += self._inflater.decompress(data, self._limit + 1 - len(self._inflated))
        except zlib.error as error:
            raise ParseError(f"cargo auditable data does not inflate ({error})") from None
        if len(self._inflated) > self._limit:
            raise ParseError(f"cargo auditable data is larger than {self._limit} bytes")
        return not self._inflater.eof

    def _finish(self) -> FileResult | None:
        if self._inflater is None:
            # Candidates too close to the end of the file to be probed while it streamed.
            for match in _ZLIB_HEADER.finditer(self._tail):
                if self._looks_like_audit_data(self._tail[match.start() : match.start() + _PROBE]):
                    self._begin(self._tail[match.start() :])
                    break
        if self._inflater is None:
            return None
        if not self._inflater.eof:
            raise ParseError("truncated cargo auditable data")
        return FileResult(packages=parse_audit_json(bytes(self._inflated)))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:cargo/serde@1.0.193``."""
    return purl("cargo", record.name, record.version)


def cataloger() -> GlobCataloger:
    """The Rust (cargo auditable) cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser((), scan=AuditDataScanner, magic=MAGICS)], package_url)
