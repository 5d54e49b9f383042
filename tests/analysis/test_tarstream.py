"""The streaming tar reader against archives written by :mod:`tarfile` in every format."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from shared.analysis import CorruptLayer, LimitExceeded
from shared.analysis.tarstream import BLOCK, TarEntry, TarReader

LONG_DIRECTORY = "usr/lib/" + "/".join(f"directory-{i:02d}" for i in range(30))
LONG_NAME = LONG_DIRECTORY + "/a-very-long-file-name-1.0.dist-info/METADATA"
PREFIXED_NAME = "usr/lib/" + "/".join(f"d{i:02d}" for i in range(30)) + "/file.txt"  # > 100, fits ustar's prefix
LONG_LINK = "../" * 60 + "usr/share/target"
CONTENT = b"Name: x\nVersion: 1\n" * 100
LARGE = bytes(range(256)) * 4096  # 1 MiB


class Trickle(io.RawIOBase):
    """A stream answering at most ``most`` bytes per read, as a decompressor may."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self._most = most

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(size, self._most) if size >= 0 else self._most)


def _add(archive: tarfile.TarFile, name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = kind, link, 0o755 if kind == tarfile.REGTYPE else 0o777, 1
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def make_archive(fmt: int, *, long_names: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        _add(archive, "etc", tarfile.DIRTYPE)
        _add(archive, "etc/os-release", data=b"ID=debian\n")
        _add(archive, "empty")
        _add(archive, PREFIXED_NAME, data=CONTENT)
        _add(archive, "large.bin", data=LARGE)
        _add(archive, "etc/.wh.removed")
        _add(archive, "etc/.wh..wh..opq")
        _add(archive, "etc/link", tarfile.SYMTYPE, link="../usr/lib/os-release")
        _add(archive, "etc/hard", tarfile.LNKTYPE, link="etc/os-release")
        _add(archive, "dev/null", tarfile.CHRTYPE)
        if long_names:
            _add(archive, LONG_NAME, data=CONTENT)
            _add(archive, LONG_DIRECTORY + "/long-link", tarfile.SYMTYPE, link=LONG_LINK)
            _add(archive, LONG_DIRECTORY + "/long-hard", tarfile.LNKTYPE, link=LONG_NAME)
        _add(archive, "last", data=b"x")
    return buffer.getvalue()


def read_all(data: bytes, *, chunk_size: int = 1024 * 1024, most: int | None = None) -> list[tuple[TarEntry, bytes]]:
    source = Trickle(data, most or len(data) + 1)
    reader = TarReader(source, chunk_size=chunk_size)
    entries = []
    while (entry := reader.next()) is not None:
        entries.append((entry, reader.content().read() if entry.isfile() else b""))
    return entries


def read_with_tarfile(data: bytes) -> list[tuple[str, bytes, int, str, int, bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            stream = archive.extractfile(member) if member.isfile() else None
            content = stream.read() if stream is not None else b""
            size = member.size if member.isfile() else 0
            out.append((member.name, member.type, size, member.linkname, member.mode, content))
    return out


def summary(entries: list[tuple[TarEntry, bytes]]) -> list[tuple[str, bytes, int, str, int, bytes]]:
    return [(e.name, e.type, e.size if e.isfile() else 0, e.linkname, e.mode, c) for e, c in entries]


FORMATS = pytest.mark.parametrize(
    ("fmt", "long_names"),
    [(tarfile.USTAR_FORMAT, False), (tarfile.GNU_FORMAT, True), (tarfile.PAX_FORMAT, True)],
    ids=["ustar", "gnu", "pax"],
)


@FORMATS
def test_every_format_reads_as_tarfile_does(fmt: int, long_names: bool) -> None:
    data = make_archive(fmt, long_names=long_names)
    entries = read_all(data)
    assert summary(entries) == read_with_tarfile(data)
    by_name = {e.name: (e, c) for e, c in entries}
    assert by_name[PREFIXED_NAME][1] == CONTENT
    assert by_name["large.bin"][1] == LARGE
    assert by_name["empty"][0].isfile() and by_name["empty"][1] == b""
    assert by_name["etc"][0].isdir()
    assert by_name["etc/link"][0].issym() and by_name["etc/link"][0].linkname == "../usr/lib/os-release"
    assert by_name["etc/hard"][0].islnk() and by_name["etc/hard"][0].linkname == "etc/os-release"
    assert "etc/.wh.removed" in by_name and "etc/.wh..wh..opq" in by_name
    if long_names:
        assert by_name[LONG_NAME][1] == CONTENT
        assert by_name[LONG_DIRECTORY + "/long-link"][0].linkname == LONG_LINK
        assert by_name[LONG_DIRECTORY + "/long-hard"][0].linkname == LONG_NAME


@FORMATS
@pytest.mark.parametrize(("chunk_size", "most"), [(1, None), (700, None), (BLOCK, 300), (1 << 20, 4097)])
def test_chunking_does_not_change_what_is_read(fmt: int, long_names: bool, chunk_size: int, most: int | None) -> None:
    data = make_archive(fmt, long_names=long_names)
    assert summary(read_all(data, chunk_size=chunk_size, most=most)) == summary(read_all(data))


def test_unread_content_is_skipped_and_partial_reads_resume() -> None:
    reader = TarReader(io.BytesIO(make_archive(tarfile.PAX_FORMAT)))
    names = []
    while (entry := reader.next()) is not None:
        names.append(entry.name)
        if entry.name == PREFIXED_NAME:
            content = reader.content()
            assert content.read(5) + content.read(5) == CONTENT[:10]
            assert content.read(10**9) == CONTENT[10:]
            assert content.read() == b""
    assert names[-1] == "last"


def test_a_content_reader_reads_nothing_after_the_next_entry() -> None:
    reader = TarReader(io.BytesIO(make_archive(tarfile.PAX_FORMAT)))
    while (entry := reader.next()) is not None and entry.name != "etc/os-release":
        pass
    content = reader.content()
    following = reader.next()
    assert following is not None and following.name == "empty"
    assert content.read() == b""


def _set_field(data: bytes, header_offset: int, start: int, value: bytes) -> bytes:
    """``data`` with a header field replaced and the header's checksum recomputed."""
    header = bytearray(data[header_offset : header_offset + BLOCK])
    header[start : start + len(value)] = value
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return data[:header_offset] + bytes(header) + data[header_offset + BLOCK :]


def _single(fmt: int, name: str, data: bytes, pax: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.pax_headers = pax or {}
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_pax_size_overrides_the_header_field() -> None:
    data = _single(tarfile.PAX_FORMAT, "file", b"hello", {"size": "5", "comment": "kept out"})
    header_offset = 2 * BLOCK  # after the PAX header and its one block of records
    assert data[header_offset + 156 : header_offset + 157] == tarfile.REGTYPE
    patched = _set_field(data, header_offset, 124, b"00000000000\x00")
    [(entry, content)] = read_all(patched)
    assert (entry.name, entry.size, content) == ("file", 5, b"hello")


def test_a_pax_path_overrides_the_header_name() -> None:
    data = _single(tarfile.PAX_FORMAT, "short", b"x", {"path": "a/much/longer/name"})
    assert [e.name for e, _ in read_all(data)] == ["a/much/longer/name"]


def test_a_base256_size_is_read() -> None:
    data = _single(tarfile.GNU_FORMAT, "file", b"hello")
    patched = _set_field(data, 0, 124, b"\x80" + (5).to_bytes(11, "big"))
    [(entry, content)] = read_all(patched)
    assert (entry.size, content) == (5, b"hello")


def test_a_corrupt_header_checksum_is_a_corrupt_layer() -> None:
    data = bytearray(make_archive(tarfile.USTAR_FORMAT, long_names=False))
    data[0] ^= 0x01
    with pytest.raises(CorruptLayer, match="checksum"):
        read_all(bytes(data))
    later = bytearray(make_archive(tarfile.USTAR_FORMAT, long_names=False))
    later[BLOCK + 3] ^= 0x01  # the second header: the first entry is a directory, with no content
    with pytest.raises(CorruptLayer, match="checksum"):
        read_all(bytes(later))


def _with_checksum(data: bytes, header_offset: int, checksum: bytes) -> bytes:
    return data[: header_offset + 148] + checksum + data[header_offset + 156 :]


def test_a_checksum_off_by_any_amount_is_refused() -> None:
    data = _single(tarfile.USTAR_FORMAT, "file", b"hello")
    good = sum(data[:148]) + sum(data[156:BLOCK]) + 8 * 0x20
    for wrong in (good - 1, good + 1, good + 256, good + 65521, good + 2 * 65521, 0):
        with pytest.raises(CorruptLayer, match="checksum"):
            read_all(_with_checksum(data, 0, b"%06o\x00 " % wrong))
    for spelling in (b"%06o\x00 ", b"%07o\x00", b"%o       "[:8], b" %06o\x00"):
        [(entry, content)] = read_all(_with_checksum(data, 0, (spelling % good)[:8]))
        assert (entry.name, content) == ("file", b"hello")


def test_a_checksum_summed_as_signed_chars_is_accepted() -> None:
    name = "caf\u00e9-\u00fcber"  # UTF-8 bytes over 0x7f in the name field
    data = _single(tarfile.USTAR_FORMAT, name, b"hello")
    header = data[:BLOCK]
    rest = header[:148] + header[156:]
    signed = sum(b - 256 if b >= 0x80 else b for b in rest) + 8 * 0x20
    assert signed != sum(rest) + 8 * 0x20
    [(entry, content)] = read_all(_with_checksum(data, 0, b"%06o\x00 " % signed))
    assert (entry.name, content) == (name, b"hello")


@pytest.mark.parametrize(
    ("field", "size"),
    [
        (b"00000000005\x00", 5),
        (b"5          ", 5),
        (b"     5\x00\x00\x00\x00\x00", 5),
        (b"5\x00garbage\x00\x00", 5),  # only what comes before the first NUL counts
        (b"\x00" * 12, 0),
    ],
)
def test_number_fields_in_every_spelling_writers_use(field: bytes, size: int) -> None:
    data = _single(tarfile.USTAR_FORMAT, "file", b"hello"[:size])
    [(entry, content)] = read_all(_set_field(data, 0, 124, field[:12].ljust(12, b"\x00")))
    assert (entry.size, content) == (size, b"hello"[:size])


@pytest.mark.parametrize("field", [b"9\x00", b"5x\x00", b"\xff" + bytes(11)])
def test_number_fields_that_are_not_octal_are_a_corrupt_layer(field: bytes) -> None:
    data = _single(tarfile.USTAR_FORMAT, "file", b"hello")
    with pytest.raises(CorruptLayer, match="number"):
        read_all(_set_field(data, 0, 124, field.ljust(12, b"\x00")))


def test_a_truncated_archive_is_a_corrupt_layer() -> None:
    data = make_archive(tarfile.PAX_FORMAT)
    start = data.index(bytes(range(256)) * 4)  # inside large.bin
    for cut in (start + 1000, start - 200):
        with pytest.raises(CorruptLayer, match="ends inside"):
            read_all(data[:cut])


def test_an_archive_cut_between_entries_ends_there() -> None:
    data = make_archive(tarfile.USTAR_FORMAT, long_names=False)
    assert [e.name for e, _ in read_all(data[:BLOCK])] == ["etc"]
    assert [e.name for e, _ in read_all(data[: 3 * BLOCK])] == ["etc", "etc/os-release"]  # header, content
    with pytest.raises(CorruptLayer, match="ends inside"):
        read_all(data[: 2 * BLOCK])  # os-release's header without its content


def test_trailing_garbage_after_the_end_blocks_is_ignored() -> None:
    data = make_archive(tarfile.PAX_FORMAT)
    assert summary(read_all(data + b"garbage that is not a header" * 100)) == summary(read_all(data))


def test_an_empty_source_has_no_entries() -> None:
    reader = TarReader(io.BytesIO(b""))
    assert reader.next() is None
    assert reader.started is False
    assert reader.next() is None


def test_an_extended_header_over_the_limit_stops() -> None:
    data = _single(tarfile.GNU_FORMAT, "x" * 5000, b"")
    with pytest.raises(LimitExceeded):
        TarReader(io.BytesIO(data), max_header_bytes=4096).next()
    assert TarReader(io.BytesIO(data), max_header_bytes=8192).next() is not None


def test_a_malformed_pax_record_is_a_corrupt_layer() -> None:
    data = _single(tarfile.PAX_FORMAT, "file", b"", {"comment": "abc"})
    record = data.index(b"comment=abc")
    broken = data[: record - 3] + b"99" + data[record - 1 :]  # "NN comment=abc\n" with a wrong length
    with pytest.raises(CorruptLayer):
        read_all(broken)


def _gnu_sparse_archive(directory: Path) -> bytes:
    """GNU tar's own archive of a file with ten data regions (so extension blocks follow its header), then a small file."""
    tar = shutil.which("tar")
    assert tar is not None, "GNU tar is part of every Debian system"
    with (directory / "holes").open("wb") as holes:
        for region in range(10):
            holes.seek(region * 1024 * 1024)
            holes.write(b"data%d" % region * 100)
    (directory / "after.txt").write_bytes(b"after\n")
    subprocess.run([tar, "--format=gnu", "--sparse", "-cf", "sparse.tar", "holes", "after.txt"], cwd=directory, check=True)
    data = (directory / "sparse.tar").read_bytes()
    assert data[156:157] == b"S" and data[482] == 1  # a sparse entry with extension blocks
    return data


@pytest.mark.parametrize("renamed", [False, True])
def test_gnu_sparse_entries_are_skipped_with_their_extension_blocks(tmp_path: Path, renamed: bool) -> None:
    data = _gnu_sparse_archive(tmp_path)
    if renamed:  # a PAX header naming the sparse entry: the name comes from it, the extension blocks are still skipped
        data = _single(tarfile.PAX_FORMAT, "ignored", b"", {"path": "usr/lib/renamed"})[: 2 * BLOCK] + data
    for chunk_size in (1024 * 1024, 700):
        [(sparse, _), (after, content)] = read_all(data, chunk_size=chunk_size, most=333)
        assert sparse.name == ("usr/lib/renamed" if renamed else "holes")
        assert sparse.type == b"S" and not sparse.isfile() and not sparse.islnk()
        assert (after.name, content) == ("after.txt", b"after\n")


def test_an_old_style_entry_is_a_directory_by_its_own_name_only() -> None:
    """Type NUL with a name ending in ``/`` is a directory; a PAX path ending in ``/`` does not make it one."""
    regular = bytearray(_single(tarfile.USTAR_FORMAT, "f", b"abc"))
    regular = bytearray(_set_field(bytes(regular), 0, 156, b"\x00"))
    pax = _single(tarfile.PAX_FORMAT, "ignored", b"", {"path": "dir/"})[: 2 * BLOCK]
    following = _single(tarfile.USTAR_FORMAT, "next", b"xyz")
    data = pax + bytes(regular[: 2 * BLOCK]) + following
    [(first, _), (after, content)] = read_all(data)
    assert (first.name, first.type, first.size) == ("dir/", b"\x00", 3)
    assert (after.name, content) == ("next", b"xyz")
    directory = _set_field(_set_field(bytes(regular), 0, 0, b"olddir/\x00"), 0, 124, b"00000000000\x00")
    [(entry, _), (after, _)] = read_all(directory[:BLOCK] + following)
    assert (entry.name, entry.isdir()) == ("olddir", True)
    assert after.name == "next"


@pytest.mark.parametrize("chunk_size", [512, 1000, 1024 * 1024])
def test_a_peek_at_every_offset_sees_the_content_start_and_consumes_nothing(chunk_size: int) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        _add(archive, "short", data=b"\x7fEL")
        _add(archive, "empty")
        for number in range(40):  # contents starting at many offsets: some peeks straddle two chunks
            _add(archive, f"file-{number}", data=b"\x7fELF" + bytes([number]) * (number * 37))
    reader = TarReader(io.BytesIO(buffer.getvalue()), chunk_size=chunk_size)
    seen: dict[str, tuple[bytes, bytes]] = {}
    while (entry := reader.next()) is not None:
        seen[entry.name] = (reader.peek(8), reader.content().read())
    assert seen["short"] == (b"\x7fEL", b"\x7fEL")
    assert seen["empty"] == (b"", b"")
    for number in range(40):
        head, content = seen[f"file-{number}"]
        assert content == b"\x7fELF" + bytes([number]) * (number * 37)
        assert head == content[:8]
