"""Packagist (Composer) versions, ordered like PHP's ``version_compare`` after Composer's normalization.

As the PHP manual describes ``version_compare``: ``_``, ``-`` and ``+`` become dots, a dot is put
between a digit and a letter, and the parts are compared from the left — numbers numerically,
special words by rank ``any other word < dev < alpha = a < beta = b < RC = rc < # (a number) <
pl = p``. Composer normalizes ``1.0`` to ``1.0.0.0`` before comparing, so missing numeric parts
count as zero here (``1.0 == 1.0.0``); a leading ``v`` is dropped. Branch names (``dev-main``,
``1.x-dev``) have no order and do not parse.
"""

from __future__ import annotations

import re

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions.base import CachedScheme, OrderedKey, VersionKey

_SPECIAL_RANK = {"dev": 1, "alpha": 2, "a": 2, "beta": 3, "b": 3, "rc": 4, "#": 5, "pl": 6, "p": 6}
_NUMBER_RANK = _SPECIAL_RANK["#"]
_PART = re.compile(r"[0-9]+|[^0-9.]+")
_VALID = re.compile(r"[0-9][a-z0-9.]*")

Part = tuple[int, int]  # (rank, number): numbers are (5, n), words (rank, 0)
_MISSING: Part = (_NUMBER_RANK, -1)  # after the release numbers, any number beats a missing part


def canonical_parts(version: str) -> tuple[tuple[int, ...], tuple[Part, ...]]:
    """``(release numbers without trailing zeros, the parts after them)`` of ``version``."""
    text = version.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    text = re.sub(r"[-_+]", ".", text).lower()  # "1.x-dev" and "dev-main" fail the grammar below
    if not _VALID.fullmatch(text) or ".." in text or text.endswith(".") or "x" in text.split("."):
        raise InvalidVersion(f"{version[:80]!r} is not a Composer version")
    numbers: list[int] = []
    rest: list[Part] = []
    for match in _PART.finditer(text):
        token = match.group()
        if token.isdigit():
            if rest:
                rest.append((_NUMBER_RANK, int(token)))
            else:
                numbers.append(int(token))
        else:
            rest.append((_SPECIAL_RANK.get(token, 0), 0))
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers), tuple(rest)


def compare_parts(a: tuple[tuple[int, ...], tuple[Part, ...]], b: tuple[tuple[int, ...], tuple[Part, ...]]) -> int:
    """Three-way comparison: release numbers padded with zeros, then the remaining parts."""
    (na, ra), (nb, rb) = a, b
    for i in range(max(len(na), len(nb))):
        left = na[i] if i < len(na) else 0
        right = nb[i] if i < len(nb) else 0
        if left != right:
            return -1 if left < right else 1
    for i in range(max(len(ra), len(rb))):
        pa = ra[i] if i < len(ra) else _MISSING
        pb = rb[i] if i < len(rb) else _MISSING
        if pa != pb:
            return -1 if pa < pb else 1
    return 0


def _parse(version: str) -> VersionKey:
    parts = canonical_parts(version)
    return OrderedKey(version.strip(), parts, compare_parts, parts)


PACKAGIST = CachedScheme("composer", _parse)
