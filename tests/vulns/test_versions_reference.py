"""Maven, RPM and RubyGems ordering against comparisons recorded from each ecosystem's own tool.

The files under ``testdata/`` hold one comparison per line, ``A < B``, ``A == B`` or ``A > B``, as
answered by Maven's ``ComparableVersion`` (maven-artifact 3.8.7), rpm 4.18's ``rpm.vercmp`` and Ruby
3.1's ``Gem::Version#<=>`` (see each file's header). Every line must hold for our ordering too.
"""

from __future__ import annotations

import pytest

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions import MAVEN, RPM, RUBYGEMS, VersionScheme
from shared.vulns.versions.maven import parse_items
from tests.vulns.support import TESTDATA


def _comparisons(name: str) -> list[tuple[str, int, str]]:
    out = []
    for line in (TESTDATA / name).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        for op, result in ((" == ", 0), (" < ", -1), (" > ", 1)):
            if op in line:
                a, b = line.split(op)
                out.append((a, result, b))
                break
        else:
            raise AssertionError(f"bad line {line!r}")
    return out


def _cmp(scheme: VersionScheme, a: str, b: str) -> int:
    x, y = scheme.key(a), scheme.key(b)
    return -1 if x < y else 1 if y < x else 0


@pytest.mark.parametrize(
    ("scheme", "name", "at_least"),
    [(MAVEN, "maven_comparisons.txt", 600), (RPM, "rpm_comparisons.txt", 500), (RUBYGEMS, "rubygems_comparisons.txt", 300)],
)
def test_recorded_comparisons_hold(scheme: VersionScheme, name: str, at_least: int) -> None:
    comparisons = _comparisons(name)
    assert len(comparisons) >= at_least
    wrong = [(a, b, expected, _cmp(scheme, a, b)) for a, expected, b in comparisons if _cmp(scheme, a, b) != expected]
    assert wrong == []


# Maven's documented order (maven.apache.org, "Version Order Specification") and ComparableVersion's
# canonical forms, as printed by maven-artifact 3.8.7.
MAVEN_RULES = [
    ("1", "=", "1.0", "trailing zeros are dropped"),
    ("1.0.0", "=", "1-ga", "ga, final and release are the release itself"),
    ("1-final", "=", "1-release", "final = release"),
    ("1-alpha", "<", "1-beta", "alpha < beta"),
    ("1-beta", "<", "1-milestone", "beta < milestone"),
    ("1-milestone", "<", "1-rc", "milestone < rc"),
    ("1-rc", "=", "1-cr", "cr = rc"),
    ("1-rc", "<", "1-snapshot", "rc < snapshot"),
    ("1-snapshot", "<", "1", "snapshot < release"),
    ("1", "<", "1-sp", "release < sp"),
    ("1-sp", "<", "1-abc", "unknown qualifiers after the known ones"),
    ("1-abc", "<", "1-abd", "unknown qualifiers alphabetically"),
    ("1-a1", "=", "1-alpha-1", "a1 abbreviates alpha-1"),
    ("1-b2", "=", "1-beta-2", "b2 abbreviates beta-2"),
    ("1-m3", "=", "1-milestone-3", "m3 abbreviates milestone-3"),
    ("1.0.0.RC1", "=", "1.0.0-RC1", "a qualifier after a dot reads as after a hyphen"),
    ("2.0.0-M19", ">", "2.0.0.M1", "milestone numbers compare numerically"),
    ("1.0-SNAPSHOT", "<", "1.0", "a snapshot precedes its release"),
    ("1.1", ">", "1-sp", "a number beats a qualifier"),
    ("1-1", "<", "1.1", "a sub-list (after -) is less than a number"),
    ("1.0-jre", "<", "1.0.1-jre", "guava-style versions"),
    ("33.2.1-android", "<", "33.2.1-jre", "unknown qualifiers alphabetically (android < jre)"),
    ("9.4.51.v20230217", "<", "9.4.52.v20230823", "Jetty-style versions"),
    ("4.1.111.Final", ">", "4.1.111.CR1", "Final after CR"),
    ("1.0", "=", "1.0", "equal"),
]


@pytest.mark.parametrize(("a", "op", "b", "rule"), MAVEN_RULES)
def test_maven_rules(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(MAVEN, a, b)] == op, rule


def test_maven_items_match_comparable_versions_canonical_form() -> None:
    assert parse_items("1.0.0.X1") == [1, ["x", [1]]]
    assert parse_items("1-1.foo-bar1baz-.1") == [1, [1, "foo", ["bar", [1, ["baz", [0, 1]]]]]]
    assert parse_items("1.ga.1") == [1, "", 1]
    assert parse_items("a1b2") == ["alpha", [1, ["beta", [2]]]]
    assert parse_items("1-ga-1") == [1, [[1]]]
    assert parse_items("0") == []


# rpmvercmp (rpm's lib/rpmvercmp.c, documented in rpm.org's "Versioning" page).
RPM_RULES = [
    ("1.0", "<", "1.0.1", "more segments win"),
    ("1.10", ">", "1.9", "numeric segments compare numerically"),
    ("1.0a", ">", "1.0", "an extra alphabetic segment wins over none"),
    ("1.0", ">", "1.a", "a numeric segment beats an alphabetic one"),
    ("1.0~rc1", "<", "1.0", "~ sorts before everything, even the end"),
    ("1.0^git1", ">", "1.0", "^ sorts after the end"),
    ("1.0^git1", "<", "1.0.1", "^ sorts before a further segment"),
    ("1.0_1", "=", "1.0.1", "separators only separate"),
    ("1:1.0-1", ">", "2.0-1", "epoch first"),
    ("0:1.0-1", "=", "1.0-1", "epoch 0 is no epoch"),
    ("2.34-60.el9", "<", "2.34-60.el9_2.7", "releases compare like versions"),
    ("1.1.1k-7.el8_6", "<", "1.1.1k-12.el8_9", "release numbers compare numerically"),
    ("01.0", "=", "1.0", "leading zeros are ignored"),
]


@pytest.mark.parametrize(("a", "op", "b", "rule"), RPM_RULES)
def test_rpm_rules(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(RPM, a, b)] == op, rule


# Gem::Version's documented behaviour (RubyGems' lib/rubygems/version.rb).
GEM_RULES = [
    ("1.0", "=", "1.0.0", "trailing zeros are ignored"),
    ("1.0.a", "<", "1.0", "a letter starts a pre-release"),
    ("1.0.a", "<", "1.0.b", "pre-releases compare alphabetically"),
    ("1.0.rc1", "<", "1.0", "rc is a pre-release"),
    ("1.0.0.beta1", "=", "1.0.0.beta.1", "letters and digits split into segments"),
    ("1.0-pre", "=", "1.0.pre.pre", "a hyphen reads as .pre."),
    ("5.0.0.1", ">", "5.0.0", "four segments (Rails security releases)"),
    ("1.10", ">", "1.9", "numeric segments compare numerically"),
]


@pytest.mark.parametrize(("a", "op", "b", "rule"), GEM_RULES)
def test_rubygems_rules(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(RUBYGEMS, a, b)] == op, rule


@pytest.mark.parametrize(
    ("scheme", "bad"), [(MAVEN, ""), (MAVEN, "1 0"), (RPM, ""), (RPM, "x:1.0"), (RUBYGEMS, ""), (RUBYGEMS, "1.0 beta")]
)
def test_unparseable_versions_raise(scheme: VersionScheme, bad: str) -> None:
    with pytest.raises(InvalidVersion):
        scheme.key(bad)
