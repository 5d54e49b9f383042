"""The six policies, evaluated against what Lookout recorded of one image.

Pure functions: :func:`evaluate` takes the image record (its platforms' user and detected base, the
attestations of its index), each platform's stored vulnerability report
(:func:`~shared.vulns.report.platform_json`) and SBOM, the settings that apply
(:func:`~shared.policy.config.effective_settings`) and the high-profile list, and gives every enabled
policy's result. A policy whose evidence is missing is ``unknown`` with a reason saying what is missing
(no vulnerability report yet, no SBOM, no base image detected, an image recorded before its attestations
were looked at). An image of several platforms fails a policy when one of its platforms does; each
finding and package is named once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.analysis.formats.common import declared_license
from shared.analysis.model import Package, PlatformAnalysis
from shared.images.model import ImageRecord
from shared.policy.config import PolicySetting, PolicySpec
from shared.policy.highprofile import HighProfileList, normalize_id
from shared.policy.model import Outcome, PolicyEvaluation, PolicyResult, Reason
from shared.vulns.matching import Finding
from shared.vulns.report import finding_from_json, level_of

ROOT_USERS = frozenset({"", "0", "root"})
"""The config ``User`` values (the part before ``:``) that run as root; an unset user runs as root too."""

SBOM_PREDICATES = ("https://spdx.dev/document", "https://cyclonedx.org/bom")
"""In-toto predicate types of SBOM attestations (compared lower-cased, as prefixes)."""
PROVENANCE_PREDICATES = ("https://slsa.dev/provenance/",)
"""In-toto predicate types of provenance attestations (any SLSA version)."""


@dataclass(frozen=True)
class Evidence:
    """What a policy is evaluated against: the ``record``, the platforms' stored reports by platform digest
    (a platform without one is missing), and ``sbom``, which gives a platform's SBOM by digest (None when
    not stored; read only by the policies that need it)."""

    record: ImageRecord
    reports: Mapping[str, Mapping[str, Any]]
    sbom: Callable[[str], PlatformAnalysis | None]
    high_profile: HighProfileList | None = None

    @functools.cached_property
    def findings(self) -> tuple[list[Finding], list[Reason]]:
        """Every finding of the image, each (advisory, package, version) once, by id and package; and a reason for
        each platform without a report."""
        return _read_findings(self)


Verdict = tuple[Outcome, list[Reason]]
PolicyCheck = Callable[[Evidence, Mapping[str, Any]], Verdict]


def _findings(evidence: Evidence) -> tuple[list[Finding], list[Reason]]:
    """Every finding of the image not suppressed by a VEX statement, each (advisory, package, version) once;
    reasons for each platform without a report (read once per evidence)."""
    return evidence.findings


def _read_findings(evidence: Evidence) -> tuple[list[Finding], list[Reason]]:
    missing = []
    seen: dict[tuple[str, str, str], Finding] = {}
    for platform in evidence.record.platforms:
        report = evidence.reports.get(platform.digest)
        if report is None:
            missing.append(Reason(f"no vulnerability report for platform {platform.platform} yet"))
            continue
        for value in report.get("findings", []):
            if value.get("suppressed"):
                continue  # a VEX statement says it does not apply; the report still shows it
            finding = finding_from_json(value)
            seen.setdefault((finding.id, finding.package, finding.installed_version), finding)
    return sorted(seen.values(), key=lambda f: (f.id, f.package)), missing


UNREAD_FINDING_FIELDS = frozenset({"summary", "references", "modified", "locations"})
"""The fields of a stored finding that no policy reads: its text, dates and where it was found."""


def findings_read(report: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """What the policies read of a platform's stored report (None for no report): every finding no VEX
    statement suppresses, less :data:`UNREAD_FINDING_FIELDS`, in the report's order. A report orders its
    findings by fields kept here, so two reports that read the same compare equal; an image whose
    platforms' reports read the same gets the same result from every policy (the others read the record
    and the SBOM)."""
    if report is None:
        return None
    return [{name: value for name, value in finding.items() if name not in UNREAD_FINDING_FIELDS}
            for finding in report.get("findings", []) if not finding.get("suppressed")]


def _finding_reason(finding: Finding, why: str) -> Reason:
    return Reason(f"{finding.id} ({why}) in {finding.name} {finding.installed_version}", package=finding.package,
                  advisory=finding.id)


def check_fixable(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    """``no-fixable-critical-high``: fail on a finding of one of ``severities`` with a fixed version."""
    findings, missing = _findings(evidence)
    if missing:
        return "unknown", missing
    levels = set(params["severities"])
    at_fault = [_finding_reason(f, f"{level_of(f)}, fixed in {', '.join(f.fixed_versions)}")
                for f in findings if f.fixable and level_of(f) in levels]
    return ("fail" if at_fault else "pass"), at_fault


def check_high_profile(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    """``no-high-profile-vulnerabilities``: fail on a finding whose id or an alias is on the list."""
    listed = {normalize_id(i) for i in params.get("ids") or ()}
    if params.get("use_imported", True) and evidence.high_profile is not None:
        listed.update(evidence.high_profile.ids)
    if not listed:
        return "unknown", [Reason("no high-profile list: import one with `lookout policy kev import FILE` "
                                  "or configure `ids`")]
    findings, missing = _findings(evidence)
    if missing:
        return "unknown", missing
    at_fault = []
    for finding in findings:
        names = [finding.id, *finding.aliases]
        hit = next((n for n in names if normalize_id(n) in listed), None)
        if hit is not None:
            why = "high-profile" if hit == finding.id else f"high-profile as {hit}"
            at_fault.append(_finding_reason(finding, f"{why}, {level_of(finding)}"))
    return ("fail" if at_fault else "pass"), at_fault


@functools.cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def _symbol_names(symbol: Any) -> set[str]:
    inner = getattr(symbol, "license_symbol", symbol)  # a license WITH an exception is its license
    return {str(inner.key).lower(), *(str(a).lower() for a in getattr(inner, "aliases", ()) or ())}


def _only_listed(node: Any, listed: frozenset[str]) -> bool:
    """Whether every choice the license expression ``node`` allows includes a listed license."""
    name = type(node).__name__
    if name == "OR":
        return all(_only_listed(arg, listed) for arg in node.args)
    if name == "AND":
        return any(_only_listed(arg, listed) for arg in node.args)
    return bool(_symbol_names(node) & listed)


def license_at_fault(package: Package, listed: frozenset[str]) -> str | None:
    """The license ``package`` declares when it leaves no choice but a license of ``listed`` (lower-cased SPDX
    ids), else None. A declaration that is no SPDX expression is at fault when it names a listed id as a word,
    or says "Affero" while the list holds an AGPL id."""
    text = package.meta.get("license", "")
    return _declaration_at_fault(text, listed) if text else None


@functools.lru_cache(maxsize=4096)
def _declaration_at_fault(text: str, listed: frozenset[str]) -> str | None:
    """:func:`license_at_fault` of a declaration (an image repeats a few declarations over many packages)."""
    declared = declared_license(Package(type="", name="", version="", purl="", layer="", path="", cataloger="",
                                        meta={"license": text}))
    if declared is None:
        return None
    if declared.expression is not None:
        try:
            parsed = _licensing().parse(declared.expression)
        except Exception:  # the parser raises on some input it validated; such a declaration is judged as text
            parsed = None
        if parsed is not None:
            return declared.text if _only_listed(parsed, listed) else None
    words = {w.lower() for w in declared.text.replace("(", " ").replace(")", " ").replace(",", " ").split()}
    if words & listed or ("affero" in declared.text.lower() and any(i.startswith("agpl") for i in listed)):
        return declared.text
    return None


def check_licenses(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    """``no-copyleft-licenses``: fail on a package whose declared license leaves no choice but a listed one."""
    listed = frozenset(str(i).lower() for i in params["licenses"])
    at_fault: dict[str, Reason] = {}
    missing = []
    for platform in evidence.record.platforms:
        analysis = evidence.sbom(platform.digest)
        if analysis is None:
            missing.append(Reason(f"no SBOM stored for platform {platform.platform}"))
            continue
        for package in analysis.packages:
            license_text = license_at_fault(package, listed)
            if license_text is not None and package.purl not in at_fault:
                at_fault[package.purl] = Reason(f"{package.name} {package.version} is licensed {license_text}",
                                                package=package.purl)
    reasons = [at_fault[k] for k in sorted(at_fault)]
    if reasons:
        return "fail", reasons
    return ("unknown", missing) if missing else ("pass", [])


def check_root(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    """``no-root-user``: fail when a platform's config ``User`` is unset, ``0`` or ``root`` (with or without a group)."""
    reasons = []
    for platform in evidence.record.platforms:
        user = (platform.user or "").strip()
        if user.split(":", 1)[0] in ROOT_USERS:
            shown = f"user {user!r}" if user else "no user set"
            reasons.append(Reason(f"platform {platform.platform} runs as root ({shown})"))
    return ("fail" if reasons else "pass"), reasons


