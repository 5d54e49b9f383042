"""Severity of a finding: a CVSS base score and rating, or a publisher's word, and who gave it.

A record's own rating for one of its affected entries (:func:`rate`), first match wins:

1. CVSS: the affected entry's own ``severity`` list, else the record's (OSV allows either, not both).
   ``CVSS_V3`` is preferred (the version most advisories and tools show, which keeps ratings
   comparable across records), then ``CVSS_V4``, then ``CVSS_V2``. The base score comes from the
   ``cvss`` library; the rating from the score on the CVSS scale: 0.0 none, 0.1-3.9 low, 4.0-6.9
   medium, 7.0-8.9 high, 9.0-10.0 critical.
2. A publisher's word: ``severity`` in the entry's or the record's ``database_specific`` (GitHub's
   ``MODERATE`` reads as medium), then in the entry's ``ecosystem_specific``.
3. A distribution's word: the ``Ubuntu`` severity type (Ubuntu's priority: ``negligible`` reads as
   low), then the Debian security tracker's urgency — a ``database_specific`` object with
   ``"source": "debian-security-tracker"`` and an ``urgency`` of ``low``, ``medium`` or ``high``
   (``unimportant`` reads as low; ``not yet assigned`` and ``end-of-life`` give no rating; trailing
   ``*`` marks are ignored). The entry's urgency (its release's) when it has one, else the record's.
4. Otherwise ``unknown``.

Every rating names where it came from: ``source`` is the id of the record that carried it, ``type``
the field it was read from (``CVSS_V3``, ``Ubuntu``, ``database_specific``...), ``origin`` who rated
it, for people (``CVSS_V3``, ``GitHub``, ``Debian urgency``, ``Ubuntu priority``).

A finding merges records (see :mod:`shared.vulns.matching`); its rating, in order:

1. its records' own CVSS ratings (the most severe);
2. its records' own publisher words, then — for an OS ecosystem (:data:`OS_ECOSYSTEMS`) — their
   distribution words;
3. a rating *borrowed* from any record of the advisory source that rates itself
   (:func:`self_rating`: CVSS or a publisher's word, never a distribution's word, which describes
   the distribution's own build) and is named by one of the finding's ids, aliases or upstream
   ids: a GHSA record lends its rating to the PYSEC finding aliasing it. CVSS before words, then
   the most severe;
4. for a language ecosystem, its records' distribution words (a distribution's record about a
   language package is rare; the flaw's upstream rating describes such a package better);
5. ``unknown``.

So for OS packages the distribution's own rating beats an alias's CVSS, as Trivy does: the
distribution rates the flaw as built and configured in its packages, which a CVSS vector computed
for the upstream project does not know. For language packages, an alias's CVSS or GitHub's word
comes first.

A vector that does not parse is skipped and reported; it never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import cvss  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from shared.vulns.model import Advisory, Affected, Severity
from shared.vulns.versions import base_ecosystem

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
_DEBIAN_URGENCIES = {"high": "high", "medium": "medium", "low": "low", "unimportant": "low"}
DEBIAN_TRACKER = "debian-security-tracker"
"""The ``database_specific.source`` of records read from the Debian security tracker."""

ORIGIN_GITHUB = "GitHub"
ORIGIN_DEBIAN = "Debian urgency"
ORIGIN_UBUNTU = "Ubuntu priority"
DISTRO_ORIGINS = frozenset({ORIGIN_DEBIAN, ORIGIN_UBUNTU})
"""Origins of a distribution's own rating, which stays with the distribution's findings."""

OS_ECOSYSTEMS = frozenset(
    {
        "Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "AlmaLinux", "Rocky Linux", "Red Hat", "SUSE",
        "openSUSE", "Mageia", "openEuler", "Photon OS", "Azure Linux", "Mariner",
    }
)  # fmt: skip
"""OSV ecosystems of operating system packages (a release suffix such as ``Debian:12`` is ignored)."""


@dataclass(frozen=True)
class SeverityScore:
    """A rating and where it came from.

    ``rating`` is one of :data:`RATINGS`; ``score`` the CVSS base score (``None`` without a vector)
    and ``vector`` the CVSS vector (``""`` without); ``type`` the field the rating was read from
    (``CVSS_V3``, ``Ubuntu``, ``database_specific``, ``ecosystem_specific``); ``source`` the id of the
    record that carried it; ``origin`` who rated it, for people (``CVSS_V3``, ``GitHub``,
    ``Debian urgency``, ``Ubuntu priority``). :data:`UNKNOWN` has none of these.
    """

    rating: str = "unknown"
    score: float | None = None
    type: str = ""
    vector: str = ""
    source: str = ""
    origin: str = ""

    def rank(self) -> tuple[int, float]:
        """A sort key: higher rating first, then higher score."""
        return (_RANK[self.rating], self.score if self.score is not None else -1.0)

    @property
    def known(self) -> bool:
        """Whether there is a rating (anything but ``unknown``)."""
        return self.rating != "unknown"

    @property
    def from_distribution(self) -> bool:
        """Whether this is a distribution's own word (Debian urgency, Ubuntu priority)."""
        return self.origin in DISTRO_ORIGINS


