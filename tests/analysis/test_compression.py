"""Layer decompression: the gzip reader agrees with gzip itself, checks what gzip checks, and bounds every read."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from shared.analysis.compression import GzipReader, decompressed
from shared.analysis.errors import CorruptLayer, LimitExceeded


def _read_all(reader: GzipReader, size: int) -> bytes:
    parts = []
    while chunk := reader.read(size):
        assert len(chunk) <= size
        parts.append(chunk)
    assert reader.read(size) == b""  # the end stays the end
    return b"".join(parts)


# Compressible and incompressible parts, so members span several input blocks either way.
CONTENT = (b"usr/lib/python3/dist-packages/" * 40_000) + os.urandom(300_000) + bytes(500_000)


@pytest.mark.parametrize(
    ("input_block", "size"),
    [(1, 1000), (7, 1024 * 1024), (4096, 1), (4096, 1000), (256 * 1024, 7), (256 * 1024, 1024 * 1024)],
)
def test_the_reader_returns_what_gzip_decompresses(input_block: int, size: int) -> None:
    blob = gzip.compress(CONTENT, compresslevel=1)
    reader = GzipReader(io.BytesIO(blob), read_size=input_block)
    assert _read_all(reader, size) == CONTENT


def test_members_and_nul_padding_between_and_after_them_are_read_like_gzip_does() -> None:
    half = len(CONTENT) // 2
    blob = gzip.compress(CONTENT[:half]) + bytes(1000) + gzip.compress(CONTENT[half:]) + gzip.compress(b"") + bytes(3)
    assert gzip.decompress(blob) == CONTENT
    assert _read_all(GzipReader(io.BytesIO(blob), read_size=4096), 65536) == CONTENT


def test_an_empty_stream_is_empty() -> None:
    assert GzipReader(io.BytesIO(b"")).read(10) == b""


@pytest.mark.parametrize("cut", [5, 100, -9, -1])
def test_a_stream_ending_inside_a_member_is_corrupt(cut: int) -> None:
    blob = gzip.compress(CONTENT)
    with pytest.raises(CorruptLayer, match="ends inside a member"):
        _read_all(GzipReader(io.BytesIO(blob[:cut]), read_size=4096), 65536)


def test_a_wrong_crc_or_length_fails_like_gzip() -> None:
    blob = bytearray(gzip.compress(b"hello world" * 100))
    for offset in (-8, -1):  # the CRC-32, then the length
        broken = bytearray(blob)
        broken[offset] ^= 0xFF
        with pytest.raises(gzip.BadGzipFile):
            gzip.decompress(bytes(broken))
        with pytest.raises(zlib.error):
            _read_all(GzipReader(io.BytesIO(bytes(broken))), 65536)


def test_bytes_after_a_member_that_are_not_gzip_fail_like_gzip() -> None:
    blob = gzip.compress(b"hello") + b"trailing garbage"
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(blob)
    with pytest.raises(zlib.error):
        _read_all(GzipReader(io.BytesIO(blob)), 65536)


def test_a_bomb_is_stopped_at_the_limit_without_inflating_it_whole() -> None:
    bomb = gzip.compress(bytes(200 * 1024 * 1024), compresslevel=9)  # 200 MiB of zeros in ~200 KB
    stream, compression = decompressed(io.BytesIO(bomb), 10 * 1024 * 1024)  # type: ignore[arg-type]
    assert compression == "gzip"
    with pytest.raises(LimitExceeded, match="decompresses to more than"):
        while chunk := stream.read(1024 * 1024):
            assert len(chunk) <= 1024 * 1024
    assert stream.count <= 11 * 1024 * 1024
