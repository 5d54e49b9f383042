"""``lookout quickview IMAGE [--top N] [--json]``: one screen about a stored image.

Reads ``GET /api/images`` (the record) and ``GET /api/images/vulnerabilities?fixable=true`` (the stored
reports, keeping only fixable findings; their counts are the whole report's) and prints: the image (tags,
digest, platforms, distribution, status), its base image when its config labels name one
(``org.opencontainers.image.base.name`` / ``.digest``; nothing otherwise), the advisory snapshot, the
counts per severity with a bar, the packages per type and platform, a ``warning:`` line for each
ecosystem checked against no advisories, and the ``--top`` fixable findings, most severe first (then
by CVSS score), with their fixed versions. A finding on several platforms is listed once.

``--json`` prints ``{"image", "base_image", "vulnerabilities", "platforms", "snapshot", "warnings",
"top_fixable"}`` (see :func:`quickview_json`). The base image is the one Lookout detected by its layers when
there is one (with ``rebuild needed`` when its tag has moved on); the counts are then split into those
``from the base`` and those ``added by image`` (``origin_counts``, and an ``origin`` per top finding).
Exit codes: 0; 1 when the image has no results (its
analysis failed or is pending: what is known is still printed); 2 for a malformed reference; 3 when
the API is unreachable.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from typing import Any

from shared.cli.api import ApiFailure, api_options, client_of, image_label, image_query
from shared.cli.manage import EXIT_FAILED, EXIT_OK
from shared.cli.output import Cell, Screen, Styled, counts_cell, moment, severity
from shared.errors import InvalidInput
from shared.registry.reference import Reference

LEVELS = ("critical", "high", "medium", "low", "unknown")
"""The severity levels counted, most severe first: :data:`shared.vulns.report.LEVELS`, which this module does not
import so that ``lookout`` starts without loading the matcher."""
BAR_WIDTH = 30
"""The length of the bar of the most frequent severity."""
BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
DEFAULT_TOP = 10


def level_of(finding: Mapping[str, Any]) -> str:
    """The level a stored finding is counted under (``none`` is ``low``, anything else unknown ``unknown``)."""
    rating = str((finding.get("severity") or {}).get("rating", "unknown"))
    rating = "low" if rating == "none" else rating
    return rating if rating in LEVELS else "unknown"


def base_image(image: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"name", "digest", "layers", "current_digest"}`` of the base image Lookout detected by its layers (the first
    platform's that has one), else ``{"name", "digest"}`` of the one the platforms' config labels name; None when
    neither is known."""
    for platform in image.get("platforms", []):
        detected = platform.get("base")
        if detected:
            return {"name": str(detected["name"]), "digest": str(detected["digest"]), "layers": detected["layers"],
                    "current_digest": detected.get("current_digest")}
    for platform in image.get("platforms", []):
        labels = platform.get("labels") or {}
        name, digest = labels.get(BASE_NAME_LABEL, ""), labels.get(BASE_DIGEST_LABEL, "")
        if name or digest:
            return {"name": str(name), "digest": str(digest)}
    return None


