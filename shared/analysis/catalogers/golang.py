"""Go modules compiled into executables: the build information the Go linker embeds (Go 1.18 and later).

An executable (ELF, Mach-O or PE) is pushed through :class:`GoBinaryScanner` once, in chunks,
looking for the ``.go.buildinfo`` header:
the 14-byte magic ``\\xff Go buildinf:`` at a 16-byte-aligned offset, a pointer size, a flags byte
(bit 2: strings are inline), then two varint-length-prefixed strings, the Go version and the module
information. The module information is framed by 16-byte sentinels and lists ``path``, ``mod``
(main module), ``dep`` (dependencies), ``=>`` (the replacement of the line above) and ``build``
settings, tab-separated. A main module built from a checkout has the version ``(devel)``; its
version is then taken from the linker flags or the commit (:func:`main_version`), as release
builds stamp it there. Binaries of older Go versions (pointers instead of inline strings) are
recorded as unsupported. Memory is one chunk plus the build information, whatever the file size.
"""

from __future__ import annotations

import re
import struct

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, purl
from shared.analysis.catalogers.executables import MAGICS, ExecutableScanner
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "go"
VERSION = 3

MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_MAX_INFO = 4 * 1024 * 1024


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise ParseError("truncated Go build information")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _strings(data: bytes) -> tuple[str, str] | None:
    """The Go version and module information after a header at ``data[0]``; ``None`` when more bytes are needed."""
    position = _HEADER
    values: list[str] = []
    for _ in range(2):
        try:
            length, position = _varint(data, position)
        except ParseError:
            return None
        if length > _MAX_INFO:
            raise ParseError("implausible Go build information length")
        if position + length > len(data):
            return None
        values.append(data[position : position + length].decode("utf-8", "replace"))
        position += length
    return values[0], values[1]


