"""Applying the stored VEX documents whose scope covers a platform to its report (a service-side helper).

:func:`apply_stored_vex` is what :class:`~shared.vulns.service.Vulnerabilities` calls wherever it makes
a platform report (analysis and re-match): it reads the documents of the platform's repository once
(:meth:`~shared.records.VexStatements.for_repository`), works out which image digests the platform
answers to, and calls :func:`shared.vex.apply.apply_vex`.
"""

from __future__ import annotations

import threading
from typing import Protocol

from shared.errors import InvalidInput
from shared.images.model import PlatformRef
from shared.records import ImageRecords, VexStatements
from shared.vex.apply import Subject, apply_vex
from shared.vex.model import ImportedVex
from shared.vulns.purl import parse_purl
from shared.vulns.report import PlatformReport

MAX_LOOKUPS = 32
"""At most this many image records are read to learn whether an image named by a statement holds the platform."""


class RepositoryDocuments(Protocol):
    """Where :func:`apply_stored_vex` reads the documents that may cover a repository's images."""

    def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
        """The documents of the whole integration, of ``repository`` and of its images, in import order."""
        ...


class RememberedDocuments:
    """The documents of :class:`~shared.records.VexStatements`, each repository's read once: for one re-match,
    whose SBOMs are mostly of a few repositories (documents imported meanwhile apply from the next one).
    Which repositories have documents at all is read once per registry, so that a repository without any
    costs no read. Safe to share between threads."""

    def __init__(self, statements: VexStatements) -> None:
        self._statements = statements
        self._lock = threading.Lock()
        self._read: dict[tuple[str, str], list[ImportedVex]] = {}
        self._scoped: dict[str, set[str]] = {}

    def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
        with self._lock:
            known = self._read.get((registry, repository))
            scoped = self._scoped.get(registry)
        if known is not None:
            return known
        if scoped is None:
            scoped = self._statements.scoped_repositories(registry)
            with self._lock:
                self._scoped[registry] = scoped
        known = self._statements.for_repository(registry, repository) if scoped & {"", repository} else []
        with self._lock:
            self._read[(registry, repository)] = known
        return known


def apply_stored_vex(report: PlatformReport, ref: PlatformRef, vex: RepositoryDocuments, images: ImageRecords,
                     image_digest: str = "") -> PlatformReport:
    """``report`` (of platform ``ref``) with the suppressions of the stored VEX documents that cover it.

    ``image_digest`` is the manifest digest of the image being analyzed when the platform is one of its
    platforms; otherwise an image digest named by a document (an image scope, a ``pkg:oci`` product)
    counts for the platform when that image's record lists the platform.
    """
    documents = vex.for_repository(ref.registry, ref.repository)
    if not documents and not report.suppressions:
        return report
    digests = {ref.digest} | ({image_digest} if image_digest else set())
    for candidate in sorted(_named_digests(documents) - digests)[:MAX_LOOKUPS]:
        record = images.get(ref.registry, ref.repository, candidate)
        if record is not None and any(p.digest == ref.digest for p in record.platforms):
            digests.add(candidate)
    return apply_vex(report, documents, Subject(ref.registry, ref.repository, frozenset(digests)))


def _named_digests(documents: list[ImportedVex]) -> set[str]:
    named = set()
    for document in documents:
        if document.scope.image:
            named.add(document.scope.image)
        for statement in document.document.statements:
            for product in statement.products:
                if product.id.lower().startswith("pkg:oci/"):
                    try:
                        version = parse_purl(product.id).version
                    except InvalidInput:
                        continue
                    if version.startswith("sha256:"):
                        named.add(version)
    return named
