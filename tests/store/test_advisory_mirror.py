"""The Table storage advisory mirror on Azurite: ratings filed by id, kept in step with imports,
read back by point reads, and rows of the first record layout brought up to date."""

from __future__ import annotations

import pytest
from azure.data.tables import UpdateMode

from shared.store import advisory_mirror
from shared.store.advisory_rows import (
    RECORD_LAYOUT,
    SNAPSHOT_PARTITION,
    SNAPSHOT_ROW,
    record_layout,
    severity_row_key,
)
from shared.store.azure import Tables
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Matcher
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey, PackageRef, osv_query
from shared.vulns.severity import SeverityScore
from shared.wiring import Services
from tests.vulns.alias_severity import V3_CRITICAL, check_severity_by_id, pyyaml_records
from tests.vulns.support import advisory, affected

PYYAML_GHSA = SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-8q59-q68h-6hv4", "CVSS_V3")


def _tables(svc: Services) -> Tables:
    return Tables(svc.settings.storage, svc.settings.table_prefix)


def test_ratings_filed_by_id_follow_imports(svc: Services) -> None:
    check_severity_by_id(svc.advisories)


def test_matching_from_the_mirror_borrows_like_the_memory_index(svc: Services) -> None:
    svc.advisories.import_records(pyyaml_records())
    memory = MemoryIndex()
    memory.import_records(pyyaml_records())
    packages = [PackageRef("pkg:pypi/pyyaml@3.12"), PackageRef("pkg:pypi/pyyaml@5.3")]
    from_tables = Matcher(svc.advisories).match(packages)
    assert from_tables.findings == Matcher(memory).match(packages).findings
    old = {f.id: f.severity for f in from_tables.findings if f.installed_version == "3.12"}
    assert old == {"CVE-2020-14343": PYYAML_GHSA, "CVE-2019-1": SeverityScore()}


