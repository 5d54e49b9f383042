"""Debian version ordering, checked against dpkg itself on hundreds of real version strings."""

from __future__ import annotations

import functools
import itertools
import random
import shutil
import subprocess

import pytest

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions import DEBIAN
from tests.vulns.support import TESTDATA

DPKG = shutil.which("dpkg")


def _versions() -> list[str]:
    lines = (TESTDATA / "debian_versions.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _cmp(a: str, b: str) -> int:
    x, y = DEBIAN.key(a), DEBIAN.key(b)
    return -1 if x < y else 1 if y < x else 0


def _dpkg(a: str, op: str, b: str) -> bool:
    assert DPKG, "dpkg is part of every Debian system these tests run on"
    return subprocess.run([DPKG, "--compare-versions", a, op, b], check=False).returncode == 0


def test_sorted_real_versions_agree_with_dpkg_pair_by_pair() -> None:
    """Sort ~800 real strings with our ordering; dpkg must agree on every neighbouring pair (so on
    the whole order, dpkg's order being transitive), and on a few hundred random pairs."""
    versions = _versions()
    assert len(versions) >= 500
    ordered = sorted(versions, key=functools.cmp_to_key(_cmp))
    disagreements = []
    for a, b in itertools.pairwise(ordered):
        ours = _cmp(a, b)
        if not _dpkg(a, "eq" if ours == 0 else "lt", b):
            disagreements.append((a, b, ours))
    rng = random.Random(1)
    for _ in range(200):
        a, b = rng.sample(versions, 2)
        ours = _cmp(a, b)
        if not _dpkg(a, {-1: "lt", 0: "eq", 1: "gt"}[ours], b):
            disagreements.append((a, b, ours))
    assert disagreements == []


# Debian Policy 5.6.12 ("Version"): the rule each row exercises.
POLICY = [
    ("1.0", "<", "1:0.1", "a higher epoch wins whatever follows"),
    ("0:1.0", "=", "1.0", "an absent epoch is epoch 0"),
    ("1.0~rc1", "<", "1.0", "~ sorts before everything, even the end of the part"),
    ("1.0~~", "<", "1.0~", "~~ sorts before ~"),
    ("1.0~rc1", "<", "1.0~rc2", "after ~, the usual comparison goes on"),
    ("1.0", "<", "1.0a", "the end of the part sorts before a letter"),
    ("1.0a", "<", "1.0+", "letters sort before non-letters"),
    ("1.0+b1", "<", "1.0.1", "+ sorts before . (ASCII, non-letters)"),
    ("1.0-1", "<", "1.0-1+deb12u1", "stable updates append +debNuM to the revision"),
    ("2.36-9+deb12u4", "<", "2.36-9+deb12u10", "digit runs compare numerically"),
    ("1.0-1", "<", "1.0-1.1", "a non-maintainer upload adds .1"),
    ("1.0", "=", "1.00", "numbers ignore leading zeros"),
    ("1.0", "=", "1.0-0", "an absent revision is revision 0"),
    ("3.0.19-1~deb12u2", "<", "3.0.19-1", "a ~debNuM backport sorts before the release it comes from"),
    ("1.2-3", "<", "1.2-3+b1", "a binNMU (+bN) sorts after its source version"),
    ("10", ">", "9", "numeric, not lexical"),
]


@pytest.mark.parametrize(("a", "op", "b", "rule"), POLICY)
def test_debian_policy_cases(a: str, op: str, b: str, rule: str) -> None:
    assert {-1: "<", 0: "=", 1: ">"}[_cmp(a, b)] == op, rule
    assert _dpkg(a, {"<": "lt", "=": "eq", ">": "gt"}[op], b), rule


@pytest.mark.parametrize("bad", ["", "abc", "1.0 beta", "1:", ":1.0", "1.0_1"])
def test_unparseable_debian_versions_raise(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        DEBIAN.key(bad)


def test_equal_versions_hash_alike() -> None:
    assert {DEBIAN.key("1.0"), DEBIAN.key("0:1.00"), DEBIAN.key("1.0-0")} == {DEBIAN.key("1.0")}
