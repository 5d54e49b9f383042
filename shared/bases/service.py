"""Base image detection and recommendations, on the chain index (:class:`~shared.records.BaseRecords`).

Filing: every analyzed image files each platform's whole diff-ID chain (:meth:`Bases.file_image`, by the
worker after an analysis and again whenever the image is tagged, so that the tags it had are
remembered) and unfiles it when deleted (:meth:`Bases.unfile_image`); public bases are filed by
:meth:`Bases.import_public` (``lookout bases import``).

Detection (:meth:`Bases.detect`): for a platform with layers d1..dn, the chains d1..dk are looked up for k
= n-1 down to 1 (one point query each); the longest k with an entry that is another image, still
recorded and analyzed (or an imported public base), is the base. Among the entries of that length:

1. a tagged one over an untagged one;
2. an imported public base over an analyzed image: the public name is what a Dockerfile's ``FROM``
   names, and an analyzed image with the same chain is most often a mirror of it (its report is still
   used for vulnerability figures, see :meth:`Bases.recommendations`);
3. one of the image's own registry over another's;
4. one whose tag still points at it over one whose tag moved on;
5. a tag other than ``latest``; then by name, tag and digest.

``current_digest``: where the base's tag points now, when that is another digest Lookout knows (a tag
record of :class:`~shared.records.ImageRecords`, or the public base's latest import); it is set when the
image is analyzed, and recomputed each time recommendations are asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.api.image_lookup import find_record
from shared.bases.chains import MAX_LAYERS, chain_key, prefix_keys
from shared.bases.model import ChainEntry, ImportOutcome, PublicBase
from shared.bases.origins import annotate
from shared.clock import utc_now
from shared.errors import Conflict, NotFound
from shared.images.model import BaseImage, ImageRecord, PlatformRecord, PlatformRef
from shared.records import BaseRecords, ImageRecords, ReportRecords
from shared.vulns.report import LEVELS, finding_from_json, level_of

log = logging.getLogger(__name__)

REMEMBERED_TAGS = 20
"""The most tags an entry remembers."""
ALTERNATIVES_READ = 100
"""How many of the base repository's newest images are looked at for recommendations."""
NO_DATA = "no vulnerability data is known for this base: Lookout has not analyzed an image with its layers"


def chain_of(platform: PlatformRecord) -> tuple[str, ...] | None:
    """The platform's diff-ID chain; None when a layer's diff ID is unknown or there are too many layers."""
    chain = tuple(layer.diff_id or "" for layer in platform.layers)
    if not chain or "" in chain or len(chain) > MAX_LAYERS:
        return None
    return chain


@dataclass(frozen=True)
class _Candidate:
    base: BaseImage
    public: bool

    def rank(self, registry: str) -> tuple[Any, ...]:
        b = self.base
        return (not b.tag, not self.public, b.registry != registry, b.current_digest is not None, b.tag == "latest",
                b.name, b.tag, b.digest)


