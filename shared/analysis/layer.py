"""Reading one layer: decompress it as it streams, walk the tar once, hand wanted files to catalogers.

The layer blob streams from the registry response (:meth:`RegistryClient.open_blob`) through a
decompressor (:mod:`shared.analysis.compression`: gzip, zstd or none, told from the bytes) into
:class:`~shared.analysis.tarstream.TarReader`, in 1 MiB chunks. Nothing is written to disk and
nothing is held but the current chunk and entry: memory is bounded by the largest file read
(``max_file_bytes``), whatever the layer size. Entries no cataloger wants are skipped as
they stream by; a path is first checked against the catalogers' globs through a
:class:`~shared.analysis.paths.PathFilter`.

The result is cataloger-independent facts (:class:`LayerIndex`) and one :class:`LayerResult` per
cataloger run; both depend on the layer's bytes alone, so they are cached by its blob digest.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import zstandard

from shared.analysis.catalogers.base import MAX_MAGIC, Cataloger, ParseContext, Parser, Scanner
from shared.analysis.compression import READ_BUFFER, decompressed
from shared.analysis.errors import CorruptLayer, LimitExceeded
from shared.analysis.limits import Limits
from shared.analysis.model import FileResult, LayerIndex, LayerResult
from shared.analysis.paths import PathFilter, normalize_member
from shared.analysis.tarstream import DIRECTORY, SYMLINK, TarEntry, TarReader
from shared.errors import LookoutError

logger = logging.getLogger(__name__)

_MAX_PROBLEMS = 100
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class LayerScan:
    """What one pass over a layer found: its index and each cataloger's result, by cataloger name."""

    index: LayerIndex
    results: dict[str, LayerResult]


