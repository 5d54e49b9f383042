"""The index's Table storage form: keys, ranges, chunked records, and a round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from shared.store.advisory_rows import (
    MAX_DETAILS,
    advisory_from_entity,
    keys_from_record_entity,
    package_entities,
    package_row_range,
    record_entity,
    record_id_of,
    snapshot_entity,
)
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.index import ImportResult, Lookup, MemoryIndex
from shared.vulns.matching import Matcher
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey, PackageRef
from tests.vulns.support import advisory, affected


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


def test_a_record_too_large_for_one_entity_is_refused() -> None:
    huge = advisory("PYSEC-2024-2", affected("PyPI", "x", versions=tuple(f"1.{i}" for i in range(120_000))))
    with pytest.raises(InvalidAdvisory, match="too large"):
        package_entities(huge)


class _RowSource:
    """An advisory source reading package rows the way a Table-backed index would: one range
    query per package key (here over a sorted list of entities)."""

    def __init__(self, rows: list[dict[str, Any]], snapshot: str) -> None:
        self._rows = sorted(rows, key=lambda r: (r["PartitionKey"], r["RowKey"]))
        self.snapshot = snapshot

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
    original = Matcher(index).match(packages)
    copy = Matcher(_RowSource(rows, result.snapshot)).match(packages)
    assert len(original.findings) > 50
    assert [(f.id, f.aliases, f.package, f.fixed_versions, f.severity) for f in copy.findings] == [
        (f.id, f.aliases, f.package, f.fixed_versions, f.severity) for f in original.findings
    ]
    assert copy.snapshot == original.snapshot == snapshot_entity(result)["snapshot"]
