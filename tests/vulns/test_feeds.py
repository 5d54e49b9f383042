"""Bulk feeds: a directory tree of JSON and YAML records, and osv.dev-style all.zip archives."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from shared.vulns.errors import InvalidAdvisory
from shared.vulns.feeds import DirectoryFeed, ZipFeed
from shared.vulns.model import Advisory
from shared.vulns.parse import MAX_RECORD_BYTES
from shared.vulns.problems import Problem
from tests.vulns.support import GO, affected, as_bytes, record


def _good(record_id: str) -> bytes:
    return as_bytes(record(record_id, affected("PyPI", "example", ("introduced", "0"), ("fixed", "2.0"))))


def test_directory_feed_reads_json_and_yaml_and_reports_bad_files(tmp_path: Path) -> None:
    (tmp_path / "pypi" / "example").mkdir(parents=True)
    (tmp_path / "pypi" / "example" / "PYSEC-2024-1.yaml").write_text(
        "id: PYSEC-2024-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package: {ecosystem: PyPI, name: example}\n"
        "  ranges: [{type: ECOSYSTEM, events: [{introduced: '0'}, {fixed: '1.0'}]}]\n"
    )
    (tmp_path / "GO-2024-1.json").write_bytes(_good("GO-2024-1"))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "no-id.json").write_text(json.dumps({"modified": "2024-01-01T00:00:00Z"}))
    (tmp_path / "README.md").write_text("not a record")
    (tmp_path / "huge.json").write_bytes(b" " * (MAX_RECORD_BYTES + 1))
    (tmp_path / "link.json").symlink_to(tmp_path / "GO-2024-1.json")

    items = list(DirectoryFeed(tmp_path).read())

    records = [i for i in items if isinstance(i, Advisory)]
    problems = {p.origin: p for p in items if isinstance(p, Problem)}
    assert sorted(r.id for r in records) == ["GO-2024-1", "PYSEC-2024-1"]
    assert set(problems) == {"broken.json", "no-id.json", "huge.json"}
    assert problems["broken.json"].code == "invalid-advisory"
    assert "id is missing" in problems["no-id.json"].message
    (tmp_path / "bad-range.json").write_text(
        json.dumps(record("GO-2024-9", {"package": {"ecosystem": "Go", "name": "x"}, "ranges": 5}))
    )
    (bad,) = [i for i in DirectoryFeed(tmp_path).read() if isinstance(i, Problem) and i.origin == "bad-range.json"]
    assert (bad.record_id, bad.message) == ("GO-2024-9", "GO-2024-9: ranges must be an array")


def test_directory_feed_of_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(InvalidAdvisory):
        list(DirectoryFeed(tmp_path / "absent").read())


def _zip(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_zip_feed_reads_members_in_name_order_and_reports_bad_ones() -> None:
    archive = _zip(
        {
            "PYSEC-2024-2.json": _good("PYSEC-2024-2"),
            "PYSEC-2024-1.json": _good("PYSEC-2024-1"),
            "PYSEC-2024-3.json": b"[]",
            "modified_id.csv": b"2024-01-01T00:00:00Z,PYSEC-2024-1\n",
        }
    )
    items = list(ZipFeed(archive, name="PyPI/all.zip").read())
    assert [i.id for i in items if isinstance(i, Advisory)] == ["PYSEC-2024-1", "PYSEC-2024-2"]
    (problem,) = [i for i in items if isinstance(i, Problem)]
    assert problem.origin == "all.zip!PYSEC-2024-3.json"


def test_zip_feed_reports_an_oversized_member_without_expanding_it() -> None:
    archive = _zip({"big.json": b" " * (MAX_RECORD_BYTES + 10), "GO-2024-1.json": _good("GO-2024-1")})
    items = list(ZipFeed(archive).read())
    assert [type(i).__name__ for i in items] == ["Advisory", "Problem"]


def test_zip_feed_of_a_corrupt_archive_raises(tmp_path: Path) -> None:
    path = tmp_path / "all.zip"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(InvalidAdvisory, match="not a readable zip"):
        list(ZipFeed(path).read())
    good = _zip({"GO-2024-1.json": _good("GO-2024-1") * 50}).getvalue()
    damaged = bytearray(good)
    offset = good.index(b"GO-2024-1.json") + len("GO-2024-1.json") + 5
    damaged[offset : offset + 20] = b"\x00" * 20  # corrupt the compressed data: CRC or inflate fails
    path.write_bytes(bytes(damaged))
    with pytest.raises(InvalidAdvisory):
        list(ZipFeed(path).read())


def test_zip_feed_of_real_go_records_matches_the_directory(tmp_path: Path) -> None:
    files = sorted(GO.glob("GO-2023-*.json"))[:200]
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.name)
    from_zip = [i for i in ZipFeed(path).read() if isinstance(i, Advisory)]
    assert [a.id for a in from_zip] == [f.stem for f in files]
    assert all(a.digest for a in from_zip)
