"""Alpine (apk) version ordering against apk-tools' rules.

Each row names the rule it exercises; several rows are cases from apk-tools' own test data
(``test/version.data`` in the apk-tools repository), marked "apk-tools".
"""

from __future__ import annotations

import functools

import pytest

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions import APK

CASES = [
    ("1.0", "<", "1.0.1", "a further number makes a later version"),
    ("1.2", "<", "1.10", "numbers compare numerically"),
    ("1.0.4-r3", "<", "1.0.4-r4", "apk-tools: revisions compare numerically"),
    ("2.38.1-r1", "<", "2.38.1-r10", "revision 10 after revision 1"),
    ("1.0", "<", "1.0-r1", "a revision makes a later version than none (-r0 is the first build)"),
    ("1.0-r0", ">", "1.0", "the end of input sorts before a revision"),
    ("1.1_alpha1", "<", "1.1", "apk-tools: a pre-release suffix sorts before the release"),
    ("1.3_alpha", "<", "1.3_alpha2", "apk-tools: a suffix number after none"),
    ("0.8_beta1", "<", "0.8_beta2", "apk-tools: suffix numbers compare numerically"),
    ("1.0_alpha", "<", "1.0_beta", "alpha < beta"),
    ("1.0_beta", "<", "1.0_pre", "beta < pre"),
    ("1.0_pre", "<", "1.0_rc", "pre < rc"),
    ("1.0_rc9", "<", "1.0", "rc < release"),
    ("1.0", "<", "1.0_cvs1", "post-release suffixes sort after the release"),
    ("1.0_cvs1", "<", "1.0_svn1", "cvs < svn"),
    ("1.0_svn1", "<", "1.0_git1", "svn < git"),
    ("1.0_git1", "<", "1.0_hg1", "git < hg"),
    ("1.0_hg1", "<", "1.0_p1", "hg < p"),
    ("3.1_p16", "<", "3.1_p17", "apk-tools: patch levels compare numerically"),
    ("1.8.5", "<", "1.8.5_p2", "apk-tools: a patch level sorts after the plain version"),
    ("1.2.4_git20230717-r4", ">", "1.2.4-r4", "a snapshot suffix after the release (musl in Alpine 3.19)"),
    ("1.2.4_git20230717-r4", "<", "1.2.5-r0", "a snapshot of 1.2.4 sorts before 1.2.5"),
    ("1.0.0_pre20191002222144-r0", "<", "1.0.0_pre20210530193627-r0", "apk-tools: large suffix numbers"),
    ("0.1.0_alpha_pre2", "<", "0.1.0_alpha", "apk-tools: a pre-release suffix on a pre-release makes it older"),
    ("1.0a", ">", "1.0", "a letter makes a later version"),
    ("1.0a", "<", "1.0b", "letters compare by character"),
    ("1.0a", "<", "1.0.1", "a further number beats a letter"),
    ("2.3.0b-r1", "<", "2.3.0b-r2", "apk-tools: letter then revision"),
    ("1.0_rc1", "<", "1.0a", "a pre-release suffix sorts before a letter"),
    ("1.02", "<", "1.1", "a leading zero makes the part compare as a string (Gentoo rule)"),
    ("1.002", "<", "1.02", "string comparison: 002 < 02"),
    ("1.01", "<", "1.010", "string comparison: a prefix sorts first"),
    ("20240226-r0", ">", "20230506-r0", "date versions (ca-certificates)"),
    ("3.0.20060720", "<", "20060720", "apk-tools: the first number compares numerically"),
    ("1.0~abc123", ">", "1.0", "a commit hash after the version makes a later version"),
    ("1.0~abc", "<", "1.0~abd", "commit hashes compare as strings"),
    ("1.0~abc-r1", ">", "1.0~abc-r0", "a revision after a commit hash"),
    ("0.2.0-r1", "=", "0.2.0-r1", "apk-tools: equal"),
    ("1.2.3", "=", "1.2.3", "equal"),
]


def _cmp(a: str, b: str) -> int:
    x, y = APK.key(a), APK.key(b)
    return -1 if x < y else 1 if y < x else 0


@pytest.mark.parametrize(("a", "op", "b", "rule"), CASES)
def test_apk_ordering(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(a, b)] == op, rule
    assert {-1: ">", 0: "=", 1: "<"}[_cmp(b, a)] == op, f"{rule} (reversed)"


def test_sorting_is_consistent() -> None:
    versions = sorted({v for a, _, b, _ in CASES for v in (a, b)})
    ordered = sorted(versions, key=functools.cmp_to_key(_cmp))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            assert _cmp(a, b) <= 0, (a, b)


@pytest.mark.parametrize("bad", ["", "a1", "1.0-1", "1.0_foo", "1.0.", "1.0A", "1.0-r", "1.0~", "1.0 1", "1.0a.1", "1.0-r1_p1"])
def test_invalid_apk_versions_raise(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        APK.key(bad)
