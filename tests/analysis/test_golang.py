"""Go build information from executables: a real Go binary from a Debian package, and built headers."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from shared.analysis import FileResult
from shared.analysis.catalogers import golang
from shared.analysis.catalogers.base import ParseContext, ParseError, scan_stream
from testkit.images import file
from tests.analysis.helpers import names, squashed

SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")
REAL_GO_BINARY = Path("/usr/bin/docker-registry")  # Debian's docker-registry, installed for the test registry


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def build_info(go_version: str, info: str, *, flags: int = 0x2) -> bytes:
    header = golang.MAGIC + bytes([8, flags]) + b"\x00" * 16
    framed = SENTINEL_START + info.encode() + SENTINEL_END
    return header + varint(len(go_version)) + go_version.encode() + varint(len(framed)) + framed


MODINFO = (
    "path\texample.com/app/cmd/server\n"
    "mod\texample.com/app\tv1.4.0\th1:abc=\n"
    "dep\tgolang.org/x/text\tv0.14.0\th1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=\n"
    "dep\tgithub.com/old/module\tv1.0.0\th1:old=\n"
    "=>\tgithub.com/new/module\tv1.2.0\th1:new=\n"
    "build\t-compiler=gc\n"
    "build\tGOARCH=arm64\n"
    "build\tGOOS=linux\n"
)


def executable(at: int, blob: bytes, size: int | None = None) -> bytes:
    data = bytearray(b"\x7fELF" + b"\x00" * (at - 4) + blob)
    if size is not None:
        data.extend(b"\x00" * (size - len(data)))
    return bytes(data)


def scan(data: bytes) -> FileResult | None:
    return scan_stream(golang.GoBinaryScanner("/app/server", len(data), ParseContext()), io.BytesIO(data))


def test_real_go_binary_from_a_debian_package() -> None:
    with REAL_GO_BINARY.open("rb") as stream:
        scanner = golang.GoBinaryScanner(str(REAL_GO_BINARY), REAL_GO_BINARY.stat().st_size, ParseContext())
        result = scan_stream(scanner, stream)
    assert result is not None
    stdlib = [p for p in result.packages if p.name == "stdlib"]
    assert len(stdlib) == 1 and stdlib[0].version.startswith("go1.")
    assert stdlib[0].meta["goos"] == "linux"


def test_modules_dependencies_and_replacements() -> None:
    result = scan(executable(4096, build_info("go1.21.5", MODINFO)))
    assert result is not None
    by_name = {p.name: p for p in result.packages}
    assert sorted(by_name) == ["example.com/app", "github.com/new/module", "golang.org/x/text", "stdlib"]
    assert by_name["github.com/new/module"].version == "v1.2.0"
    assert by_name["example.com/app"].meta["main"] == "true"
    assert by_name["stdlib"].version == "go1.21.5"
    assert golang.package_url(by_name["golang.org/x/text"], None) == "pkg:golang/golang.org/x/text@v0.14.0"
    assert golang.package_url(by_name["stdlib"], None) == "pkg:golang/stdlib@go1.21.5"


def test_build_info_across_the_read_chunk_boundary() -> None:
    at = 1024 * 1024 - 16
    result = scan(executable(at, build_info("go1.22.0", MODINFO), size=3 * 1024 * 1024))
    assert result is not None and len(result.packages) == 4


def _feed_in_chunks(data: bytes, sizes: list[int]) -> FileResult | None:
    """Push ``data`` to a scanner in chunks: the first MiB whole (as the layer walker does), then ``sizes`` in turn."""
    scanner = golang.GoBinaryScanner("/app/server", len(data), ParseContext())
    position, turn = 0, 0
    first = min(len(data), 1024 * 1024)
    pieces = [data[:first]]
    position = first
    while position < len(data):
        size = sizes[turn % len(sizes)]
        pieces.append(data[position : position + size])
        position += size
        turn += 1
    for piece in pieces:
        if not scanner.feed(piece):
            break
    return scanner.finish()


@pytest.mark.parametrize("sizes", [[1], [7, 13], [47, 48, 49], [4096], [1024 * 1024]])
def test_build_info_is_found_wherever_the_chunks_split_it(sizes: list[int]) -> None:
    info = build_info("go1.22.0", MODINFO)
    decoy = golang.MAGIC + b"\x08\x02 an unaligned string constant"
    for at in range(1024 * 1024 - 64, 1024 * 1024 + 80, 16):
        data = bytearray(executable(at, info, size=1024 * 1024 + 4096))
        data[at - 56 : at - 56 + len(decoy)] = decoy  # 8 bytes off the 16-byte alignment, ending before the header
        result = _feed_in_chunks(bytes(data), sizes)
        assert result is not None and len(result.packages) == 4, (sizes, at)


def test_unaligned_magic_is_not_build_info() -> None:
    decoy = golang.MAGIC + b"\x08\x02 this is a string constant, not the header"
    data = executable(100, decoy + b"\x00" * 3 + build_info("go1.21.0", MODINFO)[:0])
    assert scan(data) is None


def test_not_an_executable_is_not_recorded() -> None:
    assert scan(b"#!/bin/sh\necho hi\n") is None
    assert scan(executable(64, b"no go here")) is None


def test_old_go_releases_are_problems() -> None:
    with pytest.raises(ParseError, match=r"before 1\.18"):
        scan(executable(4096, build_info("go1.16", MODINFO, flags=0)))


def test_go_binaries_in_a_layer_by_content_whatever_the_mode() -> None:
    binary = executable(4096, build_info("go1.21.5", MODINFO))
    not_a_program = b"#!/bin/sh\n" + build_info("go1.21.5", MODINFO)  # the header, but no ELF, PE or Mach-O magic
    layer = {
        "/usr/local/bin/server": file(binary, mode=0o755),
        "/opt/tool/server.bin": file(binary, mode=0o644),  # downloaded, never marked executable
        "/usr/local/bin/script": file(not_a_program, mode=0o755),
        "/tmp/tiny": file(b"\x7fEL", mode=0o755),  # shorter than any magic
    }
    _, packages, problems, _ = squashed([layer])
    assert problems == []
    assert {p.path for p in packages} == {"/usr/local/bin/server", "/opt/tool/server.bin"}
    assert "golang.org/x/text@v0.14.0" in names(packages)
    assert {(p.name, p.version) for p in packages if p.path == "/opt/tool/server.bin"} >= {("stdlib", "go1.21.5")}


def _main_module(info: str) -> tuple[str, str, str] | None:
    packages = golang.parse_module_info("go1.23.4", info)
    main = [p for p in packages if p.meta.get("main") == "true"]
    assert len(main) <= 1
    return (main[0].name, main[0].version, main[0].meta.get("version_from", "")) if main else None


DEVEL = "path\tgithub.com/acme/tool/cmd/tool\nmod\tgithub.com/acme/tool\t(devel)\t\n"
VCS = "build\tvcs=git\nbuild\tvcs.revision=5e16e5031a13f8a11057feb8544decebfc43b4ed\nbuild\tvcs.time=2024-12-13T18:30:11Z\n"


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (DEVEL + "build\t-ldflags=\"-w -s -X main.version=1.18.1 -X main.gitCommit=5e16e50\"\n" + VCS,
         ("github.com/acme/tool", "v1.18.1", "ldflags")),
        (DEVEL + "build\t-ldflags=\"-X 'github.com/acme/tool/internal/version.Version=v2.0.0-rc.1'\"\n",
         ("github.com/acme/tool", "v2.0.0-rc.1", "ldflags")),
        (DEVEL + "build\t-ldflags=\"-X main.version=dev\"\n" + VCS,  # not a version: the commit says more
         ("github.com/acme/tool", "v0.0.0-20241213183011-5e16e5031a13", "vcs")),
        (DEVEL, ("github.com/acme/tool", "(devel)", "")),
        ("path\tgithub.com/docker/distribution/cmd/registry\n"
         "build\t-ldflags=\"-X github.com/docker/distribution/version.Version=v2.8.2+ds1\"\n",
         ("github.com/docker/distribution/cmd/registry", "v2.8.2+ds1", "ldflags")),
        ("path\tgithub.com/docker/distribution/cmd/registry\nbuild\t-trimpath=true\n", None),
        ("path\tcommand-line-arguments\nbuild\t-ldflags=\"-X main.version=1.2.3\"\n", None),
        ("path\tgithub.com/acme/tool/cmd/tool\nmod\tgithub.com/acme/tool\tv1.4.0\th1:abc=\n"
         "build\t-ldflags=\"-X main.version=9.9.9\"\n",
         ("github.com/acme/tool", "v1.4.0", "")),
    ],
)
def test_the_main_module_version_comes_from_the_linker_flags_or_the_commit(
    info: str, expected: tuple[str, str, str] | None
) -> None:
    assert _main_module(info) == expected


def elf_with_segments(data_offset: int, *, wide: bool = True, big_endian: bool = False) -> bytearray:
    """An ELF header and two program headers: code (read, execute) at 0, writable data at ``data_offset``."""
    order = ">" if big_endian else "<"
    ident = b"\x7fELF" + bytes([2 if wide else 1, 2 if big_endian else 1, 1]) + b"\x00" * 9
    if wide:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
        code = struct.pack(order + "IIQQQQQQ", 1, 5, 0, 0, 0, data_offset, data_offset, 4096)
        data = struct.pack(order + "IIQQQQQQ", 1, 6, data_offset, 0, 0, 4096, 4096, 4096)
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", 2, 3, 1, 0, 52, 0, 0, 52, 32, 2, 40, 0, 0)
        code = struct.pack(order + "IIIIIIII", 1, 0, 0, 0, data_offset, data_offset, 5, 4096)
        data = struct.pack(order + "IIIIIIII", 1, data_offset, 0, 0, 4096, 4096, 6, 4096)
    return bytearray(header + code + data)


@pytest.mark.parametrize(("wide", "big_endian"), [(True, False), (False, False), (False, True), (True, True)])
def test_only_the_writable_data_of_an_elf_file_is_searched(wide: bool, big_endian: bool) -> None:
    data_offset = 3 * 1024 * 1024 + 4096  # past several chunks, not on a chunk boundary
    binary = elf_with_segments(data_offset, wide=wide, big_endian=big_endian)
    assert golang.elf_writable_data(bytes(binary)) == data_offset
    decoy = build_info("go1.20.1", "path\texample.com/decoy\nmod\texample.com/decoy\tv9.9.9\t\n")
    binary += b"\x00" * (1024 * 1024 - len(binary)) + decoy  # in the code, 16-aligned: not build information
    binary += b"\x00" * (data_offset - len(binary)) + build_info("go1.21.5", MODINFO) + b"\x00" * 5000
    result = scan(bytes(binary))
    assert result is not None
    assert ("stdlib", "go1.21.5") in {(p.name, p.version) for p in result.packages}
    assert "example.com/decoy" not in {p.name for p in result.packages}


def test_an_elf_file_whose_headers_do_not_tell_is_searched_whole() -> None:
    assert golang.elf_writable_data(b"\x7fELF" + b"\x00" * 100) == 0  # no class, no byte order
    truncated = bytes(elf_with_segments(8192))[:100]  # the program headers are cut off
    assert golang.elf_writable_data(truncated) == 0
    assert golang.elf_writable_data(b"MZ" + b"\x00" * 200) == 0  # not ELF
    assert golang.elf_writable_data(REAL_GO_BINARY.read_bytes()[: 1024 * 1024]) > 0