def check_base(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    """``base-image-up-to-date``: fail when a platform's detected base tag now points at another digest."""
    failing, unknown = [], []
    for platform in evidence.record.platforms:
        base = platform.base
        if base is None:
            unknown.append(Reason(f"no base image detected for platform {platform.platform}"))
        elif base.current_digest:
            failing.append(Reason(f"rebuild needed: {base.name} now points at {base.current_digest} "
                                  f"(platform {platform.platform} was built on {base.digest})"))
    if failing:
        return "fail", failing
    return ("unknown", unknown) if unknown else ("pass", [])


def attestation_kinds(predicates: Sequence[str]) -> set[str]:
    """The kinds (``sbom``, ``provenance``) of the in-toto predicate types ``predicates``."""
    kinds = set()
    for predicate in predicates:
        lowered = predicate.lower()
        if lowered.startswith(SBOM_PREDICATES):
            kinds.add("sbom")
        if lowered.startswith(PROVENANCE_PREDICATES):
            kinds.add("provenance")
    return kinds


def check_attestations(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    """``supply-chain-attestations``: fail unless the index carries an attestation of every required kind.

    A plain manifest has no attestation manifests: it fails. An image recorded before attestations were
    looked at is ``unknown`` until it is analyzed again.
    """
    predicates = evidence.record.attestations
    if predicates is None:
        return "unknown", [Reason("the image was recorded before its attestations were looked at: analyze it again")]
    kinds = attestation_kinds(predicates)
    missing = [kind for kind in params["require"] if kind not in kinds]
    if not missing:
        return "pass", []
    what = "a plain manifest, not an index: it carries no attestations" if not evidence.record.media_type.endswith(
        ("index.v1+json", "list.v2+json")) else "the index carries no attestation manifest of that kind"
    return "fail", [Reason(f"no {kind} attestation ({what})") for kind in missing]


CHECKS: Mapping[str, PolicyCheck] = {
    "no-fixable-critical-high": check_fixable,
    "no-copyleft-licenses": check_licenses,
    "no-root-user": check_root,
    "base-image-up-to-date": check_base,
    "no-high-profile-vulnerabilities": check_high_profile,
    "supply-chain-attestations": check_attestations,
}
"""Each policy's check, by id (every :data:`~shared.policy.config.POLICIES` entry has one)."""


def evaluate_one(spec: PolicySpec, evidence: Evidence, params: Mapping[str, Any]) -> PolicyResult:
    """One policy's result."""
    outcome, reasons = CHECKS[spec.id](evidence, params)
    return PolicyResult.of(spec.id, spec.version, spec.title, outcome, reasons)


def evaluate(evidence: Evidence, settings: Sequence[PolicySetting], when: str) -> PolicyEvaluation:
    """Every enabled policy's result for the image of ``evidence``, at time ``when``."""
    results = tuple(evaluate_one(s.spec, evidence, s.params) for s in settings if s.enabled)
    return PolicyEvaluation(results=results, evaluated=when, disabled=tuple(s.spec.id for s in settings if not s.enabled))

