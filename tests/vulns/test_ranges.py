"""OSV range evaluation: the schema's evaluation rules and their edge cases."""

from __future__ import annotations

import pytest

from shared.vulns.model import Affected, Event, OsvPackage, Range
from shared.vulns.ranges import CompiledAffected


def _entry(
    *ranges: tuple[str, list[tuple[str, str]]], versions: tuple[str, ...] = (), ecosystem: str = "PyPI"
) -> CompiledAffected:
    affected = Affected(
        package=OsvPackage(ecosystem, "example"),
        ranges=tuple(Range(kind, tuple(Event(k, v) for k, v in events)) for kind, events in ranges),  # type: ignore[arg-type]
        versions=versions,
    )
    return CompiledAffected(affected, ecosystem)


def _affected(entry: CompiledAffected, version: str) -> bool:
    return entry.evaluate(version).affected


def test_introduced_zero_means_every_version_before_the_fix() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "0"), ("fixed", "1.5")]))
    assert _affected(entry, "0.0.1")
    assert _affected(entry, "1.5rc1")
    assert not _affected(entry, "1.5")
    assert not _affected(entry, "2.0")
    assert entry.evaluate("1.0").fixed == ("1.5",)


def test_introduced_only_affects_everything_from_there_on() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "2.0")]))
    assert not _affected(entry, "1.9")
    assert _affected(entry, "2.0")
    assert _affected(entry, "99")
    assert entry.evaluate("3.0").fixed == ()


def test_several_intervals_in_one_range() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "1.0"), ("fixed", "1.0.2"), ("introduced", "3.0"), ("fixed", "3.2.5")]))
    assert [v for v in ["0.9", "1.0", "1.0.1", "1.0.2", "2.0", "3.0", "3.2.4", "3.2.5", "4"] if _affected(entry, v)] == [
        "1.0",
        "1.0.1",
        "3.0",
        "3.2.4",
    ]
    assert entry.evaluate("3.1").fixed == ("3.2.5",)
    assert entry.evaluate("1.0.1").fixed == ("1.0.2",)


def test_unsorted_events_are_sorted_by_version_first() -> None:
    entry = _entry(("ECOSYSTEM", [("fixed", "3.2.5"), ("introduced", "3.0"), ("fixed", "1.0.2"), ("introduced", "1.0")]))
    assert [v for v in ["0.9", "1.0", "1.0.2", "2.0", "3.1", "3.2.5"] if _affected(entry, v)] == ["1.0", "3.1"]


def test_last_affected_is_inclusive() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "1.0"), ("last_affected", "1.4")]))
    assert not _affected(entry, "0.9")
    assert _affected(entry, "1.4")
    assert not _affected(entry, "1.4.1")
    assert entry.evaluate("1.2").fixed == ()  # no fix is known


def test_last_affected_and_fixed_in_different_intervals() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "1.0"), ("last_affected", "1.4"), ("introduced", "2.0"), ("fixed", "2.3")]))
    assert entry.evaluate("1.4").fixed == ()
    assert entry.evaluate("2.1").fixed == ("2.3",)
    assert not _affected(entry, "1.5")


def test_limit_caps_the_range() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "1.0"), ("limit", "2.0")]))
    assert _affected(entry, "1.9")
    assert not _affected(entry, "2.0")
    assert not _affected(entry, "0.5")
    several = _entry(("ECOSYSTEM", [("introduced", "0"), ("limit", "1.0"), ("limit", "3.0")]))
    assert _affected(several, "2.0"), "below any one limit is enough"
    assert not _affected(several, "3.0")
    star = _entry(("ECOSYSTEM", [("introduced", "1.0"), ("limit", "*")]))
    assert _affected(star, "1000")


def test_introduced_and_fixed_at_the_same_version_affects_nothing() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "1.0"), ("fixed", "1.0")]))
    assert not _affected(entry, "1.0")
    assert not _affected(entry, "2.0")


def test_equal_versions_keep_the_publishers_order() -> None:
    # As in PYSEC-2022-236: [0, 3.1.1) and [3.1.1, 3.1.3) written as fixed 3.1.1 ... introduced 3.1.1.
    entry = _entry(
        (
            "ECOSYSTEM",
            [
                ("introduced", "0"),
                ("fixed", "3.1.1"),
                ("introduced", "3.2.0"),
                ("fixed", "3.2.2"),
                ("introduced", "3.1.1"),
                ("fixed", "3.1.3"),
            ],
        )
    )
    assert [v for v in ["3.1.0", "3.1.1", "3.1.2", "3.1.3", "3.2.0", "3.2.2"] if _affected(entry, v)] == [
        "3.1.0",
        "3.1.1",
        "3.1.2",
        "3.2.0",
    ]
    assert entry.evaluate("3.1.1").fixed == ("3.1.3",)


