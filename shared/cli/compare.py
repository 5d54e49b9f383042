"""``lookout compare BASE TARGET [--platform os/arch] [--json]``: what changed from one stored image to another.

Both images are read from Lookout (their SBOMs and stored reports, :mod:`shared.cli.stored_reports`),
one platform each: ``--platform``, else linux/amd64 when both have it, else the first platform of BASE
that TARGET has too, else the only platform of each. Packages are compared by (type, name): *added*
(only in TARGET), *removed* (only in BASE), *changed* (the set of installed versions differs).
Vulnerabilities are compared by (advisory id, package, without its version): *fixed* (only in BASE)
and *introduced* (only in TARGET).

The text starts with one summary line (``packages: 1 added, 0 removed, 1 changed; vulnerabilities:
1 fixed, 0 introduced``), then a line naming both images, then a table per non-empty change.
``--json`` prints ``{"base", "target", "summary", "packages", "vulnerabilities"}`` (see
:func:`comparison_json`). Exit codes: 0; 1 when an image is not recorded or not analyzed; 2 for a
malformed reference or a platform that is missing; 3 when the API is unreachable.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shared.cli.api import ApiFailure, api_options, client_of, explained, image_label
from shared.cli.manage import EXIT_OK
from shared.cli.output import Screen, severity
from shared.errors import InvalidInput
from shared.registry.reference import Reference

if TYPE_CHECKING:
    from shared.analysis.model import Package
    from shared.vulns.matching import Finding
    from shared.vulns.report import ImageReport, PlatformReport

PREFERRED_PLATFORM = "linux/amd64"


def choose_platforms(base: ImageReport, target: ImageReport, wanted: str | None) -> tuple[PlatformReport, PlatformReport]:
    """The platform of each image to compare (see the module notes); raises :class:`InvalidInput` when there is none."""
    base_by_name = {p.platform: p for p in base.platforms}
    target_by_name = {p.platform: p for p in target.platforms}
    if wanted is not None:
        for report, by_name in ((base, base_by_name), (target, target_by_name)):
            if wanted not in by_name:
                raise InvalidInput(f"{report.reference} has no platform {wanted}; it has {', '.join(by_name) or 'none'}")
        return base_by_name[wanted], target_by_name[wanted]
    common = [name for name in base_by_name if name in target_by_name]
    if common:
        name = PREFERRED_PLATFORM if PREFERRED_PLATFORM in common else common[0]
        return base_by_name[name], target_by_name[name]
    if len(base.platforms) == 1 and len(target.platforms) == 1:
        return base.platforms[0], target.platforms[0]
    raise InvalidInput("the images have no platform in common: choose one of each with --platform")


def versions_by_package(packages: Iterable[Package]) -> dict[tuple[str, str], list[str]]:
    """The installed versions of each (type, name), sorted and each once."""
    found: dict[tuple[str, str], set[str]] = {}
    for package in packages:
        found.setdefault((package.type, package.name), set()).add(package.version)
    return {key: sorted(versions) for key, versions in found.items()}


def finding_key(finding: Finding) -> tuple[str, str]:
    """(advisory id, package URL without version, qualifiers or subpath): one flaw in one package."""
    from shared.vulns.purl import parse_purl

    try:
        purl = parse_purl(finding.package)
    except InvalidInput:
        return finding.id, finding.package
    return finding.id, f"pkg:{purl.type}/{purl.namespace + '/' if purl.namespace else ''}{purl.name}"


def package_name(purl: str, fallback: str) -> str:
    """The name of the package a versionless package URL (of :func:`finding_key`) names."""
    return purl.rsplit("/", 1)[-1] if purl.startswith("pkg:") else fallback


def findings_by_key(report: PlatformReport) -> dict[tuple[str, str], Finding]:
    """The findings of ``report`` by :func:`finding_key`, the first (most severe) of each."""
    found: dict[tuple[str, str], Finding] = {}
    for finding in report.findings:
        found.setdefault(finding_key(finding), finding)
    return found


def _vulnerability_json(key: tuple[str, str], finding: Finding) -> dict[str, Any]:
    from shared.vulns.report import level_of

    return {"id": finding.id, "package": package_name(key[1], finding.name), "purl": key[1],
            "installed_version": finding.installed_version, "fixed_versions": list(finding.fixed_versions),
            "severity": level_of(finding), "score": finding.severity.score}


def comparison_json(base: ImageReport, target: ImageReport, platform: str | None) -> dict[str, Any]:
    """The comparison document.

    ``base`` and ``target``: ``reference``, ``digest`` and ``platform`` compared; ``summary``:
    ``{"packages": {"added", "removed", "changed"}, "vulnerabilities": {"fixed", "introduced"}}`` (counts);
    ``packages``: ``added`` and ``removed`` (``type``, ``name``, ``versions``), ``changed`` (``type``, ``name``,
    ``from``, ``to``: version lists), by type and name; ``vulnerabilities``: ``fixed`` and ``introduced``
    (``id``, ``package``, ``purl`` without version, ``installed_version``, ``fixed_versions``, ``severity``,
    ``score``), most severe first.
    """
    from shared.vulns.report import LEVELS, level_of

    old, new = choose_platforms(base, target, platform)
    old_packages, new_packages = versions_by_package(old.packages), versions_by_package(new.packages)
    added = [{"type": t, "name": n, "versions": new_packages[t, n]} for t, n in sorted(new_packages.keys() - old_packages)]
    removed = [{"type": t, "name": n, "versions": old_packages[t, n]} for t, n in sorted(old_packages.keys() - new_packages)]
    changed = [{"type": t, "name": n, "from": old_packages[t, n], "to": new_packages[t, n]}
               for t, n in sorted(old_packages.keys() & new_packages.keys()) if old_packages[t, n] != new_packages[t, n]]
    old_findings, new_findings = findings_by_key(old), findings_by_key(new)

    def ranked(findings: dict[tuple[str, str], Finding], keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
        order = sorted(keys, key=lambda k: (LEVELS.index(level_of(findings[k])), -(findings[k].severity.score or -1.0), k))
        return [_vulnerability_json(key, findings[key]) for key in order]

    fixed = ranked(old_findings, old_findings.keys() - new_findings.keys())
    introduced = ranked(new_findings, new_findings.keys() - old_findings.keys())
    return {
        "base": {"reference": base.reference, "digest": base.digest, "platform": old.platform},
        "target": {"reference": target.reference, "digest": target.digest, "platform": new.platform},
        "summary": {"packages": {"added": len(added), "removed": len(removed), "changed": len(changed)},
                    "vulnerabilities": {"fixed": len(fixed), "introduced": len(introduced)}},
        "packages": {"added": added, "removed": removed, "changed": changed},
        "vulnerabilities": {"fixed": fixed, "introduced": introduced},
    }


def summary_line(summary: dict[str, Any]) -> str:
    """``packages: 1 added, 0 removed, 1 changed; vulnerabilities: 1 fixed, 0 introduced``."""
    packages, vulnerabilities = summary["packages"], summary["vulnerabilities"]
    return (f"packages: {packages['added']} added, {packages['removed']} removed, {packages['changed']} changed; "
            f"vulnerabilities: {vulnerabilities['fixed']} fixed, {vulnerabilities['introduced']} introduced")


def show(screen: Screen, document: dict[str, Any]) -> None:
    """Print the comparison document as text (see the module notes)."""
    base, target = document["base"], document["target"]
    screen.line(summary_line(document["summary"]))
    where = base["platform"] if base["platform"] == target["platform"] else f"{base['platform']} -> {target['platform']}"
    screen.line(f"from {base['reference']} ({base['digest']}) to {target['reference']} ({target['digest']}), {where}")
    packages, vulnerabilities = document["packages"], document["vulnerabilities"]
    for title, items in (("Packages added", packages["added"]), ("Packages removed", packages["removed"])):
        if items:
            screen.heading(title)
            screen.table(["TYPE", "NAME", "VERSION"], [(p["type"], p["name"], ", ".join(p["versions"])) for p in items])
    if packages["changed"]:
        screen.heading("Packages changed")
        screen.table(["TYPE", "NAME", "FROM", "TO"],
                     [(p["type"], p["name"], ", ".join(p["from"]), ", ".join(p["to"])) for p in packages["changed"]])
    for title, items in (("Vulnerabilities fixed", vulnerabilities["fixed"]),
                         ("Vulnerabilities introduced", vulnerabilities["introduced"])):
        if items:
            screen.heading(title)
            screen.table(["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN"],
                         [(severity(v["severity"]), v["id"], v["package"], v["installed_version"],
                           ", ".join(v["fixed_versions"]) or "-") for v in items])


def cmd_compare(args: argparse.Namespace) -> int:
    """``lookout compare``: see the module notes."""
    from shared.cli.stored_reports import image_report

    references = [Reference.parse(args.base), Reference.parse(args.target)]
    client, screen = client_of(args), Screen()
    reports = []
    with screen.waiting("reading both images"):
        for reference in references:
            try:
                reports.append(image_report(client, reference))
            except ApiFailure as exc:
                raise explained(exc, image_label(reference)) from None
    document = comparison_json(reports[0], reports[1], args.platform)
    if args.json:
        screen.json(document)
    else:
        show(screen, document)
    return EXIT_OK


def add_parser(commands: Any) -> None:
    """Register ``compare`` on the top-level subparsers."""
    parser = commands.add_parser("compare", parents=[api_options()],
                                 help="packages and vulnerabilities that changed between two analyzed images",
                                 description="Compare two images Lookout has analyzed: packages added, removed and "
                                             "changed, vulnerabilities fixed and introduced, going from BASE to TARGET.")
    parser.add_argument("base", metavar="BASE", help="the image compared from (registry/repository:tag or @sha256:...)")
    parser.add_argument("target", metavar="TARGET", help="the image compared to")
    parser.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help="the platform to compare")
    parser.set_defaults(handler=cmd_compare)