def top_fixable(reports: Sequence[Mapping[str, Any]], top: int) -> list[dict[str, Any]]:
    """The ``top`` fixable findings of every platform, most severe first, then by CVSS score (highest first), id
    and package; each (id, package URL) once, with the platforms it was found on."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for report in reports:
        for finding in report.get("findings", []):
            if not finding.get("fixable"):
                continue
            key = (str(finding["id"]), str(finding["package"]))
            entry = merged.get(key)
            if entry is None:
                score = (finding.get("severity") or {}).get("score")
                merged[key] = {"id": finding["id"], "severity": level_of(finding), "score": score,
                               "package": finding["name"], "purl": finding["package"],
                               "installed_version": finding["installed_version"],
                               "fixed_versions": list(finding.get("fixed_versions", [])),
                               "platforms": [report["platform"]]}
                if finding.get("origin"):
                    merged[key]["origin"] = finding["origin"]
            elif report["platform"] not in entry["platforms"]:
                entry["platforms"].append(report["platform"])
    ranked = sorted(merged.values(), key=lambda f: (LEVELS.index(f["severity"]), -(f["score"] or -1.0), f["id"],
                                                    f["purl"]))
    return ranked[:top]


def quickview_json(reference: Reference, image: Mapping[str, Any], reports: Sequence[Mapping[str, Any]] | None,
                   top: int, origin_counts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The quickview document.

    ``image``: ``registry``, ``repository``, ``reference`` (as asked), ``digest``, ``tags``, ``status``,
    ``error``, ``analyzed``; ``base_image``: ``{"name", "digest"}`` or null; ``vulnerabilities``: the counts
    per level with ``total`` and ``fixable`` (null without results); ``platforms``: ``platform``, ``digest``,
    ``distro``, ``packages`` (per type), ``snapshot``, ``coverage``, ``warnings``; ``snapshot`` (the first
    platform's) and ``warnings`` (every platform's, once); ``top_fixable``: ``id``, ``severity``,
    ``score``, ``package``, ``purl``, ``installed_version``, ``fixed_versions``, ``platforms``.
    """
    by_digest = {str(r.get("digest")): r for r in reports or []}
    platforms = []
    for platform in image.get("platforms", []):
        report = by_digest.get(str(platform["digest"]), {})
        platforms.append({"platform": platform["platform"], "digest": platform["digest"],
                          "distro": platform.get("distro"), "packages": dict(platform.get("package_counts") or {}),
                          "snapshot": report.get("snapshot", platform.get("advisory_snapshot", "")),
                          "coverage": dict(report.get("coverage") or {}), "warnings": list(report.get("warnings", []))})
    counts = None
    if reports is not None:
        stored = image.get("vulnerabilities") or {}
        counts = {level: int(stored.get(level, 0)) for level in LEVELS}
        counts = {**counts, "total": sum(counts.values()), "fixable": int(image.get("fixable", 0))}
    return {
        "image": {"registry": image["registry"], "repository": image["repository"], "reference": image_label(reference),
                  "digest": image["digest"], "tags": list(image.get("tags", [])), "status": image["status"],
                  "error": image.get("error"), "analyzed": image.get("analyzed")},
        "base_image": base_image(image),
        "vulnerabilities": counts,
        "platforms": platforms,
        "snapshot": platforms[0]["snapshot"] if platforms else "",
        "warnings": list(dict.fromkeys(w for p in platforms for w in p["warnings"])),
        "top_fixable": top_fixable(reports or [], top),
        **({"origin_counts": dict(origin_counts)} if origin_counts else {}),
    }


def bar(count: int, largest: int) -> str:
    """A bar of ``count`` against ``largest`` (which gets :data:`BAR_WIDTH`); at least one block for a non-zero count."""
    return "" if count <= 0 or largest <= 0 else "#" * max(1, math.ceil(count * BAR_WIDTH / largest))


