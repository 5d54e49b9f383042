"""A streaming tar reader: one pass over a non-seekable stream, headers parsed, contents skipped or read.

Reads ustar, GNU and PAX archives: long names and link names from GNU ``L``/``K`` entries and PAX
``path``/``linkpath`` records, sizes from PAX ``size`` records and GNU base-256 fields, PAX global
records applied to every later entry. Every header's checksum is verified. Names are returned as
stored (decoded as UTF-8, undecodable bytes kept as surrogates): no normalization, whiteout names
untouched.

The source is read in large chunks (``chunk_size``). An entry's content is available only until
the next call to :meth:`TarReader.next`, through :meth:`TarReader.content`, a reader that never
returns more than the entry's size; whatever is not read is skipped, by reading and discarding.
Memory is bounded by one chunk plus the largest extended header (``max_header_bytes``).

Errors: :class:`CorruptLayer` for a bad header (checksum, number field, PAX record), an archive
ending inside a header or an entry; :class:`LimitExceeded` for an extended header over
``max_header_bytes``. The archive ends at the first all-zero block (the end-of-archive marker) or,
leniently, when the source ends exactly between two entries. Bytes after the marker are not read.

GNU sparse files (type ``S``) are not expanded: they are reported with type ``S`` (neither a
regular file nor a link) and their stored data is skipped.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple, Protocol

from shared.analysis.errors import CorruptLayer, LimitExceeded

BLOCK = 512
DEFAULT_CHUNK = 1024 * 1024

REGULAR = b"0"
REGULAR_OLD = b"\x00"
HARD_LINK = b"1"
SYMLINK = b"2"
CHARACTER_DEVICE = b"3"
BLOCK_DEVICE = b"4"
DIRECTORY = b"5"
FIFO = b"6"
CONTIGUOUS = b"7"
GNU_SPARSE = b"S"

_REGULAR_TYPES = frozenset((REGULAR, REGULAR_OLD, CONTIGUOUS))
_NO_DATA = frozenset((HARD_LINK, SYMLINK, CHARACTER_DEVICE, BLOCK_DEVICE, DIRECTORY, FIFO))
_PAX_LOCAL = frozenset((b"x", b"X"))  # ``X``: the Solaris spelling of a PAX extended header
_PAX_GLOBAL = b"g"
_GNU_LONG_NAME = b"L"
_GNU_LONG_LINK = b"K"
_EXTENDED = frozenset((*_PAX_LOCAL, _PAX_GLOBAL, _GNU_LONG_NAME, _GNU_LONG_LINK))
_GNU_MAGIC = b"ustar  \x00"
_ZERO_BLOCK = bytes(BLOCK)
_SPACES = 8 * 0x20  # the checksum field counted as spaces


class Source(Protocol):
    """A byte stream read front to back; ``b""`` means its end."""

    def read(self, size: int = -1, /) -> bytes: ...


class TarEntry(NamedTuple):
    """One archive member: its name and link target as stored, type flag, size in bytes and mode bits.

    A named tuple rather than a frozen dataclass: one is made per archive member, and a tuple is
    built in a third of the time.
    """

    name: str
    type: bytes
    size: int
    mode: int
    linkname: str

    def isfile(self) -> bool:
        """A regular file (types ``0``, NUL and ``7``), whose content follows the header."""
        return self.type in _REGULAR_TYPES

    def isdir(self) -> bool:
        """A directory (type ``5``, or an old-style regular entry whose name ends with ``/``)."""
        return self.type == DIRECTORY

    def issym(self) -> bool:
        """A symbolic link to :attr:`linkname`."""
        return self.type == SYMLINK

    def islnk(self) -> bool:
        """A hard link to the earlier member named :attr:`linkname`."""
        return self.type == HARD_LINK

    @property
    def has_data(self) -> bool:
        """Whether content blocks follow the header (every type but links, devices, directories, FIFOs)."""
        return self.type not in _NO_DATA


def _decode(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes) -> int:
    """A numeric header field: octal text (up to the first NUL, spaces around), or GNU base-256 (high bit set)."""
    try:
        # The common case at C speed: digits, then NULs or spaces. Anything else (a NUL before
        # other bytes, base-256, an empty field) fails here and is read below.
        return int(field.rstrip(b"\x00 "), 8)
    except ValueError:
        pass
    if field[0] == 0x80:
        return int.from_bytes(field[1:], "big")
    if field[0] == 0xFF:
        raise CorruptLayer("the tar archive has a negative number in a header")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise CorruptLayer(f"the tar archive has an invalid number {text[:20]!r} in a header") from None


def _checksum_matches(header: bytes) -> bool:
    """Whether the header's checksum field is the sum of its bytes, the field itself counted as spaces.

    The unsigned sum is computed at C speed: ``zlib.adler32`` of a block holds one plus its byte
    sum modulo 65521 in its low 16 bits, and the sum of 256 bytes (at most 65280) is below that
    modulus, so the two halves of the header give the exact sum. The sum some old writers made of
    signed chars is tried only when that fails.
    """
    stored = header[148:156]
    expected = _number(stored)
    field = sum(stored)
    total = (zlib.adler32(header[:256]) & 0xFFFF) + (zlib.adler32(header[256:]) & 0xFFFF) - 2
    unsigned = total - field + _SPACES
    if expected == unsigned:
        return True
    signed = unsigned - 256 * sum(1 for b in header[:148] + header[156:] if b >= 0x80)
    return expected == signed


def pax_records(data: bytes) -> dict[str, str]:
    """The ``key=value`` records of a PAX extended header (``"<length> <key>=<value>\\n"`` each)."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data) and data[position] != 0:
        space = data.find(b" ", position)
        if space < 0:
            raise CorruptLayer("the tar archive has a malformed PAX record")
        try:
            length = int(data[position:space])
        except ValueError:
            raise CorruptLayer("the tar archive has a malformed PAX record length") from None
        end = position + length
        if length <= space - position + 1 or end > len(data) or data[end - 1] != 0x0A:
            raise CorruptLayer("the tar archive has a PAX record of the wrong length")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals:
            raise CorruptLayer("the tar archive has a PAX record without a value")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        position = end
    return records


