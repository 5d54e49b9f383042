"""Rust crates from ``cargo auditable`` data in executables, found in one streaming pass."""

from __future__ import annotations

import io
import json
import os
import zlib

import pytest

from shared.analysis import FileResult, Limits
from shared.analysis.catalogers import rust
from shared.analysis.catalogers.base import ParseContext, ParseError, scan_stream
from testkit.images import file
from tests.analysis.helpers import squashed
from tests.analysis.test_golang import MODINFO, build_info

AUDIT = {
    "packages": [
        {"name": "adler", "version": "1.0.2", "source": "crates.io"},
        {"name": "cc", "version": "1.0.83", "source": "crates.io", "kind": "build"},
        {"name": "serde", "version": "1.0.193", "source": "crates.io", "dependencies": [0]},
        {"name": "hello", "version": "0.1.0", "source": "local", "dependencies": [0, 2], "root": True},
    ]
}


def audit_section(document: object = AUDIT, level: int = 9) -> bytes:
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), level)


def elf(*parts: bytes, filler: int = 200_000) -> bytes:
    """An ELF-looking file: the magic, random code-like bytes, then each part between more bytes."""
    data = bytearray(b"\x7fELF\x02\x01\x01" + os.urandom(filler))
    for part in parts:
        data += part + os.urandom(filler)
    return bytes(data)


def scan(data: bytes, limits: Limits | None = None) -> FileResult | None:
    scanner = rust.AuditDataScanner("/usr/local/bin/hello", len(data), ParseContext(limits or Limits()))
    return scan_stream(scanner, io.BytesIO(data), chunk_size=64 * 1024)


@pytest.mark.parametrize("level", [1, 6, 9])
def test_crates_of_an_audited_binary(level: int) -> None:
    result = scan(elf(audit_section(level=level)))
    assert result is not None
    assert [(p.name, p.version) for p in result.packages] == [
        ("adler", "1.0.2"),
        ("cc", "1.0.83"),
        ("serde", "1.0.193"),
        ("hello", "0.1.0"),
    ]
    by_name = {p.name: p for p in result.packages}
    assert by_name["cc"].meta["kind"] == "build"
    assert by_name["hello"].meta == {"source": "local", "kind": "runtime", "main": "true"}
    assert rust.package_url(by_name["serde"], None) == "pkg:cargo/serde@1.0.193"


def test_audit_data_across_chunk_boundaries() -> None:
    crates = [{"name": f"crate-{os.urandom(12).hex()}", "version": f"1.{i}.0", "source": "crates.io"} for i in range(6000)]
    section = audit_section({"packages": crates})
    assert len(section) > 64 * 1024  # spans several chunks
    for offset in (64 * 1024 - 10, 64 * 1024 - 70, 128 * 1024 - 1):
        data = b"\x7fELF" + os.urandom(offset - 4) + section + os.urandom(1000)
        result = scan(data)
        assert result is not None and len(result.packages) == 6000


@pytest.mark.parametrize("sizes", [[1], [100, 511, 512], [4096]])
def test_audit_data_is_found_wherever_small_chunks_split_it(sizes: list[int]) -> None:
    section = audit_section()
    first = 64 * 1024
    for at in (first - 600, first - 512, first - 511, first - 300, first - 2, first - 1, first, first + 1):
        data = b"\x7fELF" + bytes(at - 4) + section + bytes(700)
        scanner = rust.AuditDataScanner("/usr/local/bin/hello", len(data), ParseContext(Limits()))
        position, turn = first, 0
        going = scanner.feed(data[:first])
        while going and position < len(data):
            size = sizes[turn % len(sizes)]
            going = scanner.feed(data[position : position + size])
            position, turn = position + size, turn + 1
        result = scanner.finish()
        assert result is not None and len(result.packages) == 4, (sizes, at)


def test_other_zlib_streams_and_plain_binaries_are_not_audit_data() -> None:
    other = zlib.compress(b'{"something": "else"}' * 20)
    assert scan(elf(other)) is None
    assert scan(b"#!/bin/sh\n" + audit_section()) is None


def test_truncated_or_oversized_audit_data_is_a_problem() -> None:
    section = audit_section()
    with pytest.raises(ParseError, match="truncated"):
        scan(b"\x7fELF" + os.urandom(100) + section[: len(section) // 2])
    with pytest.raises(ParseError, match="larger than"):
        scan(elf(audit_section()), Limits(max_file_bytes=100))


def test_go_and_rust_read_the_same_executable_in_one_pass() -> None:
    go_part = b"\x00" * (4096 - 7 - 200_000 % 16) + build_info("go1.21.5", MODINFO)
    binary = elf(go_part, audit_section())
    layer = {"/usr/local/bin/both": file(binary, mode=0o755), "/opt/both.bin": file(binary, mode=0o600)}
    _, packages, problems, _ = squashed([layer])
    assert problems == []
    assert {p.type for p in packages} == {"golang", "cargo"}
    assert {p.cataloger for p in packages} == {"go", "rust-audit"}
    assert {p.path for p in packages if p.type == "cargo"} == {"/usr/local/bin/both", "/opt/both.bin"}  # by content, not mode


def test_audit_data_at_the_very_end_of_the_file() -> None:
    result = scan(b"\x7fELF" + os.urandom(70_000) + audit_section())
    assert result is not None and len(result.packages) == 4