@dataclass(frozen=True)
class Bases:
    """Filing chains, detecting bases, importing public bases and recommending other tags of a base."""

    records: BaseRecords
    images: ImageRecords
    reports: ReportRecords

    # -- filing ------------------------------------------------------------------------------------

    def _entry(self, record: ImageRecord, platform: PlatformRecord, layers: int, tags: Sequence[str]) -> ChainEntry:
        return ChainEntry(kind="image", registry=record.registry, repository=record.repository, digest=record.digest,
                          platform_digest=platform.digest, layers=layers, tags=tuple(tags), platform=platform.platform)

    def file_image(self, record: ImageRecord) -> None:
        """File each platform chain of analyzed ``record`` with the tags pointing at it now and those it had before
        (idempotent; a record that is not analyzed files nothing)."""
        if record.status != "analyzed":
            return
        tags = self.images.tags_of(record.registry, record.repository, record.digest)
        for platform in record.platforms:
            chain = chain_of(platform)
            if chain is None:
                continue
            key = chain_key(chain)
            entry = self._entry(record, platform, len(chain), ())
            before = next((e for e in self.records.entries(key) if e.identity == entry.identity), None)
            remembered = list(dict.fromkeys([*tags, *(before.tags if before else ())]))[:REMEMBERED_TAGS]
            if before is not None and set(before.tags) == set(remembered):
                continue
            self.records.file(key, replace(entry, tags=tuple(remembered)))

    def unfile_image(self, record: ImageRecord) -> None:
        """Unfile each platform chain of ``record`` (it was deleted)."""
        for platform in record.platforms:
            chain = chain_of(platform)
            if chain is not None:
                self.records.unfile(chain_key(chain), self._entry(record, platform, len(chain), ()))

    # -- detection ---------------------------------------------------------------------------------

    def detect(self, record: ImageRecord) -> ImageRecord:
        """``record`` with each platform's ``base`` detected (None where there is none)."""
        platforms = tuple(replace(p, base=self.detect_platform(record, p)) for p in record.platforms)
        return replace(record, platforms=platforms)

    def detect_platform(self, record: ImageRecord, platform: PlatformRecord) -> BaseImage | None:
        """The base of one platform of ``record`` (see the module notes), or None."""
        chain = chain_of(platform)
        if chain is None:
            return None
        for layers, key in prefix_keys(chain):
            candidates = [c for e in self.records.entries(key) if (c := self._candidate(record, e, layers)) is not None]
            if candidates:
                return min(candidates, key=lambda c: c.rank(record.registry)).base
        return None

    def _candidate(self, record: ImageRecord, entry: ChainEntry, layers: int) -> _Candidate | None:
        if entry.layers != layers:
            return None
        if entry.kind == "public":
            tag = entry.tags[0] if entry.tags else ""
            now = self.records.get_public(entry.repository, tag) if tag else None
            current = now.digest if now is not None and now.digest != entry.digest else None
            return _Candidate(BaseImage("", entry.repository, tag, entry.digest, layers, current), public=True)
        if (entry.registry, entry.repository, entry.digest) == (record.registry, record.repository, record.digest):
            return None
        found = self.images.get(entry.registry, entry.repository, entry.digest)
        if found is None or found.status != "analyzed":
            return None  # stale: deleted or purged since it was filed
        tags = self.images.tags_of(entry.registry, entry.repository, entry.digest)
        if tags:
            tag, current = _best_tag(tags), None
        else:
            tag, current = self._moved_tag(entry)
        return _Candidate(BaseImage(entry.registry, entry.repository, tag, entry.digest, layers, current), public=False)

    def _moved_tag(self, entry: ChainEntry) -> tuple[str, str | None]:
        """A tag that pointed at ``entry`` when it was filed and now points elsewhere, and where; ("", None) without."""
        for tag in sorted(entry.tags, key=lambda t: (t == "latest", t)):
            now = self.images.get_tag(entry.registry, entry.repository, tag)
            if now is not None and now.digest != entry.digest:
                return tag, now.digest
        return "", None

    def current_digest(self, base: BaseImage) -> str | None:
        """Where ``base``'s tag points now when that is not ``base.digest`` (None when it is, or is unknown)."""
        if not base.tag:
            return None
        if base.registry:
            now = self.images.get_tag(base.registry, base.repository, base.tag)
            digest = now.digest if now is not None else None
        else:
            public = self.records.get_public(base.repository, base.tag)
            digest = public.digest if public is not None else None
        return digest if digest and digest != base.digest else None

    # -- public bases ------------------------------------------------------------------------------

    def import_public(self, bases: Iterable[PublicBase]) -> ImportOutcome:
        """File each public base's chain and point its name and tag at it; a re-import of the same digest changes
        nothing. Each base's chain is filed before its tag is moved, so an import that fails partway leaves no
        tag pointing at an unfiled chain; running it again completes it."""
        added = moved = unchanged = 0
        now = utc_now()
        for base in bases:
            before = self.records.get_public(base.name, base.tag)
            if before is not None and before.digest == base.digest and before.diff_ids == base.diff_ids:
                unchanged += 1
                continue
            self.records.file(chain_key(base.diff_ids), base.entry())
            self.records.put_public(replace(base, imported=now))
            if before is None:
                added += 1
            else:
                moved += 1
        return ImportOutcome(added, moved, unchanged)

    def list_public(self, name: str | None = None) -> list[PublicBase]:
        """The imported public bases (of ``name``), by name and tag."""
        return self.records.list_public(name)

    # -- recommendations ---------------------------------------------------------------------------

    def recommendations(self, record: ImageRecord) -> dict[str, Any]:
        """What to do about each platform's base: ``{"registry", "repository", "digest", "platforms": [...]}``.

        Per platform: ``platform``, ``digest``, ``base`` (null: no base detected, and nothing else is said),
        ``rebuild_needed`` and ``rebuild`` (``"rebuild needed: <tag> now points at <digest>"`` or null), the
        image's findings ``from_base``/``added`` (counts, null without a report), ``current`` (the base's own
        ``vulnerabilities`` counts, ``source`` of those figures, or a ``note`` when none are known) and
        ``alternatives``: the other tags of the base repository Lookout knows, each with ``tag``,
        ``digest``, ``name``, ``newer`` (whether it was built after the base; null when unknown),
        ``vulnerabilities`` of its own and how many the change would ``remove`` and ``add`` (count per
        level and ``total``), or — when there are no figures for it or for the current base — all three
        null and a ``note`` saying so: never a silent zero. Alternatives that remove the most come first.
        """
        platforms = []
        for platform in record.platforms:
            entry: dict[str, Any] = {"platform": platform.platform, "digest": platform.digest, "base": None}
            if platform.base is not None:
                entry = self._platform_recommendations(record, platform, platform.base)
            platforms.append(entry)
        return {"registry": record.registry, "repository": record.repository, "digest": record.digest,
                "platforms": platforms}

    def _platform_recommendations(self, record: ImageRecord, platform: PlatformRecord,
                                  base: BaseImage) -> dict[str, Any]:
        base = replace(base, current_digest=self.current_digest(base))
        own = self.reports.get(PlatformRef(record.registry, record.repository, platform.digest))
        split = annotate(own, replace(platform, base=base))["origin_counts"] if own is not None else None
        chain = chain_of(platform)
        current_findings, source = self._base_findings(chain[: base.layers] if chain else (), base, own)
        alternatives = [self._compare(alt, current_findings) for alt in self._alternatives(base, platform)]
        alternatives.sort(key=lambda a: (a["remove"] is None, -((a["remove"] or {}).get("total", 0))
                                         + (a["add"] or {}).get("total", 0), not a["newer"], a["tag"]))
        current: dict[str, Any] = {"vulnerabilities": None, "source": None, "note": NO_DATA}
        if current_findings is not None:
            current = {"vulnerabilities": _counts(current_findings.values()), "source": source, "note": None}
        return {
            "platform": platform.platform, "digest": platform.digest, "base": base.to_json(),
            "rebuild_needed": base.current_digest is not None,
            "rebuild": (f"rebuild needed: {base.tag} now points at {base.current_digest}"
                        if base.current_digest else None),
            "from_base": split["base"] if split else None, "added": split["image"] if split else None,
            "current": current, "alternatives": alternatives,
        }

    def _base_findings(self, chain: Sequence[str], base: BaseImage, own: dict[str, Any] | None
                       ) -> tuple[dict[tuple[str, str], Mapping[str, Any]] | None, str | None]:
        """The base's findings by (flaw, package) and where they came from: the base's own report (or that of an
        analyzed image with the base's very layers), else the image's own findings from the base's layers."""
        if chain:
            report = self._report_of_chain(chain, prefer=(base.registry, base.repository, base.digest))
            if report is not None:
                return _keyed(report.get("findings") or ()), "base image report"
        if own is not None:
            return _keyed(f for f in own.get("findings") or () if f.get("origin") == "base"), "this image's base layers"
        return None, None

    def _report_of_chain(self, chain: Sequence[str], prefer: tuple[str, str, str] | None = None
                         ) -> dict[str, Any] | None:
        """The report of an analyzed image whose whole chain is ``chain`` (``prefer`` first), or None."""
        entries = [e for e in self.records.entries(chain_key(chain)) if e.kind == "image"]
        entries.sort(key=lambda e: (e.registry, e.repository, e.digest) != prefer)
        for entry in entries:
            found = self.images.get(entry.registry, entry.repository, entry.digest)
            if found is None or found.status != "analyzed":
                continue
            report = self.reports.get(PlatformRef(entry.registry, entry.repository, entry.platform_digest))
            if report is not None:
                return report
        return None

    def _alternatives(self, base: BaseImage, platform: PlatformRecord) -> list[dict[str, Any]]:
        """The other tags of the base's repository: ``tag``, ``digest``, ``name``, ``newer`` and ``report`` (or None)."""
        if not base.registry:
            found: list[dict[str, Any]] = []
            for public in self.records.list_public(base.repository):
                if public.digest == base.digest or (public.platform and platform.platform
                                                    and public.platform != platform.platform):
                    continue
                report = self._report_of_chain(public.diff_ids) if public.diff_ids else None
                found.append({"tag": public.tag, "digest": public.digest, "newer": None, "report": report,
                              "name": f"{public.name}:{public.tag}"})
            return found
        page = self.images.list_pushed(base.registry, base.repository, ALTERNATIVES_READ)
        analyzed = [r for r in page.items if r.status == "analyzed" and r.digest != base.digest]
        tags = self.images.tags_for(base.registry, base.repository, [r.digest for r in analyzed])
        base_record = self.images.get(base.registry, base.repository, base.digest)
        base_created = _created(base_record, platform.platform)
        listed: list[dict[str, Any]] = []
        for candidate in analyzed:
            match = next((p for p in candidate.platforms if p.platform == platform.platform), None)
            if match is None:
                continue
            report = self.reports.get(PlatformRef(base.registry, base.repository, match.digest))
            created = match.created
            newer = None if not (created and base_created) else created > base_created
            for tag in tags.get(candidate.digest, []):
                listed.append({"tag": tag, "digest": candidate.digest, "newer": newer, "report": report,
                              "name": f"{base.registry}/{base.repository}:{tag}"})
        return listed

    @staticmethod
    def _compare(alternative: dict[str, Any], current: dict[tuple[str, str], Mapping[str, Any]] | None
                 ) -> dict[str, Any]:
        report = alternative.pop("report")
        if report is None or current is None:
            note = NO_DATA if report is None else "no vulnerability data is known for the current base"
            return {**alternative, "vulnerabilities": None, "remove": None, "add": None, "note": note}
        theirs = _keyed(report.get("findings") or ())
        return {**alternative, "vulnerabilities": _counts(theirs.values()),
                "remove": _counts(v for k, v in current.items() if k not in theirs),
                "add": _counts(v for k, v in theirs.items() if k not in current), "note": None}


