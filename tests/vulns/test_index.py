"""The offline mirror index: lookups by package key and incremental imports."""

from __future__ import annotations

from shared.vulns.feeds import DirectoryFeed
from shared.vulns.index import ImportResult, MemoryIndex
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey, PackageRef, osv_query
from shared.vulns.problems import Problem
from tests.vulns.alias_severity import check_severity_by_id
from tests.vulns.support import GO, PYPA, advisory, affected


def _flask(fixed: str = "2.0", **fields: object) -> Advisory:
    return advisory("PYSEC-2024-10", affected("PyPI", "Flask", ("introduced", "0"), ("fixed", fixed)), **fields)


def test_lookup_by_normalized_package_key() -> None:
    index = MemoryIndex()
    index.import_records(
        [_flask(), advisory("GO-2024-1", affected("Go", "golang.org/x/net", ("introduced", "0"), kind="SEMVER"))]
    )
    assert [a.id for a in index.records_for(PackageKey("PyPI", "flask"))] == ["PYSEC-2024-10"]
    lookup = index.lookup([osv_query(PackageRef("pkg:pypi/FLASK@1.0"))])
    assert [a.id for a in lookup.records[PackageKey("PyPI", "flask")]] == ["PYSEC-2024-10"]
    assert index.records_for(PackageKey("PyPI", "django")) == ()
    assert index.get("GO-2024-1") is not None
    assert index.package_keys() == {PackageKey("PyPI", "flask"), PackageKey("Go", "golang.org/x/net")}


def test_importing_the_same_data_again_changes_nothing() -> None:
    index = MemoryIndex()
    first = index.import_records([_flask()])
    assert (first.added, first.changed, first.changed_keys) == (1, 1, frozenset({PackageKey("PyPI", "flask")}))
    again = index.import_records([_flask()])
    assert (again.changed, again.unchanged, again.changed_keys, again.changed_ids) == (0, 1, frozenset(), frozenset())
    assert again.snapshot == first.snapshot


def test_a_changed_record_reports_its_old_and_new_package_keys() -> None:
    index = MemoryIndex()
    index.import_records([_flask()])
    moved = advisory(
        "PYSEC-2024-10",
        affected("PyPI", "werkzeug", ("introduced", "0"), ("fixed", "3.0")),
        modified="2024-06-01T00:00:00Z",
    )
    result = index.import_records([moved])
    assert (result.updated, result.changed_ids) == (1, frozenset({"PYSEC-2024-10"}))
    assert result.changed_keys == {PackageKey("PyPI", "flask"), PackageKey("PyPI", "werkzeug")}
    assert index.records_for(PackageKey("PyPI", "flask")) == ()
    assert index.get("PYSEC-2024-10") == moved


def test_a_change_is_detected_by_content_even_with_a_placeholder_modified_time() -> None:
    index = MemoryIndex()
    index.import_records([_flask(modified="0001-01-01T00:00:00Z")])
    result = index.import_records([_flask(fixed="2.1", modified="0001-01-01T00:00:00Z")])
    assert result.updated == 1


def test_an_older_copy_of_a_record_is_stale_and_ignored() -> None:
    index = MemoryIndex()
    index.import_records([_flask(fixed="2.1", modified="2024-06-01T00:00:00Z")])
    result = index.import_records([_flask(fixed="2.0", modified="2024-01-01T00:00:00Z")])
    assert (result.stale, result.changed) == (1, 0)
    stored = index.get("PYSEC-2024-10")
    assert stored is not None and stored.affected[0].ranges[0].events[1].version == "2.1"


def test_withdrawal_is_a_change() -> None:
    index = MemoryIndex()
    index.import_records([_flask()])
    result = index.import_records([_flask(withdrawn="2024-07-01T00:00:00Z", modified="2024-07-01T00:00:00Z")])
    assert (result.updated, result.withdrawn, result.changed_keys) == (1, 1, frozenset({PackageKey("PyPI", "flask")}))


def test_a_complete_feed_removes_what_it_no_longer_has_in_its_ecosystems() -> None:
    index = MemoryIndex()
    go = advisory("GO-2024-1", affected("Go", "golang.org/x/net", ("introduced", "0"), kind="SEMVER"))
    gone = advisory("PYSEC-2024-11", affected("PyPI", "jinja2", ("introduced", "0"), ("fixed", "3.1")))
    index.import_records([_flask(), gone, go])
    result = index.import_records([_flask()], complete_ecosystems=["PyPI"])
    assert (result.removed, result.unchanged, result.changed_ids) == (1, 1, frozenset({"PYSEC-2024-11"}))
    assert result.changed_keys == {PackageKey("PyPI", "jinja2")}
    assert index.get("GO-2024-1") is not None, "other ecosystems are left alone"
    assert len(index) == 2


def test_problems_and_duplicates_are_reported() -> None:
    index = MemoryIndex()
    problem = Problem("invalid-advisory", "id is missing", origin="x.json")
    newer = _flask(fixed="2.2", modified="2024-09-01T00:00:00Z")
    result = index.import_records([problem, _flask(), newer])
    assert result.added == 1
    assert [p.code for p in result.problems] == ["invalid-advisory", "duplicate-advisory"]
    stored = index.get("PYSEC-2024-10")
    assert stored is not None and stored.digest == newer.digest


def test_importing_the_shipped_data(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    index, result = real_index
    assert result.added == len(index) == len(list(PYPA.glob("*/*.yaml"))) + len(list(GO.glob("*.json")))
    assert result.problems == ()
    assert len(result.changed_keys) == len(index.package_keys()) > 2000
    assert len(index.records_for(PackageKey("PyPI", "django"))) > 50
    assert len(index.records_for(PackageKey("Go", "stdlib"))) > 100


def test_reimporting_a_shipped_feed_reports_zero_changes(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    index = MemoryIndex()
    index.import_records(DirectoryFeed(GO).read())
    snapshot = index.snapshot
    again = index.import_records(DirectoryFeed(GO).read(), complete_ecosystems=["Go"])
    assert (again.changed, again.unchanged) == (0, len(index))
    assert index.snapshot == snapshot


def test_lookup_of_queries_with_release_less_fallbacks() -> None:
    index = MemoryIndex()
    debian = advisory("DSA-1-1", affected("Debian", "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u9")))
    index.import_records([debian])
    query = OsvQuery("Debian:12", "glibc", "2.36-9", (PackageKey("Debian:12", "glibc"), PackageKey("Debian", "glibc")))
    assert [a.id for a in index.lookup([query]).for_query(query)] == ["DSA-1-1"]


def test_ratings_filed_by_id_follow_imports() -> None:
    check_severity_by_id(MemoryIndex())


def test_the_shipped_data_files_the_ratings_of_the_records_that_rate_themselves(
    real_index: tuple[MemoryIndex, ImportResult],
) -> None:
    index, _ = real_index
    werkzeug = index.get("PYSEC-2023-221")
    assert werkzeug is not None and set(werkzeug.aliases) == {"CVE-2023-46136", "GHSA-hrfv-mqp8-q5rw"}
    ratings = index.severities(["PYSEC-2023-221", "CVE-2023-46136", "GHSA-hrfv-mqp8-q5rw", "PYSEC-2021-142", "GO-2022-1059"])
    assert set(ratings) == {"PYSEC-2023-221", "CVE-2023-46136", "GHSA-hrfv-mqp8-q5rw"}
    assert {(r.rating, r.score, r.source) for r in ratings.values()} == {("high", 7.5, "PYSEC-2023-221")}
