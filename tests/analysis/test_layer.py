"""Reading one layer: compression told by the bytes, one streaming pass, limits, unsafe paths, links."""

from __future__ import annotations

import gzip
import io

import pytest
import zstandard

from shared.analysis import CorruptLayer, LimitExceeded, Limits, default_catalogers, scan_layer
from shared.analysis.catalogers import python
from shared.analysis.compression import detect_compression
from testkit.images import build_tar, directory, hardlink, opaque, symlink, whiteout
from tests.analysis.helpers import LayerEntries, scan, tree

PYTHON = tree("python")


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_every_compression_is_read(compression: str) -> None:
    result = scan(PYTHON, compression=compression)  # type: ignore[arg-type]
    assert len(result.results["python"].files) == 3
    assert result.index.size == len(build_tar(PYTHON))


def test_compression_is_told_from_the_bytes() -> None:
    tar = build_tar(PYTHON)
    assert detect_compression(gzip.compress(tar)) == "gzip"
    assert detect_compression(zstandard.ZstdCompressor().compress(tar)) == "zstd"
    assert detect_compression(tar) == "none"


def test_multi_frame_zstd_and_multi_member_gzip() -> None:
    tar = build_tar(PYTHON)
    half = len(tar) // 2
    frames = zstandard.ZstdCompressor().compress(tar[:half]) + zstandard.ZstdCompressor().compress(tar[half:])
    members = gzip.compress(tar[:half]) + gzip.compress(tar[half:])
    for blob in (frames, members):
        result = scan_layer(io.BytesIO(blob), [python.cataloger()], Limits())  # type: ignore[arg-type]
        assert len(result.results["python"].files) == 3


def test_an_empty_blob_is_an_empty_layer() -> None:
    result = scan_layer(io.BytesIO(b""), default_catalogers(), Limits())  # type: ignore[arg-type]
    assert result.index.entries == 0


@pytest.mark.parametrize(
    "blob",
    [
        b"this is not a tar archive at all" * 40,
        gzip.compress(b"garbage" * 200),
        b"\x1f\x8b\x08\x00garbage",
        b"\x28\xb5\x2f\xfdxx",
    ],
)
def test_corrupt_layers_are_permanent_failures(blob: bytes) -> None:
    with pytest.raises(CorruptLayer) as caught:
        scan_layer(io.BytesIO(blob), default_catalogers(), Limits())  # type: ignore[arg-type]
    assert caught.value.temporary is False


def test_truncated_layer_is_corrupt() -> None:
    blob = gzip.compress(build_tar(PYTHON))
    with pytest.raises(CorruptLayer):
        scan_layer(io.BytesIO(blob[: len(blob) // 2]), default_catalogers(), Limits())  # type: ignore[arg-type]


def test_whiteouts_opaque_directories_and_symlinks_are_indexed() -> None:
    entries: LayerEntries = dict(
        [
            whiteout("/usr/lib/python3/dist-packages/old-1.0.dist-info"),
            whiteout("/top-level"),
            opaque("/opt/app"),
            ("/etc/os-release", symlink("../usr/lib/os-release")),
            ("/usr/lib/dir", directory()),
            ("/.wh..wh.plnk", b""),
        ]
    )
    index = scan(entries).index
    assert sorted(index.whiteouts) == ["/top-level", "/usr/lib/python3/dist-packages/old-1.0.dist-info"]
    assert index.opaque == ("/opt/app",)
    assert dict(index.symlinks) == {"/etc/os-release": "../usr/lib/os-release"}
    assert index.entries == 6


def test_unsafe_member_names_never_escape() -> None:
    tar = build_tar({"../../usr/lib/python3/x-1.dist-info/METADATA": b"Name: x\nVersion: 1\n", "ok": b""})
    result = scan(tar)
    assert result.results["python"].files == {}
    assert len(result.index.problems) == 1 and "unsafe path" in result.index.problems[0]


def test_hard_links_to_a_read_file_share_its_result() -> None:
    metadata = "/usr/lib/python3/dist-packages/x-1.dist-info/METADATA"
    entries: LayerEntries = {
        metadata: b"Name: x\nVersion: 1\n",
        "/usr/lib/python3/dist-packages/y-1.dist-info/METADATA": hardlink(metadata),
    }
    files = scan(entries).results["python"].files
    assert [p.name for r in files.values() for p in r.packages] == ["x", "x"]


def test_hard_links_to_an_unread_file_are_problems() -> None:
    entries: LayerEntries = {
        "/data/blob": b"Name: x\nVersion: 1\n",
        "/usr/lib/python3/dist-packages/y-1.dist-info/METADATA": hardlink("/data/blob"),
    }
    files = scan(entries).results["python"].files
    assert "was not read" in files["/usr/lib/python3/dist-packages/y-1.dist-info/METADATA"].problems[0]


def test_a_file_over_the_size_cap_is_a_problem_not_a_failure() -> None:
    big = b"Name: big\nVersion: 1\n" + b"x" * 200_000
    result = scan({"/a/big-1.dist-info/METADATA": big, **PYTHON}, limits=Limits(max_file_bytes=100_000))
    files = result.results["python"].files
    assert "over the 100000 bytes limit" in files["/a/big-1.dist-info/METADATA"].problems[0]
    assert len([f for f in files.values() if f.packages]) == 3


def test_too_many_entries_stops_the_layer() -> None:
    entries = {f"/files/{i}": b"" for i in range(50)}
    with pytest.raises(LimitExceeded, match="more than 10 entries") as caught:
        scan(entries, limits=Limits(max_entries_per_layer=10))
    assert caught.value.temporary is False and caught.value.code == "limit-exceeded"


def test_a_decompression_bomb_stops_at_the_layer_size_limit() -> None:
    entries = {"/zeros": b"\x00" * 2_000_000}
    with pytest.raises(LimitExceeded, match="decompresses to more than"):
        scan(entries, compression="gzip", limits=Limits(max_layer_bytes=1_000_000))


def test_too_many_symlinks_stops_the_layer() -> None:
    entries = {f"/links/{i}": symlink("/target") for i in range(20)}
    with pytest.raises(LimitExceeded, match="symbolic links"):
        scan(entries, limits=Limits(max_symlinks_per_layer=5))


def _peak(entries: int) -> int:
    import tracemalloc

    layer = build_tar({f"/many/{i:05d}/file-with-a-long-name-{i}.txt": b"" for i in range(entries)})
    tracemalloc.start()
    try:
        result = scan(layer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.index.entries == entries
    return peak


def test_memory_does_not_grow_with_the_number_of_entries() -> None:
    """Stream mode must not keep every tar header: ten times the entries, about the same peak."""
    assert _peak(4000) - _peak(400) < 512 * 1024
