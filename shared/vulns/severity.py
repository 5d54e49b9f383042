"""Severity of a finding: a CVSS base score and rating, or a publisher's word when there is no vector.

Rules, in order:

1. The affected entry's own ``severity`` list, else the record's (OSV allows either, not both).
   Among its CVSS vectors, ``CVSS_V3`` is preferred (the version most advisories and tools show,
   which keeps ratings comparable across records), then ``CVSS_V4``, then ``CVSS_V2``. The base
   score comes from the ``cvss`` library; the rating from the score on the CVSS scale: 0.0 none,
   0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical.
2. Otherwise a textual severity: the ``Ubuntu`` severity type, then ``severity`` in the entry's or
   the record's ``database_specific`` (GitHub's ``MODERATE`` reads as medium), then in the entry's
   ``ecosystem_specific``.
3. Otherwise ``unknown``.

A vector that does not parse is skipped and reported; it never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvss  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from shared.vulns.model import Advisory, Affected, Severity

RATINGS = ("critical", "high", "medium", "low", "none", "unknown")
_RANK = {rating: len(RATINGS) - index for index, rating in enumerate(RATINGS)}
_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")
_WORDS = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unimportant": "low",
    "minor": "low",
    "none": "none",
}


@dataclass(frozen=True)
class SeverityScore:
    """``rating`` (one of :data:`RATINGS`), ``score`` (CVSS base score, ``None`` without a vector),
    and where it came from: the severity ``type`` (``CVSS_V3``, ``database_specific``...) and ``vector``."""

    rating: str = "unknown"
    score: float | None = None
    type: str = ""
    vector: str = ""

    def rank(self) -> tuple[int, float]:
        """A sort key: higher rating first, then higher score."""
        return (_RANK[self.rating], self.score if self.score is not None else -1.0)


UNKNOWN = SeverityScore()


def rating_of(score: float) -> str:
    """The CVSS qualitative rating of a base score."""
    if score <= 0.0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def cvss_score(severity: Severity) -> SeverityScore:
    """Score one CVSS severity entry; raises ``ValueError`` for an unknown type or a bad vector."""
    parsers = {"CVSS_V3": cvss.CVSS3, "CVSS_V4": cvss.CVSS4, "CVSS_V2": cvss.CVSS2}
    parser = parsers.get(severity.type)
    if parser is None:
        raise ValueError(f"{severity.type} is not a CVSS type")
    try:
        parsed = parser(severity.score.strip())
        score = float(parsed.base_score)
    except (CVSSError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise ValueError(f"{severity.type} vector {severity.score[:80]!r} does not parse: {type(exc).__name__}") from None
    return SeverityScore(rating=rating_of(score), score=score, type=severity.type, vector=severity.score.strip())


def rate(advisory: Advisory, affected: Affected | None = None) -> tuple[SeverityScore, tuple[str, ...]]:
    """The severity of ``advisory`` for one of its affected entries, and problems met on the way."""
    problems: list[str] = []
    entries = affected.severity if affected is not None and affected.severity else advisory.severity
    for wanted in _PREFERENCE:
        for entry in entries:
            if entry.type == wanted:
                try:
                    return cvss_score(entry), tuple(problems)
                except ValueError as exc:
                    problems.append(str(exc))
    for entry in entries:
        word = _WORDS.get(entry.score.strip().lower()) if entry.type == "Ubuntu" else None
        if word:
            return SeverityScore(rating=word, type=entry.type), tuple(problems)
    objects: list[tuple[str, Mapping[str, Any]]] = []
    if affected is not None:
        objects.append(("database_specific", affected.database_specific))
    objects.append(("database_specific", advisory.database_specific))
    if affected is not None:
        objects.append(("ecosystem_specific", affected.ecosystem_specific))
    for source, obj in objects:
        value = obj.get("severity")
        word = _WORDS.get(value.strip().lower()) if isinstance(value, str) else None
        if word:
            return SeverityScore(rating=word, type=source), tuple(problems)
    return UNKNOWN, tuple(problems)
