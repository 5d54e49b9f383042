"""Layer blobs as uncompressed tar streams: gzip, zstd or none, told apart by their first bytes.

A blob is read front to back once (it streams from the registry). :func:`decompressed` wraps it in
the matching decompressor and counts what comes out against the layer size limit, so a
decompression bomb stops at the limit instead of filling memory. Every read returns at most the
size asked for: memory is one input block plus one output chunk, whatever the layer.

Gzip is inflated by :class:`GzipReader` in large blocks straight through ``isal``'s zlib-compatible
inflater (Intel's ISA-L: a layer inflates about 2.5 times as fast as with :mod:`zlib`; like zlib it
checks each member's header, CRC-32 and length itself), rather than through :class:`gzip.GzipFile`,
whose small reads and separate CRC pass cost more. Zstd uses ``zstandard``'s stream reader, across
frames.
"""

from __future__ import annotations

import io
import zlib
from typing import Any, cast

import zstandard
from isal import isal_zlib

from shared.analysis.errors import CorruptLayer, LimitExceeded
from shared.analysis.tarstream import Source

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_BUFFER = 1024 * 1024
GZIP_INPUT_BLOCK = 256 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip wrapper, its trailer checked
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)  # not a zlib.error: raised again as one


def detect_compression(head: bytes) -> str:
    """``"gzip"``, ``"zstd"`` or ``"none"`` from the first bytes of a layer blob."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class GzipReader:
    """The uncompressed bytes of a gzip stream: every member in turn, NUL padding between and after them skipped.

    That is what ``gzip -d`` and :class:`gzip.GzipFile` read. ``read(size)`` returns at most
    ``size`` bytes (``output_block`` when ``size`` is not positive), ``b""`` only at the end of the
    stream; it holds at most ``read_size`` compressed and ``output_block`` (or ``size``) inflated
    bytes. Raises :class:`CorruptLayer` when the stream ends inside a member, and
    :class:`zlib.error` for bytes that are not gzip or fail its checks (header, CRC-32, length).
    """

    def __init__(self, source: Source, *, read_size: int = GZIP_INPUT_BLOCK, output_block: int = READ_BUFFER) -> None:
        self._source = source
        self._read_size = read_size
        self._output_block = output_block
        self._inflater = isal_zlib.decompressobj(_GZIP_WBITS)
        self._input = b""  # compressed bytes read from the source and not yet inflated
        self._output = b""  # inflated bytes not yet returned, from self._offset on
        self._offset = 0
        self._in_member = False
        self._ended = False

    def read(self, size: int = -1, /) -> bytes:
        limit = size if size > 0 else self._output_block
        if self._offset >= len(self._output):
            self._output, self._offset = self._inflate(max(limit, self._output_block)), 0
        if self._offset == 0 and len(self._output) <= limit:
            data, self._output = self._output, b""
            return data
        data = self._output[self._offset : self._offset + limit]
        self._offset += len(data)
        return data

    def _inflate(self, most: int) -> bytes:
        """The next inflated bytes (at most ``most``), ``b""`` at the end of the stream."""
        while not self._ended:
            if not self._input:
                self._input = self._source.read(self._read_size)
                if not self._input:
                    if self._in_member:
                        raise CorruptLayer("the gzip stream ends inside a member")
                    self._ended = True
                    break
            if not self._in_member:
                self._input = self._input.lstrip(b"\x00")
                if not self._input:
                    continue
                self._in_member = True
            try:
                data = self._inflater.decompress(self._input, most)
            except _INFLATE_ERROR as exc:
                raise zlib.error(str(exc)) from None
            if self._inflater.eof:
                self._input = self._inflater.unused_data
                self._inflater = isal_zlib.decompressobj(_GZIP_WBITS)
                self._in_member = False
            else:
                self._input = self._inflater.unconsumed_tail
            if data:
                return data
        return b""


class CountedStream(io.RawIOBase):
    """A decompressed stream, counted against ``limit`` bytes; :class:`LimitExceeded` past it."""

    def __init__(self, source: Source, limit: int) -> None:
        super().__init__()
        self._source = source
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes straight from the decompressor (no intermediate copy); 1 MiB when ``size`` is negative."""
        if size == 0:
            return b""
        data: bytes = self._source.read(size if size > 0 else READ_BUFFER)
        self.count += len(data)
        if self.count > self._limit:
            raise LimitExceeded(f"the layer decompresses to more than {self._limit} bytes")
        return data


def decompressed(blob: io.RawIOBase, limit: int) -> tuple[CountedStream, str]:
    """The uncompressed tar stream of a layer blob (read sequentially), and the compression found.

    ``limit`` caps the uncompressed bytes. Corrupt compressed data surfaces on reading, as
    :class:`CorruptLayer`, :class:`zlib.error`, :class:`zstandard.ZstdError` or :class:`EOFError`.
    """
    buffered = io.BufferedReader(blob, READ_BUFFER)
    compression = detect_compression(buffered.peek(4)[:4])
    source: Source
    if compression == "gzip":
        source = GzipReader(buffered)
    elif compression == "zstd":
        source = zstandard.ZstdDecompressor().stream_reader(buffered, read_size=READ_BUFFER, read_across_frames=True)
    else:
        source = buffered
    return CountedStream(source, limit), compression
