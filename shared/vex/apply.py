"""Applying VEX statements to a platform's vulnerability report.

A statement covers a finding when one of its names (the vulnerability's name and aliases) is the
finding's id, one of its aliases or one of the advisory ids it was matched from (without regard to
case), and one of its products covers the finding's package:

- a package URL covers a package of the same type, namespace and name (without case), of any version
  when it names none (else of that version), and whose qualifiers include every qualifier it names
  (a statement's qualifiers narrow; the package may have more), as OpenVEX matches package URLs;
- an image (``pkg:oci/<name>@<digest>``, or without a digest: every image of the repository named so,
  its ``repository_url`` qualifier, when given, naming the registry and repository) covers every
  package of the image, or only its ``subcomponents`` when it names some; the digest may be the
  platform's manifest digest or that of the image (index) it belongs to;
- any other product with subcomponents covers those subcomponents when the image holds the product.

Of the statements covering a finding the latest (by statement time, then document time, then import
order) decides, as later VEX statements override earlier ones: when its status is ``not_affected`` or
``fixed`` (CycloneDX ``not_affected``, ``false_positive``, ``resolved``, ``resolved_with_pedigree``)
the finding is suppressed; ``affected`` and ``under_investigation`` leave it counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from shared.errors import InvalidInput
from shared.vex.model import SUPPRESSING, ImportedVex, Product, Statement
from shared.vulns.matching import Finding
from shared.vulns.purl import Purl, parse_purl
from shared.vulns.report import PlatformReport, Suppression, finding_key, with_suppressions


@dataclass(frozen=True)
class Subject:
    """The platform image a report is about: ``registry``, ``repository`` and ``digests`` (the platform's
    manifest digest, and that of the image it belongs to when it is part of an index)."""

    registry: str
    repository: str
    digests: frozenset[str]


def apply_vex(report: PlatformReport, documents: Sequence[ImportedVex], subject: Subject) -> PlatformReport:
    """``report`` with exactly the suppressions the statements of ``documents`` (in import order) make, among
    those whose scope covers ``subject``; its counts are recomputed over the findings that still count."""
    applicable = [d for d in documents if d.covers(subject.registry, subject.repository, subject.digests)]
    if not applicable and not report.suppressions:
        return report
    packages = _Held(report)
    by_name: dict[str, list[tuple[tuple[str, str, int], ImportedVex, Statement]]] = {}
    order = 0
    for document in applicable:
        for statement in document.document.statements:
            order += 1
            rank = (statement.timestamp, document.document.timestamp, order)
            for name in statement.names():
                by_name.setdefault(name, []).append((rank, document, statement))
    suppressions: dict[tuple[str, str], Suppression] = {}
    for finding in report.findings:
        names = {n.upper() for n in (finding.id, *finding.aliases, *finding.advisory_ids)}
        candidates = {id(statement): (rank, document, statement)
                      for name in names for rank, document, statement in by_name.get(name, ())}
        covering = [c for c in candidates.values() if _covers(c[2], finding, subject, packages)]
        if not covering:
            continue
        _, document, statement = max(covering, key=lambda c: c[0])
        if statement.status in SUPPRESSING:
            suppressions[finding_key(finding)] = Suppression(
                status=statement.stated, justification=statement.justification, statement=statement.impact,
                source=f"{document.document.format} {document.document.id or document.name} {statement.position} "
                       f"(vex {document.id})",
                scope=document.scope.label)
    return with_suppressions(report, suppressions)


class _Held:
    """The package URLs of a report's SBOM packages, parsed when first needed (a product with subcomponents)."""

    def __init__(self, report: PlatformReport) -> None:
        self._report = report

    @cached_property
    def purls(self) -> tuple[Purl, ...]:
        parsed = (_parse(text) for text in {p.purl for p in self._report.packages})
        return tuple(purl for purl in parsed if purl is not None)


@lru_cache(maxsize=8192)
def _parse(text: str) -> Purl | None:
    try:
        return parse_purl(text)
    except InvalidInput:
        return None


def _covers(statement: Statement, finding: Finding, subject: Subject, packages: _Held) -> bool:
    package = _parse(finding.package)
    if package is None:
        return False
    return any(_product_covers(product, package, subject, packages) for product in statement.products)


def _product_covers(product: Product, package: Purl, subject: Subject, packages: _Held) -> bool:
    named = _parse(product.id)
    if named is None:
        return False
    if named.type.lower() == "oci":
        if not is_image(named, subject):
            return False
        return not product.subcomponents or _any_covers(product.subcomponents, package)
    if not product.subcomponents:
        return purl_covers(named, package)
    return _any_covers(product.subcomponents, package) and any(purl_covers(named, held) for held in packages.purls)


def _any_covers(texts: Iterable[str], package: Purl) -> bool:
    return any(named is not None and purl_covers(named, package) for named in map(_parse, texts))


def purl_covers(named: Purl, package: Purl) -> bool:
    """Whether the package URL of a statement (``named``) covers ``package`` (see the module notes)."""
    if (named.type.lower(), named.namespace.lower(), named.name.lower()) != (
            package.type.lower(), package.namespace.lower(), package.name.lower()):
        return False
    if named.version and named.version != package.version:
        return False
    if named.subpath and named.subpath != package.subpath:
        return False
    return all(package.qualifiers.get(key) == value for key, value in named.qualifiers.items())


def is_image(named: Purl, subject: Subject) -> bool:
    """Whether an OCI package URL names the image ``subject`` is (a platform of)."""
    if named.version:
        return named.version in subject.digests
    if named.name.lower() != subject.repository.rsplit("/", 1)[-1].lower():
        return False
    where = named.qualifiers.get("repository_url", "")
    return not where or where.lower().rstrip("/") == f"{subject.registry}/{subject.repository}".lower()
