"""SemVer (npm, crates.io, Go), PEP 440, NuGet and Packagist ordering, and which scheme each ecosystem uses."""

from __future__ import annotations

import functools
import itertools

import pytest

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions import (
    APK,
    DEBIAN,
    MAVEN,
    NUGET,
    PACKAGIST,
    PEP440,
    RPM,
    RUBYGEMS,
    SEMVER,
    VersionScheme,
    scheme_for,
    scheme_for_range,
)


def _cmp(scheme: VersionScheme, a: str, b: str) -> int:
    x, y = scheme.key(a), scheme.key(b)
    return -1 if x < y else 1 if y < x else 0


def _assert_ascending(scheme: VersionScheme, versions: list[str]) -> None:
    for a, b in itertools.pairwise(versions):
        assert _cmp(scheme, a, b) == -1, (a, b)
    assert sorted(reversed(versions), key=functools.cmp_to_key(functools.partial(_cmp, scheme))) == versions


def test_semver_precedence_example_of_the_specification() -> None:
    # SemVer 2.0.0, section 11: the example list, in ascending precedence.
    _assert_ascending(
        SEMVER,
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ],
    )
    _assert_ascending(SEMVER, ["1.0.0", "2.0.0", "2.1.0", "2.1.1"])  # section 11.2: numerically


@pytest.mark.parametrize(
    ("a", "op", "b", "rule"),
    [
        ("1.0.0+build.1", "=", "1.0.0+build.2", "build metadata is ignored (section 10)"),
        ("2.0.0+incompatible", "=", "2.0.0", "Go's +incompatible is build metadata"),
        ("v1.2.3", "=", "1.2.3", "a leading v is tolerated (Go tags)"),
        ("0.0.0-20210220033148-5ea612d1eb83", "<", "0.0.0-20220314234659-1baeb1ce4c0b", "Go pseudo-versions order by time"),
        ("0.0.0-20210220033148-5ea612d1eb83", "<", "0.1.0", "a pseudo-version sorts before the next release"),
        ("1.2.4-0.20210220033148-5ea612d1eb83", ">", "1.2.3", "a pseudo-version after 1.2.3 sorts above it"),
        ("1.2.4-0.20210220033148-5ea612d1eb83", "<", "1.2.4", "... and below the release it leads to"),
        ("1.21.0-rc.2", "<", "1.21.0", "Go toolchain release candidates"),
        ("1.0.0-alpha.10", ">", "1.0.0-alpha.9", "numeric identifiers compare numerically"),
        ("1.0.0-10", "<", "1.0.0-alpha", "numeric identifiers sort before alphanumeric ones"),
    ],
)
def test_semver_rules(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(SEMVER, a, b)] == op, rule


@pytest.mark.parametrize("bad", ["1.2", "01.2.3", "1.2.3-", "1.2.3.4", "latest", "(devel)", ""])
def test_not_semver(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        SEMVER.key(bad)


def test_pep440_ordering_of_the_specification() -> None:
    # PEP 440, "Summary of permitted suffixes and relative ordering".
    _assert_ascending(
        PEP440,
        [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.1.dev1",
        ],
    )
    assert _cmp(PEP440, "1.0", "1.0.0") == 0
    assert _cmp(PEP440, "1.0a1", "1.0.alpha1") == 0
    assert len({PEP440.key("1.0"), PEP440.key("1.0.0"), PEP440.key("v1.0")}) == 1
    with pytest.raises(InvalidVersion):
        PEP440.key("0.9-gyarados")


@pytest.mark.parametrize(
    ("a", "op", "b", "rule"),
    [
        ("1.0", "=", "1.0.0.0", "NuGet pads to four parts"),
        ("1.0.0.1", ">", "1.0.0", "a fourth (revision) part"),
        ("1.0.0-Beta", "=", "1.0.0-beta", "pre-release labels ignore case"),
        ("1.0.0-beta", "<", "1.0.0", "pre-release before release"),
        ("1.0.0-beta.2", "<", "1.0.0-beta.10", "SemVer 2 pre-release numbers"),
        ("13.0.1", ">", "9.0.1", "numeric parts"),
    ],
)
def test_nuget_rules(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(NUGET, a, b)] == op, rule


@pytest.mark.parametrize(
    ("a", "op", "b", "rule"),
    [
        ("1.0", "=", "1.0.0", "Composer normalizes to four numbers"),
        ("v2.1.0", "=", "2.1.0", "a leading v is dropped"),
        ("1.0.0-dev", "<", "1.0.0-alpha1", "dev < alpha (PHP version_compare)"),
        ("1.0.0-alpha1", "=", "1.0.0-a1", "alpha = a"),
        ("1.0.0-alpha2", "<", "1.0.0-beta1", "alpha < beta"),
        ("1.0.0-beta1", "=", "1.0.0-b1", "beta = b"),
        ("1.0.0-beta2", "<", "1.0.0-RC1", "beta < RC"),
        ("1.0.0-RC1", "<", "1.0.0", "RC < a release"),
        ("1.0.0", "<", "1.0.0-pl1", "a release < pl"),
        ("1.0.0-p1", "=", "1.0.0-pl1", "pl = p"),
        ("1.0.0-foo", "<", "1.0.0-dev", "any other word < dev"),
        ("5.4.10", ">", "5.4.9", "numbers compare numerically"),
        ("2.3.4RC1", "=", "2.3.4-RC1", "a dot goes between a digit and a letter"),
    ],
)
def test_packagist_rules(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(PACKAGIST, a, b)] == op, rule


@pytest.mark.parametrize("bad", ["dev-main", "1.x-dev", "", "1..0", "*"])
def test_packagist_branches_do_not_parse(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        PACKAGIST.key(bad)


@pytest.mark.parametrize(
    ("ecosystem", "scheme"),
    [
        ("PyPI", PEP440),
        ("npm", SEMVER),
        ("crates.io", SEMVER),
        ("Go", SEMVER),
        ("Maven", MAVEN),
        ("RubyGems", RUBYGEMS),
        ("NuGet", NUGET),
        ("Packagist", PACKAGIST),
        ("Debian:12", DEBIAN),
        ("Ubuntu:22.04:LTS", DEBIAN),
        ("Alpine:v3.19", APK),
        ("Wolfi", APK),
        ("AlmaLinux:9", RPM),
        ("Rocky Linux:9", RPM),
    ],
)
def test_scheme_for_ecosystem(ecosystem: str, scheme: VersionScheme) -> None:
    assert scheme_for(ecosystem) is scheme
    assert scheme_for_range("ECOSYSTEM", ecosystem) is scheme
    assert scheme_for_range("SEMVER", ecosystem) is SEMVER


def test_unknown_ecosystems_have_no_scheme() -> None:
    assert scheme_for("Bitnami") is None
    assert scheme_for_range("ECOSYSTEM", "OSS-Fuzz") is None


def test_parse_errors_are_cached_but_raised_each_time() -> None:
    for _ in range(3):
        with pytest.raises(InvalidVersion, match="not a semantic version"):
            SEMVER.key("not-a-version")