def show(screen: Screen, view: Mapping[str, Any]) -> None:
    """Print the quickview document ``view`` as text."""
    image = view["image"]
    screen.line(Styled.of(image["reference"], "bold"))
    distros = list(dict.fromkeys(p["distro"] for p in view["platforms"] if p["distro"]))
    status: Cell = Styled.of(image["status"], "red" if image["status"] == "failed" else "")
    if image.get("analyzed"):
        status = f"{image['status']} {moment(image['analyzed'])}"
    fields: list[tuple[str, Cell]] = [
        ("digest", image["digest"]),
        ("tags", ", ".join(image["tags"]) or "-"),
        ("platforms", ", ".join(p["platform"] for p in view["platforms"]) or "-"),
        ("distro", ", ".join(distros) or "-"),
        ("status", status),
    ]
    if image.get("error"):
        fields.append(("error", f"{image['error'].get('code')}: {image['error'].get('message')}"))
    if view["base_image"]:
        base = view["base_image"]
        fields.append(("base image", "@".join(part for part in (base["name"], base["digest"]) if part)))
        if base.get("current_digest"):
            fields.append(("base update", Styled.of(f"rebuild needed: the tag now points at {base['current_digest']}",
                                                    "bold red")))
    if view["snapshot"]:
        fields.append(("advisories", view["snapshot"]))
    screen.fields(fields)
    counts = view["vulnerabilities"]
    if counts is not None:
        noun = "vulnerability" if counts["total"] == 1 else "vulnerabilities"
        screen.heading(f"{counts['total']} {noun} ({counts['fixable']} fixable)")
        largest = max(counts[level] for level in LEVELS)
        screen.table(["SEVERITY", "COUNT", "BAR"],
                     [(severity(level), str(counts[level]), severity(level, bar(counts[level], largest)))
                      for level in LEVELS], numeric=("COUNT",))
        if view.get("origin_counts"):
            split = view["origin_counts"]
            screen.fields([("from the base", counts_cell(split["base"])),
                           ("added by image", counts_cell(split["image"]))])
    platforms = view["platforms"]
    types = sorted({kind for p in platforms for kind in p["packages"]})
    if types:
        screen.heading("Packages")
        screen.table(["TYPE", *(p["platform"] for p in platforms)],
                     [(kind, *(str(p["packages"].get(kind, 0)) for p in platforms)) for kind in types],
                     numeric=tuple(p["platform"] for p in platforms))
    if view["warnings"]:
        screen.line("")
    for warning in view["warnings"]:
        screen.warning(warning)
    if counts is None:
        return
    findings = view["top_fixable"]
    if not findings:
        screen.heading("No fixable vulnerabilities")
        return
    screen.heading(f"Top {len(findings)} fixable {'vulnerability' if len(findings) == 1 else 'vulnerabilities'}")
    several = len(platforms) > 1
    headers = ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN", *(["PLATFORMS"] if several else [])]
    rows = []
    for finding in findings:
        rated = finding["severity"] if finding["score"] is None else f"{finding['severity']} {finding['score']:.1f}"
        row: list[Cell] = [severity(finding["severity"], rated), finding["id"], finding["package"],
                           finding["installed_version"], ", ".join(finding["fixed_versions"])]
        if several:
            row.append(", ".join(finding["platforms"]))
        rows.append(row)
    screen.table(headers, rows)


def cmd_quickview(args: argparse.Namespace) -> int:
    """``lookout quickview``: see the module notes."""
    if args.top < 0:
        raise InvalidInput("--top must be 0 or more")
    reference = Reference.parse(args.image)
    client, screen, subject = client_of(args), Screen(), image_label(reference)
    reports: list[dict[str, Any]] | None = None
    origin_counts: dict[str, Any] | None = None
    problem = ""
    with screen.waiting(f"reading {subject}"):
        image = client.get("images", image_query(reference), subject=subject)
        try:
            found = client.get("images/vulnerabilities", {**image_query(reference), "reference": image["digest"],
                                                          "fixable": "true"}, subject=subject)
            reports = list(found["platforms"])
            origin_counts = found.get("origin_counts")
        except ApiFailure as exc:
            if exc.status != 409:
                raise
            problem = exc.message
    view = quickview_json(reference, image, reports, args.top, origin_counts)
    if args.json:
        screen.json(view)
    else:
        show(screen, view)
    if reports is None:
        screen.note(problem)
        return EXIT_FAILED
    return EXIT_OK


def add_parser(commands: Any) -> None:
    """Register ``quickview`` on the top-level subparsers."""
    parser = commands.add_parser("quickview", parents=[api_options()],
                                 help="one screen about an analyzed image: findings, packages, fixes",
                                 description="An image Lookout has analyzed: tags, digest, platforms, distribution, "
                                             "counts per severity, packages per type, coverage warnings and the most "
                                             "severe fixable vulnerabilities.")
    parser.add_argument("image", metavar="IMAGE", help="registry/repository:tag or registry/repository@sha256:...")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N",
                        help=f"how many fixable vulnerabilities to list (default {DEFAULT_TOP})")
    parser.set_defaults(handler=cmd_quickview)
