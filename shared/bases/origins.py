"""Splitting a platform's findings into those of its base image and those the image added.

A finding is *from the base* when every place its package was found (the report's ``locations``, each
naming the blob digest of the layer that introduced the package) is one of the first ``base.layers``
layers of the platform: rebuilding on a fixed base removes it. It is *added by this image* when some
copy of the package came from a layer above the base, or when the report does not say where the
package was found (it cannot be credited to the base then). Without a detected base there is no split:
``origin`` is ``null``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from shared.images.model import PlatformRecord
from shared.vulns.report import LEVELS, finding_from_json, level_of

Origin = Literal["base", "image"]
ORIGINS: tuple[Origin, ...] = ("base", "image")


def base_layers(platform: PlatformRecord) -> frozenset[str]:
    """The blob digests of the layers the platform's base accounts for (empty without a base)."""
    if platform.base is None:
        return frozenset()
    return frozenset(layer.digest for layer in platform.layers[: platform.base.layers])


def origin_of(finding: Mapping[str, Any], in_base: frozenset[str]) -> Origin:
    """``base`` or ``image`` for a stored finding (see the module notes), given :func:`base_layers`."""
    layers = [str(location.get("layer", "")) for location in finding.get("locations") or ()]
    return "base" if layers and all(layer in in_base for layer in layers) else "image"


def empty_counts() -> dict[str, int]:
    """``{"total", <each level>, "fixable"}`` all zero."""
    return {"total": 0, **{level: 0 for level in LEVELS}, "fixable": 0}


def annotate(report: dict[str, Any], platform: PlatformRecord) -> dict[str, Any]:
    """``report`` (a stored :func:`~shared.vulns.report.platform_json`, changed in place and returned) with ``origin``
    on every finding, ``base`` (the platform's :class:`~shared.images.model.BaseImage` JSON) and ``origin_counts``
    (``{"base": counts, "image": counts}``, counts as :func:`empty_counts`, findings suppressed by VEX left out of
    them); ``origin``, ``base`` and
    ``origin_counts`` are ``null`` when no base was detected. Call it before filtering the findings: the
    counts describe the whole report."""
    findings = report.get("findings") or []
    if platform.base is None:
        for finding in findings:
            finding["origin"] = None
        report["base"] = None
        report["origin_counts"] = None
        return report
    in_base = base_layers(platform)
    counts = {origin: empty_counts() for origin in ORIGINS}
    for finding in findings:
        origin = origin_of(finding, in_base)
        finding["origin"] = origin
        _count(counts[origin], finding)
    report["base"] = platform.base.to_json()
    report["origin_counts"] = counts
    return report


def image_split(reports: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]] | None:
    """The split of an image's annotated platform reports, each (flaw, package, version) counted once as the image
    counts do: ``image`` when any platform has it from above its base, else ``base``. None when no platform
    has a detected base."""
    seen: dict[tuple[str, str, str], tuple[Origin, Mapping[str, Any]]] = {}
    split = False
    for report in reports:
        if report.get("origin_counts") is None:
            continue
        split = True
        for finding in report.get("findings") or ():
            key = (str(finding["id"]), str(finding["name"]), str(finding["installed_version"]))
            origin: Origin = "image" if finding.get("origin") == "image" else "base"
            if key not in seen or origin == "image":
                seen[key] = (origin, finding)
    if not split:
        return None
    counts: dict[str, dict[str, int]] = {origin: empty_counts() for origin in ORIGINS}
    for origin, finding in seen.values():
        _count(counts[origin], finding)
    return counts


def _count(counts: dict[str, int], finding: Mapping[str, Any]) -> None:
    """Count ``finding`` in ``counts`` unless a VEX statement suppressed it (it is shown, never counted)."""
    if finding.get("suppressed"):
        return
    counts["total"] += 1
    counts[level_of(finding_from_json(finding))] += 1
    if finding.get("fixable"):
        counts["fixable"] += 1