def test_versions_list_alone_and_with_ranges() -> None:
    listed = _entry(versions=("1.0", "1.1"))
    assert _affected(listed, "1.1")
    assert _affected(listed, "1.1.0"), "PEP 440 equality: 1.1.0 is 1.1"
    assert not _affected(listed, "1.2")
    both = _entry(("ECOSYSTEM", [("introduced", "2.0"), ("fixed", "2.1")]), versions=("1.0",))
    assert _affected(both, "1.0")
    assert both.evaluate("1.0").fixed == ("2.1",), "fixes above the listed version are offered"
    assert _affected(both, "2.0.5")


def test_git_ranges_are_ignored_but_versions_still_count() -> None:
    entry = _entry(("GIT", [("introduced", "0"), ("fixed", "a" * 40)]), versions=("1.0",))
    assert _affected(entry, "1.0")
    assert not _affected(entry, "1.1")
    assert entry.problems == ()


def test_semver_ranges_use_semver_ordering_in_any_ecosystem() -> None:
    entry = _entry(("SEMVER", [("introduced", "0"), ("fixed", "1.10.0")]), ecosystem="npm")
    assert _affected(entry, "1.9.0")
    assert not _affected(entry, "1.10.0")
    go = _entry(("SEMVER", [("introduced", "0"), ("fixed", "0.0.0-20220314234659-1baeb1ce4c0b")]), ecosystem="Go")
    assert _affected(go, "0.0.0-20210220033148-5ea612d1eb83")
    assert not _affected(go, "0.1.0")


def test_an_unparseable_installed_version_is_a_problem_not_a_silent_no() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "0"), ("fixed", "2.0")]))
    verdict = entry.evaluate("not a version")
    assert not verdict.affected
    assert verdict.problems and "not a PEP 440 version" in verdict.problems[0]


def test_an_installed_version_listed_by_its_exact_string_matches_even_when_unparseable() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "0"), ("fixed", "2.0")]), versions=("0.9-gyarados",))
    assert entry.evaluate("0.9-gyarados").affected


def test_an_unparseable_event_disables_only_its_range_and_is_reported() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "0"), ("fixed", "banana split")]), ("ECOSYSTEM", [("introduced", "3.0")]))
    assert entry.problems and "banana split" in entry.problems[0]
    assert _affected(entry, "3.1")
    verdict = entry.evaluate("1.0")
    assert not verdict.affected and verdict.problems


def test_an_ecosystem_without_ordering_is_reported() -> None:
    entry = _entry(("ECOSYSTEM", [("introduced", "0"), ("fixed", "2")]), versions=("1",), ecosystem="OSS-Fuzz")
    assert _affected(entry, "1")
    verdict = entry.evaluate("1.5")
    assert not verdict.affected
    assert "no ECOSYSTEM version ordering" in verdict.problems[0]


@pytest.mark.parametrize(
    ("ecosystem", "events", "inside", "outside"),
    [
        (
            "Debian:12",
            [("introduced", "0"), ("fixed", "2.36-9+deb12u4")],
            ["2.36-9", "2.36-9+deb12u3", "2.36-9+deb12u4~pre1"],
            ["2.36-9+deb12u4", "2.37-1", "1:0~"],
        ),
        (
            "Alpine:v3.19",
            [("introduced", "0"), ("fixed", "1.36.1-r16")],
            ["1.36.1-r15", "1.36.1_rc1-r20"],
            ["1.36.1-r16", "1.36.2-r0"],
        ),
        ("Maven", [("introduced", "2.0.0"), ("fixed", "2.15.0")], ["2.0.0", "2.14.1"], ["1.9", "2.15.0", "2.15.0.1"]),
        ("RubyGems", [("introduced", "0"), ("fixed", "7.0.8.1")], ["7.0.8", "7.0.8.1.rc1"], ["7.0.8.1", "7.1.0"]),
        (
            "AlmaLinux:9",
            [("introduced", "0"), ("fixed", "2.34-60.el9_2.7")],
            ["2.34-60.el9", "2.34-60.el9_2.6"],
            ["2.34-60.el9_2.7", "2.34-83.el9"],
        ),
    ],
)
def test_ecosystem_ranges(ecosystem: str, events: list[tuple[str, str]], inside: list[str], outside: list[str]) -> None:
    entry = _entry(("ECOSYSTEM", events), ecosystem=ecosystem)
    assert [v for v in inside if not _affected(entry, v)] == []
    assert [v for v in outside if _affected(entry, v)] == []