def _best_tag(tags: Sequence[str]) -> str:
    return sorted(tags, key=lambda t: (t == "latest", t))[0]


def _created(record: ImageRecord | None, platform: str) -> str | None:
    if record is None:
        return None
    return next((p.created for p in record.platforms if p.platform == platform), None)


def _keyed(findings: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Findings by (flaw, package name), leaving out those a VEX statement suppressed: one flaw of one package
    counts once whatever its version."""
    return {(str(f["id"]), str(f["name"])): f for f in findings if not f.get("suppressed")}


def _counts(findings: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"total": 0, **{level: 0 for level in LEVELS}}
    for finding in findings:
        counts["total"] += 1
        counts[level_of(finding_from_json(finding))] += 1
    return counts


def image_recommendations(bases: Bases, images: ImageRecords, registry: object, repository: object,
                          reference: object) -> dict[str, Any]:
    """:meth:`Bases.recommendations` for the image at tag or digest ``reference``, with its ``tags``: NotFound for an
    unknown image, Conflict while it is not analyzed, InvalidInput for a malformed name or reference."""
    record = find_record(images, registry, repository, reference)
    if record is None:
        raise NotFound("no such image has been recorded")
    if record.status != "analyzed":
        raise Conflict(f"the image is not analyzed (status {record.status}): {record.error or 'analysis pending'}")
    return {**bases.recommendations(record), "tags": images.tags_of(record.registry, record.repository, record.digest)}
