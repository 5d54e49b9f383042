"""The index's Table storage form: keys, ranges, chunked records, and a round trip."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pytest

from shared.store.advisory_rows import (
    MAX_DETAILS,
    RECORD_LAYOUT,
    advisory_from_entity,
    keys_from_record_entity,
    names_from_record_entity,
    package_entities,
    package_row_range,
    rating_from_record_entity,
    record_entity,
    record_id_of,
    record_layout,
    severity_entity,
    severity_from_entity,
    severity_row_key,
    snapshot_entity,
)
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.index import ImportResult, Lookup, MemoryIndex
from shared.vulns.matching import Matcher
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey, PackageRef
from shared.vulns.severity import UNKNOWN, SeverityScore
from tests.vulns.support import advisory, affected

V3_HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5


def test_package_rows_of_a_record_with_two_packages() -> None:
    record = advisory(
        "GHSA-xxxx-yyyy-zzzz",
        affected("PyPI", "Django", ("introduced", "0"), ("fixed", "4.2.1")),
        affected("npm", "@scope/pkg", ("introduced", "0"), ("fixed", "1.0.0"), kind="SEMVER"),
        details="x" * (MAX_DETAILS * 2),
    )
    rows = package_entities(record)
    assert [(r["PartitionKey"], r["RowKey"]) for r in rows] == [
        ("PyPI", "django!GHSA-xxxx-yyyy-zzzz"),
        ("npm", "%40scope%2Fpkg!GHSA-xxxx-yyyy-zzzz"),
    ]
    first = advisory_from_entity(rows[0])
    assert first.digest == record.digest
    assert [a.package.name for a in first.affected if a.package] == ["Django"]
    assert len(first.details) == MAX_DETAILS
    assert all(isinstance(v, (str, int, bool)) or k == "modified" for r in rows for k, v in r.items())


def test_a_packages_row_range_holds_its_rows_and_no_others() -> None:
    names = ["django", "django-cms", "django2", "djang", "django!x"]
    rows = {
        name: package_entities(advisory("PYSEC-2024-1", affected("PyPI", name, ("introduced", "0"))))[0]["RowKey"]
        for name in names
    }
    partition, low, high = package_row_range(PackageKey("PyPI", "django"))
    assert partition == "PyPI"
    assert [name for name, row_key in rows.items() if low <= row_key < high] == ["django"]


def test_record_rows_list_the_package_keys() -> None:
    record = advisory("GO-2024-7", affected("Go", "stdlib", ("introduced", "0"), kind="SEMVER"))
    entity = record_entity(record)
    assert (entity["PartitionKey"], entity["RowKey"], record_id_of(entity)) == ("GO", "GO-2024-7", "GO-2024-7")
    assert keys_from_record_entity(entity) == {PackageKey("Go", "stdlib")}


def test_record_rows_keep_names_and_the_records_own_rating() -> None:
    record = advisory(
        "GHSA-1234-5678-9abc",
        affected("PyPI", "x", ("introduced", "0")),
        aliases=["CVE-2024-1"],
        upstream=["CVE-2023-9"],
        severity=[{"type": "CVSS_V3", "score": V3_HIGH}],
    )
    entity = record_entity(record)
    assert (entity["PartitionKey"], record_layout(entity)) == ("GHSA", RECORD_LAYOUT)
    assert names_from_record_entity(entity) == (frozenset({"CVE-2024-1"}), frozenset({"CVE-2023-9"}))
    assert rating_from_record_entity(entity) == SeverityScore("high", 7.5, "CVSS_V3", V3_HIGH, "GHSA-1234-5678-9abc", "CVSS_V3")
    unrated = record_entity(advisory("PYSEC-2024-3", affected("PyPI", "x", ("introduced", "0"))))
    assert rating_from_record_entity(unrated) == UNKNOWN
    first_layout = {k: v for k, v in entity.items() if k in ("PartitionKey", "RowKey", "digest", "modified", "withdrawn")
                    or k.startswith("keys_")}  # fmt: skip
    assert record_layout(first_layout) == 1
    assert names_from_record_entity(first_layout) == (frozenset(), frozenset())
    assert rating_from_record_entity(first_layout) == UNKNOWN


def test_severity_rows_round_trip() -> None:
    scored = SeverityScore("high", 7.5, "CVSS_V3", V3_HIGH, "GHSA-1234-5678-9abc", "CVSS_V3")
    entity = severity_entity("CVE-2024-1", scored)
    assert (entity["PartitionKey"], entity["RowKey"]) == severity_row_key("CVE-2024-1") == ("CVE", "CVE-2024-1")
    assert severity_from_entity(entity) == scored
    word = SeverityScore("medium", None, "database_specific", "", "GHSA-1234-5678-9abc", "GitHub")
    assert "score" not in severity_entity("GHSA-1234-5678-9abc", word)
    assert severity_from_entity(severity_entity("GHSA-1234-5678-9abc", word)) == word
    with pytest.raises(ValueError, match="not a rating"):
        severity_from_entity({**entity, "rating": "severe"})


def test_a_record_too_large_for_one_entity_is_refused() -> None:
    huge = advisory("PYSEC-2024-2", affected("PyPI", "x", versions=tuple(f"1.{i}" for i in range(120_000))))
    with pytest.raises(InvalidAdvisory, match="too large"):
        package_entities(huge)


class _RowSource:
    """An advisory source reading package rows the way a Table-backed index would: one range
    query per package key (here over a sorted list of entities); and severity rows by point reads."""

    def __init__(self, rows: list[dict[str, Any]], severity_rows: list[dict[str, Any]], snapshot: str) -> None:
        self._rows = sorted(rows, key=lambda r: (r["PartitionKey"], r["RowKey"]))
        self._severity_rows = {(r["PartitionKey"], r["RowKey"]): r for r in severity_rows}
        self.snapshot = snapshot

    def coverage(self) -> None:
        return None

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        rows = {name: self._severity_rows.get(severity_row_key(name)) for name in ids}
        return {name: severity_from_entity(row) for name, row in rows.items() if row is not None}

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        found: dict[PackageKey, tuple[Advisory, ...]] = {}
        for query in queries:
            for key in query.keys:
                partition, low, high = package_row_range(key)
                rows = [r for r in self._rows if r["PartitionKey"] == partition and low <= r["RowKey"] < high]
                found[key] = tuple(advisory_from_entity(r) for r in rows)
        return Lookup(records=found)


def test_matching_from_rows_gives_the_same_findings(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    """The package rows of the Django, stdlib and x/net records match exactly like the records."""
    index, result = real_index
    keys = [PackageKey("PyPI", "django"), PackageKey("Go", "stdlib"), PackageKey("Go", "golang.org/x/net")]
    records = {record.id: record for key in keys for record in index.records_for(key)}
    rows = [row for record in records.values() for row in package_entities(record)]
    packages = [
        PackageRef("pkg:pypi/django@3.2.0"),
        PackageRef("pkg:golang/stdlib@go1.20.1"),
        PackageRef("pkg:golang/golang.org/x/net@v0.7.0"),
    ]
    every_id = {name for record in records.values() for name in (*record.all_ids, *record.upstream)}
    severity_rows = [severity_entity(name, rating) for name, rating in index.severities(every_id).items()]
    original = Matcher(index).match(packages)
    copy = Matcher(_RowSource(rows, severity_rows, result.snapshot)).match(packages)
    assert len(original.findings) > 50
    assert [(f.id, f.aliases, f.package, f.fixed_versions, f.severity) for f in copy.findings] == [
        (f.id, f.aliases, f.package, f.fixed_versions, f.severity) for f in original.findings
    ]
    assert copy.snapshot == original.snapshot == snapshot_entity(result, {})["snapshot"]