class BuildInfoSearch:
    """Finds the build information header in a file pushed chunk by chunk (see the module docstring).

    ``found`` is ``(go version, module info)`` once complete. Each chunk is searched where it is;
    only the last few bytes of the one before are kept, to find a header that straddles two chunks.
    Holds at most that, plus the build information once found; raises :class:`ParseError` for an
    old (non-inline) header or a truncated one.
    """

    _KEEP = _HEADER + 16
    """Bytes kept from the end of a chunk: a header starting there is checked with the next one."""

    def __init__(self) -> None:
        self.found: tuple[str, str] | None = None
        self._tail = b""  # the last bytes seen, at most _KEEP
        self._tail_offset = 0  # file offset of _tail[0]
        self._header: bytes | None = None

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; ``False`` once the build information is found."""
        if self.found is not None:
            return False
        if self._header is not None:
            self._header += chunk
            return self._complete(self._header)
        if self._tail:
            seam = self._tail + chunk[: self._KEEP]
            position = self._header_in(seam, self._tail_offset, starting_before=len(self._tail))
            if position is not None:
                return self._start(seam[position:] + chunk[self._KEEP :])
        chunk_offset = self._tail_offset + len(self._tail)
        position = self._header_in(chunk, chunk_offset, starting_before=len(chunk))
        if position is not None:
            return self._start(chunk[position:])
        seen = self._tail + chunk if len(chunk) < self._KEEP else chunk
        self._tail = seen[-self._KEEP :]
        self._tail_offset = chunk_offset + len(chunk) - len(self._tail)
        return True

    def skip(self, chunk: bytes) -> None:
        """Take the next chunk unsearched (it lies before where the header can be); a header starting
        in its last bytes is still found with the next chunk."""
        if self.found is not None or self._header is not None:
            return
        chunk_offset = self._tail_offset + len(self._tail)
        seen = self._tail + chunk if len(chunk) < self._KEEP else chunk
        self._tail = seen[-self._KEEP :]
        self._tail_offset = chunk_offset + len(chunk) - len(self._tail)

    @staticmethod
    def _header_in(data: bytes, offset: int, *, starting_before: int) -> int | None:
        """Where in ``data`` (at file offset ``offset``) a whole header starts, before ``starting_before``."""
        start = 0
        while (position := data.find(MAGIC, start, starting_before + len(MAGIC) - 1)) >= 0:
            if position + _HEADER > len(data):
                return None  # checked once more bytes are there
            if (offset + position) % 16 == 0 and data[position + 14] in (4, 8):
                if not data[position + 15] & 0x2:
                    raise ParseError("Go build information of a Go release before 1.18 (not inline) is not supported")
                return position
            start = position + 1
        return None

    def _start(self, header: bytes) -> bool:
        self._header = header
        self._tail = b""
        return self._complete(header)

    def _complete(self, header: bytes) -> bool:
        self.found = _strings(header)
        if self.found is None and len(header) > _MAX_INFO:
            raise ParseError("implausible Go build information length")
        return self.found is None

    def finish(self) -> tuple[str, str] | None:
        """The build information, ``None`` when the file has none; :class:`ParseError` when it was cut short."""
        if self.found is None and self._header is not None:
            raise ParseError("truncated Go build information")
        return self.found


_DEVEL = "(devel)"
_COMMAND_LINE = "command-line-arguments"  # the main package of `go build main.go`: no name to report
_LDFLAGS_SETTING = re.compile(r"-X[= ]?['\"]?([^\s='\"]+)=([^\s'\"]+)")
_SEMVER = re.compile(r"v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?")


def main_version(settings: dict[str, str]) -> tuple[str, str] | None:
    """The main module's version when the Go toolchain recorded none (``(devel)``): ``(version, source)``.

    From the linker flags first: a ``-X <package>.version=1.2.3`` assignment (any variable whose
    name is ``version`` in any case, a semantic version as the value; ``v`` added when missing).
    Else from the version control settings, as a Go pseudo-version
    (``v0.0.0-<commit time, UTC>-<12 hex digits of the revision>``). ``None`` when neither is there.
    """
    for variable, value in _LDFLAGS_SETTING.findall(settings.get("-ldflags", "")):
        if variable.rsplit(".", 1)[-1].lower() == "version" and _SEMVER.fullmatch(value):
            return (value if value.startswith("v") else "v" + value), "ldflags"
    revision, committed = settings.get("vcs.revision", ""), settings.get("vcs.time", "")
    if re.fullmatch(r"[0-9a-f]{12,}", revision) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", committed):
        stamp = committed.replace("-", "").replace(":", "").replace("T", "").rstrip("Z")
        return f"v0.0.0-{stamp}-{revision[:12]}", "vcs"
    return None


def parse_module_info(go_version: str, info: str) -> tuple[PackageRecord, ...]:
    """The packages of a binary's module information: the main module, its dependencies, and the standard library.

    The main module is the ``mod`` line, else the main package's ``path`` when a version can be
    derived for it; a ``(devel)`` version is replaced by :func:`main_version` when it finds one.
    """
    if len(info) >= 33 and info[-17] == "\n":
        info = info[16:-16]
    settings: dict[str, str] = {}
    modules: list[list[str]] = []
    main: list[str] | None = None
    last: list[str] | None = None
    program = ""
    for line in info.splitlines():
        fields = line.split("\t")
        if fields[0] == "build" and len(fields) >= 2:
            key, _, value = fields[1].partition("=")
            settings[key] = value
        elif fields[0] == "mod" and len(fields) >= 3:
            main = last = fields[1:4]
        elif fields[0] == "dep" and len(fields) >= 3:
            last = fields[1:4]
            modules.append(last)
        elif fields[0] == "=>" and len(fields) >= 3 and last is not None:
            last[:] = fields[1:4]
        elif fields[0] == "path" and len(fields) >= 2 and fields[1] != _COMMAND_LINE:
            program = fields[1]
    common = {k: v for k, v in (("goos", settings.get("GOOS", "")), ("goarch", settings.get("GOARCH", ""))) if v}
    records: list[PackageRecord] = []
    if main is not None or program:
        name, version = (main[0], main[1]) if main is not None else (program, "")
        meta = {**common, "main": "true"}
        if version in ("", _DEVEL):
            derived = main_version(settings)
            if derived is not None:
                version, meta["version_from"] = derived
        if version:
            records.append(PackageRecord("golang", name, version, meta))
    for module in modules:
        meta = dict(common)
        if len(module) >= 3 and module[2]:
            meta["h1"] = module[2]
        records.append(PackageRecord("golang", module[0], module[1], meta))
    if go_version.startswith("go"):
        records.append(PackageRecord("golang", "stdlib", go_version.split()[0], common))
    return tuple(records)


def elf_writable_data(head: bytes) -> int:
    """Where an ELF file's writable data starts, from its program headers in ``head``; 0 when ``head`` does not tell.

    The least file offset of a loadable segment that is writable and not executable: the Go linker
    puts ``.go.buildinfo`` in the writable data (the Go toolchain's own reader looks there when a
    binary has no section table), so nothing before it needs searching. 0 (search everything)
    for a file that is not ELF, whose program headers lie beyond ``head``, or has no such segment.
    """
    if len(head) < 64 or not head.startswith(b"\x7fELF") or head[4] not in (1, 2) or head[5] not in (1, 2):
        return 0
    wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
    if wide:
        table, entry_size, count = struct.unpack_from(order + "Q14xHH", head, 0x20)
        layout, minimum = order + "IIQ", 56  # p_type, p_flags, p_offset
    else:
        table, entry_size, count = struct.unpack_from(order + "I10xHH", head, 0x1C)
        layout, minimum = order + "II", 32  # p_type, p_offset (p_flags at 24)
    if entry_size < minimum or count == 0 or table + entry_size * count > len(head):
        return 0
    offsets: list[int] = []
    for number in range(count):
        start = table + number * entry_size
        if wide:
            kind, flags, offset = struct.unpack_from(layout, head, start)
        else:
            kind, offset = struct.unpack_from(layout, head, start)
            (flags,) = struct.unpack_from(order + "I", head, start + 24)
        if kind == _PT_LOAD and flags & (_PF_X | _PF_W) == _PF_W:
            offsets.append(offset)
    return min(offsets, default=0)


_PT_LOAD = 1
_PF_X, _PF_W = 1, 2


class GoBinaryScanner(ExecutableScanner):
    """The :class:`~shared.analysis.catalogers.base.Scanner` of one executable: its Go modules, or ``None``.

    In an ELF file only the chunks from the writable data on (:func:`elf_writable_data`) are
    searched; the chunks before it stream by unsearched.
    """

    def __init__(self, path: str, size: int, context: ParseContext) -> None:
        super().__init__()
        self._search = BuildInfoSearch()
        self._data: int | None = None  # file offset of the writable data, once the first chunk told
        self._offset = 0

    def _feed(self, chunk: bytes) -> bool:
        if self._data is None:
            self._data = elf_writable_data(chunk)
        self._offset += len(chunk)
        if self._offset <= self._data:
            self._search.skip(chunk)
            return True
        return self._search.feed(chunk)

    def _finish(self) -> FileResult | None:
        found = self._search.finish()
        if found is None:
            return None
        return FileResult(packages=parse_module_info(*found))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:golang/golang.org/x/text@v0.14.0``; the standard library is ``pkg:golang/stdlib@go1.21.5``."""
    namespace, _, name = record.name.rpartition("/")
    return purl("golang", name, record.version, namespace=namespace or None)


def cataloger() -> GlobCataloger:
    """The Go binary cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser((), scan=GoBinaryScanner, magic=MAGICS)], package_url)