def _pax_size(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise CorruptLayer(f"the tar archive has an invalid PAX size {value[:20]!r}")
    return int(value)


class TarReader:
    """The entries of a tar archive read from ``source`` in one pass (see the module documentation)."""

    def __init__(self, source: Source, *, chunk_size: int = DEFAULT_CHUNK, max_header_bytes: int = DEFAULT_CHUNK) -> None:
        self._source = source
        self._chunk_size = chunk_size
        self._max_header_bytes = max_header_bytes
        self._buffer = b""
        self._position = 0
        self._remaining = 0  # content bytes of the current entry not yet consumed
        self._padding = 0  # bytes after the content up to the next block boundary
        self._global: dict[str, str] = {}
        self._done = False
        self._entries = 0
        self.started = False
        """Whether any byte of the archive was found (an empty source is an empty archive)."""

    @property
    def entries(self) -> int:
        """How many entries :meth:`next` has returned."""
        return self._entries

    def _fill(self) -> bool:
        """Replace the (fully consumed) buffer with the source's next chunk; ``False`` at its end.

        Chunks are never concatenated: what spans two chunks is joined by the reader that needs it.
        """
        self._buffer = b""  # released before the next chunk is allocated
        self._position = 0
        data = self._source.read(self._chunk_size)
        self._buffer = data
        if not data:
            return False
        self.started = True
        return True

    def _available(self) -> int:
        return len(self._buffer) - self._position

    def _take(self, count: int, what: str) -> bytes:
        """Exactly ``count`` bytes (``count`` at most ``max_header_bytes`` plus a block)."""
        start = self._position
        if len(self._buffer) - start >= count:
            self._position = start + count
            return self._buffer[start : start + count]
        parts: list[bytes] = []
        needed = count
        while needed > 0:
            if self._available() == 0 and not self._fill():
                raise CorruptLayer(f"the tar archive ends inside {what}")
            take = min(needed, self._available())
            parts.append(self._buffer[self._position : self._position + take])
            self._position += take
            needed -= take
        return b"".join(parts)

    def _skip(self, count: int, what: str) -> None:
        while count > 0:
            available = self._available()
            if count <= available:
                self._position += count
                return
            count -= available
            self._buffer = b""
            self._position = 0
            if not self._fill():
                raise CorruptLayer(f"the tar archive ends inside {what}")

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes of the current entry's content (all that is left when negative).

        Fewer bytes only at the content's end; ``b""`` once it is all read.
        """
        if size < 0 or size > self._remaining:
            size = self._remaining
        parts: list[bytes] = []
        while size > 0:
            if self._available() == 0 and not self._fill():
                raise CorruptLayer("the tar archive ends inside an entry's content")
            take = min(size, self._available())
            parts.append(self._buffer[self._position : self._position + take])
            self._position += take
            self._remaining -= take
            size -= take
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def peek(self, size: int, /) -> bytes:
        """The next ``size`` bytes of the current entry's content (fewer when it is shorter), not consumed.

        For a few bytes (a file's magic number): when they straddle two chunks, the rest of the
        current chunk is joined to the next one, the one place where chunks are joined.
        """
        wanted = min(size, self._remaining)
        if self._available() < wanted:
            rest = self._buffer[self._position :]
            if not self._fill():
                raise CorruptLayer("the tar archive ends inside an entry's content")
            self._buffer = rest + self._buffer
            if len(self._buffer) < wanted:
                raise CorruptLayer("the tar archive ends inside an entry's content")
        start = self._position
        return self._buffer[start : start + wanted]

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes of the current entry's content (all buffered when negative), without joining chunks.

        Returns what the current chunk holds of the content (reading the next chunk only when none
        is left), so it may return fewer bytes than asked before the end; ``b""`` once it is all
        read. A chunk consumed whole is returned as it is, not copied.
        """
        if self._remaining == 0:
            return b""
        if self._available() == 0 and not self._fill():
            raise CorruptLayer("the tar archive ends inside an entry's content")
        take = min(self._remaining, self._available())
        if 0 <= size < take:
            take = size
        start = self._position
        self._position = start + take
        self._remaining -= take
        if start == 0 and take == len(self._buffer):
            return self._buffer
        return self._buffer[start : start + take]

    def _header(self) -> bytes | None:
        """The next 512-byte header block, or ``None`` at the end of the source between entries."""
        if self._available() == 0 and not self._fill():
            return None
        return self._take(BLOCK, "a header")

    def _extended(self, size: int, what: str) -> bytes:
        if size > self._max_header_bytes:
            raise LimitExceeded(f"a tar {what} of {size} bytes is over the {self._max_header_bytes} bytes limit")
        padded = -(-size // BLOCK) * BLOCK
        return self._take(padded, what)[:size]

    def next(self) -> TarEntry | None:
        """The next entry (the previous one's unread content is skipped), or ``None`` at the end."""
        if self._done:
            return None
        if self._remaining or self._padding:
            self._skip(self._remaining + self._padding, "an entry's content")
            self._remaining = self._padding = 0
        local: dict[str, str] | None = None
        while True:
            position = self._position
            if len(self._buffer) - position >= BLOCK:  # the common case, inline
                self._position = position + BLOCK
                header: bytes | None = self._buffer[position : position + BLOCK]
            else:
                header = self._header()
            if header is None or header == _ZERO_BLOCK:
                self._done = True
                self._buffer = b""  # what follows the end-of-archive marker is not read
                self._position = 0
                return None
            if not _checksum_matches(header):
                raise CorruptLayer("the tar archive has a header with a bad checksum")
            flag = header[156:157]
            size = _number(header[124:136])
            if flag in _EXTENDED:
                local = self._extension(flag, size, local)
                continue
            self._entries += 1
            return self._entry(header, flag, size, local)

    def _extension(self, flag: bytes, size: int, local: dict[str, str] | None) -> dict[str, str] | None:
        """Read a PAX or GNU extended header; the records for the next entry so far."""
        if flag in (_GNU_LONG_NAME, _GNU_LONG_LINK):
            key = "path" if flag == _GNU_LONG_NAME else "linkpath"
            value = _decode(self._extended(size, "long name" if key == "path" else "long link name"))
            return {**(local or {}), key: value}
        records = pax_records(self._extended(size, "PAX header"))
        if flag == _PAX_GLOBAL:
            self._global = {k: v for k, v in {**self._global, **records}.items() if v}
            return local
        return {**local, **records} if local else records

    def _entry(self, header: bytes, flag: bytes, size: int, local: dict[str, str] | None) -> TarEntry:
        if flag == GNU_SPARSE:
            self._skip_sparse_extensions(header)
        if self._global or local:
            # An empty value unsets a key.
            records = {k: v for k, v in {**self._global, **(local or {})}.items() if v}
            name = records.get("path") or self._header_name(header, flag)
            linkname = records.get("linkpath") or (_decode(header[157:257]) if header[157] else "")
            if "size" in records:
                size = _pax_size(records["size"])
        else:
            name = self._header_name(header, flag)
            linkname = _decode(header[157:257]) if header[157] else ""
        if flag == REGULAR_OLD and header[0:100].split(b"\x00", 1)[0].endswith(b"/"):
            flag = DIRECTORY  # an old-style directory: told by the header's own name, whatever a PAX path says
        if flag == DIRECTORY:
            name = name.rstrip("/")
        elif flag not in _NO_DATA:
            self._remaining = size
            self._padding = -size % BLOCK
        return TarEntry(name, flag, size, _number(header[100:108]), linkname)

    @staticmethod
    def _header_name(header: bytes, flag: bytes) -> str:
        """The name stored in the header itself: ``name``, behind the ustar ``prefix`` when there is one."""
        name = _decode(header[0:100])
        if flag != GNU_SPARSE and header[345] and header[257:265] != _GNU_MAGIC:
            prefix = _decode(header[345:500])
            if prefix:
                name = prefix + "/" + name
        return name

    def _skip_sparse_extensions(self, header: bytes) -> None:
        extended = header[482]
        while extended:
            block = self._take(BLOCK, "a sparse header")
            extended = block[504]

    def content(self) -> EntryContent:
        """A reader of the current entry's content not consumed yet; it reads nothing after :meth:`next`."""
        return EntryContent(self, self._entries)


class EntryContent:
    """The content of one tar entry, read front to back; never more than the entry's size."""

    def __init__(self, reader: TarReader, entry: int) -> None:
        self._reader = reader
        self._entry = entry

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left when ``size`` is negative); ``b""`` at the end."""
        if self._reader.entries != self._entry:
            return b""
        return self._reader.read(size)

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes, perhaps fewer before the end, without copying (see :meth:`TarReader.read1`)."""
        if self._reader.entries != self._entry:
            return b""
        return self._reader.read1(size)