class _Walker:
    def __init__(self, catalogers: Sequence[Cataloger], limits: Limits) -> None:
        self.catalogers = list(catalogers)
        self.limits = limits
        self.context = ParseContext(limits)
        patterns = [g for c in self.catalogers for g in c.patterns]
        self.prefilter = PathFilter(patterns)
        self.magic = tuple(dict.fromkeys(m for c in self.catalogers for m in c.magic))
        self.shortest_magic = min((len(m) for m in self.magic), default=0)
        self.files: dict[str, dict[str, FileResult]] = {c.name: {} for c in self.catalogers}
        self.whiteouts: list[str] = []
        self.opaque: list[str] = []
        self.symlinks: dict[str, str] = {}
        self.problems: list[str] = []
        self.entries = 0

    def note(self, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(message)

    def walk(self, archive: TarReader) -> None:
        while True:
            member = archive.next()
            if member is None:
                return
            self.entries += 1
            if self.entries > self.limits.max_entries_per_layer:
                raise LimitExceeded(f"the layer has more than {self.limits.max_entries_per_layer} entries")
            self.entry(archive, member)

    def entry(self, archive: TarReader, member: TarEntry) -> None:
        path = normalize_member(member.name)
        if path is None:
            self.note(f"unsafe path {member.name[:200]!r} skipped")
            return
        kind = member.type
        if kind == DIRECTORY or path == "/":
            return
        cut = path.rfind("/")
        name = path[cut + 1 :]
        if name.startswith(_WHITEOUT):
            directory = path[:cut]  # "" for an entry at the root
            if name == _OPAQUE:
                self.opaque.append(directory or "/")
            elif not name.startswith(_WHITEOUT + _WHITEOUT):
                self.whiteouts.append(directory + "/" + name[len(_WHITEOUT) :])
            return
        if kind == SYMLINK:
            if len(self.symlinks) >= self.limits.max_symlinks_per_layer:
                raise LimitExceeded(f"the layer has more than {self.limits.max_symlinks_per_layer} symbolic links")
            self.symlinks[path] = member.linkname
        head = b""
        if self.magic and member.size >= self.shortest_magic and member.isfile():
            head = archive.peek(MAX_MAGIC)  # from the buffer: the content itself is not read
            if not head.startswith(self.magic):
                head = b""
        if not head and not self.prefilter.matches(path):
            return
        wanted: list[tuple[Cataloger, Parser]] = []
        for cataloger in self.catalogers:
            parser = cataloger.parser_for(path, head=head)
            if parser is not None:
                wanted.append((cataloger, parser))
        if not wanted:
            return
        if member.issym() or member.islnk() or not member.isfile():
            self.link(path, member, wanted)
            return
        self.regular(archive, path, member, wanted)

    def link(self, path: str, member: TarEntry, wanted: list[tuple[Cataloger, Parser]]) -> None:
        for cataloger, parser in wanted:
            if parser.magic:
                continue
            files = self.files[cataloger.name]
            if member.issym():
                files[path] = FileResult(link=member.linkname)
            elif member.islnk():
                target = normalize_member(member.linkname)
                found = files.get(target) if target is not None else None
                files[path] = found if found is not None else FileResult(
                    problems=(f"hard link to {member.linkname[:200]!r}, which was not read",)
                )
            else:
                files[path] = FileResult()

    def regular(self, archive: TarReader, path: str, member: TarEntry, wanted: list[tuple[Cataloger, Parser]]) -> None:
        stream = archive.content()
        parsers = [(c, p) for c, p in wanted if p.parse is not None]
        scanners = [(c, self.start(p, path, member.size)) for c, p in wanted if p.scan is not None]
        data: bytes | None = None
        if parsers and member.size <= self.limits.max_file_bytes:
            data = stream.read()
        problems: dict[str, str] = {}
        active = [(c, s) for c, s in scanners if s is not None]
        source = io.BytesIO(data) if data is not None else stream
        chunk = source.read(READ_BUFFER) if active else b""  # the first chunk whole (scanners look at the file's start)
        while active:
            still: list[tuple[Cataloger, Scanner]] = []
            for cataloger, scanner in active:
                try:
                    if chunk and scanner.feed(chunk):
                        still.append((cataloger, scanner))
                except LimitExceeded:
                    raise
                except Exception as error:  # recorded at the file's location, like a parse failure
                    problems[cataloger.name] = _describe(error)
            active = still if chunk else []
            if active:
                chunk = source.read1(READ_BUFFER)  # the chunks as they come, not joined
        for cataloger, parser in parsers:
            result = self.parse(parser, path, member.size, data)
            if result is not None:
                self.files[cataloger.name][path] = result
        for cataloger, started in scanners:
            if cataloger.name in problems:
                self.files[cataloger.name][path] = FileResult(problems=(problems[cataloger.name],))
            elif started is not None:
                result = self.guarded(started.finish)
                if result is not None:
                    self.files[cataloger.name][path] = result

    def start(self, parser: Parser, path: str, size: int) -> Scanner | None:
        if parser.scan is None:
            return None
        return parser.scan(path, size, self.context)

    def parse(self, parser: Parser, path: str, size: int, data: bytes | None) -> FileResult | None:
        if parser.parse is None:
            return None
        if data is None:
            return FileResult(problems=(f"not read: {size} bytes is over the {self.limits.max_file_bytes} bytes limit",))
        function = parser.parse
        return self.guarded(lambda: function(path, data, self.context))

    @staticmethod
    def guarded(call: Callable[[], FileResult | None]) -> FileResult | None:
        try:
            return call()
        except LimitExceeded:
            raise
        except Exception as error:  # one unreadable file must not stop the analysis; it is recorded where it is
            logger.debug("parsing failed", exc_info=True)
            return FileResult(problems=(_describe(error),))


def _describe(error: Exception) -> str:
    if isinstance(error, LookoutError):
        return error.message[:500]
    return f"{type(error).__name__}: {error}"[:500]


def scan_layer(
    blob: io.RawIOBase,
    catalogers: Sequence[Cataloger],
    limits: Limits,
    *,
    finish: Callable[[], None] | None = None,
) -> LayerScan:
    """Walk one layer blob (compressed or not, read sequentially) once and run ``catalogers`` on it.

    ``finish`` is called after the tar's end-of-archive marker to consume and verify the rest of
    the blob (:meth:`BlobReader.finish`). Raises :class:`CorruptLayer` when the bytes are not a tar
    archive, :class:`LimitExceeded` when a layer limit breaks; registry errors pass through. Bytes
    that do not read as a tar archive are first verified through ``finish``: bytes damaged on the
    way raise the registry's :class:`~shared.registry.errors.DigestMismatch` (or the download's
    error), so only a blob that is what the registry stores is reported as corrupt.
    """
    walker = _Walker(catalogers, limits)
    stream, compression = decompressed(blob, limits.max_layer_bytes)
    archive = TarReader(stream, chunk_size=READ_BUFFER, max_header_bytes=limits.max_file_bytes)
    unreadable: CorruptLayer | None = None
    try:
        walker.walk(archive)
        if not archive.started and compression != "none":
            raise CorruptLayer(f"the layer ({compression}) decompresses to nothing")
        # An empty plain blob is a layer with no entries.
        while stream.read(READ_BUFFER):  # the padding after the end-of-archive marker
            pass
    except CorruptLayer as error:
        unreadable = CorruptLayer(f"the layer ({compression}) is not a readable tar archive: {error.message}")
    except (EOFError, zlib.error, zstandard.ZstdError) as error:
        unreadable = CorruptLayer(f"the layer ({compression}) is not a readable tar archive: {error}")
    if finish is not None:
        finish()
    if unreadable is not None:
        raise unreadable
    index = LayerIndex(
        whiteouts=tuple(walker.whiteouts),
        opaque=tuple(walker.opaque),
        symlinks=walker.symlinks,
        entries=walker.entries,
        size=stream.count,
        problems=tuple(walker.problems),
    )
    return LayerScan(index, {c.name: LayerResult(walker.files[c.name], c.fingerprint) for c in walker.catalogers})