def test_point_reads_are_bounded_per_call_and_cached(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    svc.advisories.import_records(pyyaml_records())
    monkeypatch.setattr(advisory_mirror, "MAX_SEVERITY_READS", 1)
    asked = ["CVE-2019-1", "CVE-2020-14343", "GHSA-8q59-q68h-6hv4"]
    assert dict(svc.advisories.severities(asked)) == {}  # only CVE-2019-1 was read: no rating
    assert dict(svc.advisories.severities(asked)) == {"CVE-2020-14343": PYYAML_GHSA}
    assert dict(svc.advisories.severities(asked)) == {"CVE-2020-14343": PYYAML_GHSA, "GHSA-8q59-q68h-6hv4": PYYAML_GHSA}


def test_rows_of_the_first_layout_are_rewritten_once(svc: Services) -> None:
    """A mirror filled before ratings were filed by id: record rows without layout, names or
    rating, no severity rows. Importing the same data again brings them up to date."""
    records = pyyaml_records()
    svc.advisories.import_records(records)
    tables = _tables(svc)
    record_table, severity_table = tables.table("advisoryrecords"), tables.table("advisoryseverity")
    for entity in list(record_table.list_entities()):
        first = {k: v for k, v in entity.items() if k in ("PartitionKey", "RowKey", "digest", "modified", "withdrawn")
                 or k.startswith("keys_")}  # fmt: skip
        record_table.upsert_entity(first, mode="replace")  # type: ignore[arg-type]
    for name in ("CVE-2020-14343", "GHSA-8q59-q68h-6hv4"):
        severity_table.delete_entity(*severity_row_key(name))
    stale = advisory_mirror.TableAdvisoryIndex(tables)
    assert dict(stale.severities(["CVE-2020-14343"])) == {}

    again = stale.import_records(records)
    assert (again.changed, again.unchanged) == (0, 3)
    assert again.changed_keys == {PackageKey("PyPI", "pyyaml")}  # its findings may now borrow a rating
    assert all(record_layout(e) == RECORD_LAYOUT for e in record_table.list_entities())
    assert {(e["RowKey"], e["source"]) for e in severity_table.list_entities()} == {
        ("CVE-2020-14343", "GHSA-8q59-q68h-6hv4"),
        ("GHSA-8q59-q68h-6hv4", "GHSA-8q59-q68h-6hv4"),
    }
    fresh = advisory_mirror.TableAdvisoryIndex(tables)
    assert dict(fresh.severities(["CVE-2020-14343"])) == {"CVE-2020-14343": PYYAML_GHSA}
    assert fresh.import_records(records).changed_keys == frozenset()  # nothing left to rewrite


def test_an_import_stopped_half_way_is_finished_by_the_next(svc: Services) -> None:
    """Rows already deleted by an import that stopped before its record rows do not fail the next."""
    svc.advisories.import_records(pyyaml_records())
    severity_table = _tables(svc).table("advisoryseverity")
    severity_table.delete_entity(*severity_row_key("CVE-2020-14343"))
    pypa_only = [record for record in pyyaml_records() if record.id.startswith("PYSEC-")]
    result = svc.advisories.import_records(pypa_only, complete_ecosystems=["PyPI"])
    assert (result.removed, result.changed_keys) == (1, frozenset({PackageKey("PyPI", "pyyaml")}))
    assert list(severity_table.list_entities()) == []
    assert dict(svc.advisories.severities(["CVE-2020-14343", "GHSA-8q59-q68h-6hv4"])) == {}


def test_coverage_counts_records_per_ecosystem_and_follows_imports(svc: Services) -> None:
    mirror = svc.advisories
    assert mirror.coverage() == {}  # nothing imported: an empty mirror, not an unknown one
    records = [
        *pyyaml_records(),
        advisory("DEBIAN-CVE-2026-1", affected("Debian:12", "zlib", ("introduced", "0"), ("fixed", "1:1.3-1")),
                 affected("Debian:11", "zlib", ("introduced", "0"), ("fixed", "1:1.2-1"))),
    ]
    mirror.import_records(records)
    assert mirror.coverage() == {"Debian:11": 1, "Debian:12": 1, "PyPI": 3}
    memory = MemoryIndex()
    memory.import_records(records)
    assert mirror.coverage() == memory.coverage()
    mirror.import_records(pyyaml_records()[:1], complete_ecosystems=["PyPI"])
    assert mirror.coverage() == {"Debian:11": 1, "Debian:12": 1, "PyPI": 1}


def test_coverage_of_a_snapshot_written_without_counts_is_computed_from_the_records(svc: Services) -> None:
    svc.advisories.import_records(pyyaml_records())
    meta = _tables(svc).table("advisorymeta")
    row = meta.get_entity(SNAPSHOT_PARTITION, SNAPSHOT_ROW)
    legacy = {k: v for k, v in row.items() if not k.startswith("ecosystems")}
    meta.upsert_entity(legacy, mode=UpdateMode.REPLACE)
    assert advisory_mirror.TableAdvisoryIndex(_tables(svc)).coverage() == {"PyPI": 3}


def _records(index: advisory_mirror.TableAdvisoryIndex | advisory_mirror.PinnedAdvisories,
             key: PackageKey) -> tuple[Advisory, ...]:
    return tuple(index.lookup([osv_query(PackageRef(f"pkg:pypi/{key.name}@1.0"))]).records[key])


def test_a_reader_follows_an_import_reloading_only_the_changed_packages(svc: Services) -> None:
    """The process-wide cache of another instance: after one import it reloads only the package keys the
    snapshot row lists as changed (its other records are the very objects it held); after two imports,
    or a row that lists no changes, it reloads everything."""
    a, b = PackageKey("PyPI", "alpha"), PackageKey("PyPI", "beta")
    first = [advisory("PYSEC-1", affected("PyPI", "alpha", ("introduced", "0"), ("fixed", "1.1"))),
             advisory("PYSEC-2", affected("PyPI", "beta", ("introduced", "0"), ("fixed", "2.1")))]
    svc.advisories.import_records(first)
    reader = advisory_mirror.TableAdvisoryIndex(_tables(svc))
    held_a, held_b = _records(reader, a), _records(reader, b)
    assert [r.id for r in held_a] == ["PYSEC-1"]

    changed = advisory("PYSEC-1", affected("PyPI", "alpha", ("introduced", "0"), ("fixed", "1.2")),
                       modified="2025-01-01T00:00:00Z")
    result = svc.advisories.import_records([changed])
    assert result.changed_keys == {a}
    status = svc.advisories.status()
    assert "changes_0" not in status and "previous" not in status  # internal: not part of the status
    assert _records(reader, b)[0] is held_b[0]  # kept
    assert [r.digest for r in _records(reader, a)] == [changed.digest]  # reloaded
    assert reader.snapshot == result.snapshot

    pinned = reader.pinned()
    assert (pinned.snapshot, dict(pinned.coverage())) == (result.snapshot, {"PyPI": 2})
    svc.advisories.import_records([advisory("PYSEC-3", affected("PyPI", "beta", ("introduced", "2.0")))])
    svc.advisories.import_records([advisory("PYSEC-4", affected("PyPI", "gamma", ("introduced", "0")))])
    assert pinned.snapshot == result.snapshot  # a pinned view keeps the snapshot it was taken at
    assert sorted(r.id for r in _records(reader, b)) == ["PYSEC-2", "PYSEC-3"]  # two imports on: reloaded whole
    assert _records(reader, a)[0] is not held_a[0]


def test_the_importing_instance_brings_its_own_cache_forward(svc: Services) -> None:
    a, b = PackageKey("PyPI", "alpha"), PackageKey("PyPI", "beta")
    svc.advisories.import_records([advisory("PYSEC-1", affected("PyPI", "alpha", ("introduced", "0"))),
                                   advisory("PYSEC-2", affected("PyPI", "beta", ("introduced", "0")))])
    held_b = _records(svc.advisories, b)
    svc.advisories.import_records([advisory("PYSEC-5", affected("PyPI", "alpha", ("introduced", "1.0")))])
    assert _records(svc.advisories, b)[0] is held_b[0]
    assert sorted(r.id for r in _records(svc.advisories, a)) == ["PYSEC-1", "PYSEC-5"]
    svc.advisories.import_records([advisory("PYSEC-5", affected("PyPI", "alpha", ("introduced", "1.0")))],
                                  complete_ecosystems=["PyPI"])  # PYSEC-1 and PYSEC-2 go
    assert (_records(svc.advisories, b), [r.id for r in _records(svc.advisories, a)]) == ((), ["PYSEC-5"])


def test_a_reader_forgets_only_the_ratings_an_import_changed(svc: Services) -> None:
    svc.advisories.import_records(pyyaml_records())
    reader = advisory_mirror.TableAdvisoryIndex(_tables(svc))
    asked = ["CVE-2020-14343", "GHSA-8q59-q68h-6hv4"]
    assert dict(reader.severities(asked)) == {name: PYYAML_GHSA for name in asked}
    _tables(svc).table("advisoryseverity").delete_entity(*severity_row_key("GHSA-8q59-q68h-6hv4"))  # behind its back

    rated = advisory("PYSEC-2026-9", affected("PyPI", "pyyaml", ("introduced", "0")), aliases=["CVE-2020-14343"],
                     severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}])
    svc.advisories.import_records([rated])
    found = dict(reader.severities(asked))
    assert found["GHSA-8q59-q68h-6hv4"] == PYYAML_GHSA  # not re-rated: still the cached rating
    assert (found["CVE-2020-14343"].score, found["CVE-2020-14343"].source) == (10.0, "PYSEC-2026-9")  # re-rated: read again