UNKNOWN = SeverityScore()


def is_os_ecosystem(ecosystem: str) -> bool:
    """Whether ``ecosystem`` (``Debian:12``, ``PyPI``...) is one of operating system packages."""
    return base_ecosystem(ecosystem) in OS_ECOSYSTEMS


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
    """Score one CVSS severity entry (``source`` left empty); raises ``ValueError`` for an unknown
    type or a bad vector."""
    parsers = {"CVSS_V3": cvss.CVSS3, "CVSS_V4": cvss.CVSS4, "CVSS_V2": cvss.CVSS2}
    parser = parsers.get(severity.type)
    if parser is None:
        raise ValueError(f"{severity.type} is not a CVSS type")
    try:
        parsed = parser(severity.score.strip())
        score = float(parsed.base_score)
    except (CVSSError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise ValueError(f"{severity.type} vector {severity.score[:80]!r} does not parse: {type(exc).__name__}") from None
    vector = severity.score.strip()
    return SeverityScore(rating=rating_of(score), score=score, type=severity.type, vector=vector, origin=severity.type)


def rate(advisory: Advisory, affected: Affected | None = None) -> tuple[SeverityScore, tuple[str, ...]]:
    """The rating ``advisory`` gives itself for one of its affected entries (the first of rules 1-4
    of the module notes that gives one), with ``source`` set to its id, and problems met on the way."""
    problems: list[str] = []
    found = next(_ratings(advisory, affected, problems), UNKNOWN)
    return found, tuple(problems)


def self_rating(advisory: Advisory) -> SeverityScore:
    """The rating ``advisory`` can lend to findings of records naming one of its ids: its most
    preferred (see :func:`best`) CVSS rating or publisher's word, from the record or any affected
    entry. A distribution's word is never lent; a withdrawn record lends nothing."""
    if advisory.is_withdrawn:
        return UNKNOWN
    problems: list[str] = []
    found = [score for score in _ratings(advisory, None, problems) if not score.from_distribution]
    for entry in advisory.affected:
        if entry.severity or "severity" in entry.database_specific or "severity" in entry.ecosystem_specific:
            found.extend(score for score in _ratings(advisory, entry, problems) if not score.from_distribution)
    return best(found)


def best(scores: Iterable[SeverityScore]) -> SeverityScore:
    """The preferred of ``scores``: a CVSS rating before a publisher's word before a distribution's
    word; then the most severe (rating, then score); then the lowest ``source`` id, so the choice
    does not depend on order. :data:`UNKNOWN` when none is known."""
    pool = [score for score in scores if score.known]
    return min(pool, key=_preference) if pool else UNKNOWN


def wants_borrowed(own: SeverityScore, ecosystem: str) -> bool:
    """Whether a finding in ``ecosystem`` rated ``own`` by its records should take a borrowed
    rating instead (rules 3 and 4 of the module notes): when it has none, or only a distribution's
    word about a language package."""
    return not own.known or (own.from_distribution and not is_os_ecosystem(ecosystem))


def _preference(score: SeverityScore) -> tuple[int, int, float, str, str, str]:
    tier = 0 if score.score is not None else 2 if score.from_distribution else 1
    rating, value = score.rank()
    return (tier, -rating, -value, score.source, score.type, score.vector)


def _ratings(advisory: Advisory, affected: Affected | None, problems: list[str]) -> Iterator[SeverityScore]:
    """Every rating the record gives for ``affected``, most preferred rule first (each with ``source``)."""
    entries = affected.severity if affected is not None and affected.severity else advisory.severity
    for wanted in _PREFERENCE:
        for entry in entries:
            if entry.type == wanted:
                try:
                    yield replace(cvss_score(entry), source=advisory.id)
                except ValueError as exc:
                    problems.append(str(exc))
    specific = [affected.database_specific] if affected is not None else []
    specific.append(advisory.database_specific)
    objects: list[tuple[str, Mapping[str, Any]]] = [("database_specific", obj) for obj in specific]
    if affected is not None:
        objects.append(("ecosystem_specific", affected.ecosystem_specific))
    for field_name, obj in objects:
        value = obj.get("severity")
        word = _WORDS.get(value.strip().lower()) if isinstance(value, str) else None
        if word:
            origin = ORIGIN_GITHUB if advisory.id.startswith("GHSA-") else field_name
            yield SeverityScore(rating=word, type=field_name, source=advisory.id, origin=origin)
    for entry in entries:
        word = _WORDS.get(entry.score.strip().lower()) if entry.type == "Ubuntu" else None
        if word:
            yield SeverityScore(rating=word, type=entry.type, source=advisory.id, origin=ORIGIN_UBUNTU)
    urgencies = [obj.get("urgency") for obj in specific if obj.get("source") == DEBIAN_TRACKER and "urgency" in obj]
    urgency = urgencies[0] if urgencies else None  # an entry's own urgency (its release's) is the one that counts
    word = _DEBIAN_URGENCIES.get(urgency.strip().rstrip("*").strip().lower()) if isinstance(urgency, str) else None
    if word:
        yield SeverityScore(rating=word, type="database_specific", source=advisory.id, origin=ORIGIN_DEBIAN)
