"""Importing, listing and removing VEX documents, and refreshing the reports they change.

A document is imported for a :class:`~shared.vex.model.Scope`: an integration (every image of its
registry), one of its repositories, or one image of a repository. Its id in Lookout is a hash of the
scope and the statements, so importing the same document for the same scope again replaces it.

Refreshing goes through the re-match (:meth:`shared.vulns.service.Vulnerabilities.rematch`), which
makes every report through :meth:`~shared.vulns.service.Vulnerabilities.match_and_store` and so applies
the documents stored at that moment, then stores the image records, the advisory index and the
repository summaries. It is asked to re-match the package keys of the findings, in the scope's
analyzed images, that a statement of the imported or removed document names (by id or alias): only the
SBOMs naming those packages are matched again. An import or removal that names no finding of the scope
changes no report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from shared.clock import utc_now
from shared.errors import InvalidInput, NotFound
from shared.images.model import ImageRecord, PlatformRef
from shared.records import ImageRecords, IntegrationRecords, ReportRecords, VexStatements
from shared.registry.reference import Digest, validate_repository
from shared.vex.documents import parse_document
from shared.vex.model import ImportedVex, Scope, VexDocument
from shared.vulns.packages import PackageKey
from shared.vulns.service import Rematch, Vulnerabilities


@dataclass(frozen=True)
class VexChange:
    """What an import or a removal did: the document (``vex``) and the ``rematch`` that refreshed the reports."""

    vex: ImportedVex
    rematch: Rematch


@dataclass(frozen=True)
class VexService:
    """VEX documents per scope, kept in ``records``, applied through ``vulnerabilities``."""

    records: VexStatements
    integrations: IntegrationRecords
    images: ImageRecords
    reports: ReportRecords
    vulnerabilities: Vulnerabilities

    def scope(self, integration_id: str, repository: str | None = None, image: str | None = None) -> Scope:
        """The scope named so; raises :class:`NotFound` for an unknown integration and :class:`InvalidInput`
        for an invalid repository or digest, or an image without its repository."""
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id!r}")
        if image and not repository:
            raise InvalidInput("an image scope needs its repository (--repository)")
        if repository:
            validate_repository(repository)
        if image:
            Digest(image)
        return Scope(integration.id, integration.registry, repository or "", image or "")

    def import_document(self, scope: Scope, data: bytes, name: str) -> VexChange:
        """Validate and store the document in ``data`` for ``scope``, then refresh the reports it changes.

        Raises :class:`~shared.vex.errors.InvalidVex` (nothing stored) for an invalid document.
        """
        document = parse_document(data)
        digests: tuple[str, ...] = ()
        if scope.image:
            record = self.images.get(scope.registry, scope.repository, scope.image)
            if record is not None:
                digests = tuple(sorted({p.digest for p in record.platforms} - {scope.image}))
        vex = ImportedVex(id=_vex_id(scope, document), scope=scope, name=name[:200], imported=utc_now(),
                          document=document, digests=digests)
        self.records.put(vex)
        return VexChange(vex, self.refresh(vex))

    def list_documents(self, integration_id: str | None = None) -> list[ImportedVex]:
        """The imported documents (of one integration), in import order."""
        if integration_id is None:
            return self.records.list_documents()
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id!r}")
        return [v for v in self.records.list_documents(integration.registry) if v.scope.integration == integration.id]

    def remove(self, integration_id: str, vex_id: str) -> VexChange:
        """Remove the document ``vex_id`` of the integration and refresh the reports it changed; :class:`NotFound`
        when there is none."""
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id!r}")
        vex = self.records.get(integration.registry, vex_id)
        if vex is None or vex.scope.integration != integration.id:
            raise NotFound(f"no VEX document {vex_id!r} for integration {integration_id}")
        self.records.delete(integration.registry, vex_id)
        return VexChange(vex, self.refresh(vex))

    def refresh(self, vex: ImportedVex) -> Rematch:
        """Re-match the packages of the scope's findings that ``vex``'s statements name (see the module notes)."""
        names = {name for statement in vex.document.statements for name in statement.names()}
        keys: set[PackageKey] = set()
        for record in self._records_in(vex.scope):
            for platform in record.platforms:
                report = self.reports.get(PlatformRef(record.registry, record.repository, platform.digest))
                for finding in (report or {}).get("findings", []):
                    ids = {str(finding.get("id", "")), *map(str, finding.get("aliases", ())),
                           *map(str, finding.get("advisory_ids", ()))}
                    if {i.upper() for i in ids} & names:
                        keys.add(PackageKey.of(str(finding["ecosystem"]), str(finding["name"])))
        return self.vulnerabilities.rematch(keys)

    def _records_in(self, scope: Scope) -> Iterator[ImageRecord]:
        if scope.image:
            record = self.images.get(scope.registry, scope.repository, scope.image)
            found = [record] if record is not None else []
        elif scope.repository:
            found = self.images.list_repository(scope.registry, scope.repository)
        else:
            yield from self.images.iter_analyzed(scope.registry)
            return
        yield from (r for r in found if r.status == "analyzed")


def _vex_id(scope: Scope, document: VexDocument) -> str:
    """A stable id of ``document`` imported for ``scope``: 20 hex digits of a SHA-256."""
    text = json.dumps([scope.to_json(), document.to_json()], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
