"""The values of VEX: statements as both formats say them, the documents holding them, where they apply.

Statuses are OpenVEX's (:data:`STATUSES`); a CycloneDX ``analysis.state`` is mapped onto them
(:data:`CYCLONEDX_STATUS`) and kept as written in :attr:`Statement.stated`, which is what reports
show. A statement's products are package URLs (or other identifiers, which match nothing here);
a product that is an image (``pkg:oci/...``) stands for every package of the image, or only for its
``subcomponents`` when it names some.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
"""The OpenVEX statuses."""

SUPPRESSING = frozenset({"not_affected", "fixed"})
"""The statuses that suppress the findings a statement covers."""

JUSTIFICATIONS = ("component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
                  "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist")
"""The OpenVEX justifications of ``not_affected``."""

CYCLONEDX_STATUS = {"not_affected": "not_affected", "false_positive": "not_affected", "resolved": "fixed",
                    "resolved_with_pedigree": "fixed", "exploitable": "affected", "in_triage": "under_investigation"}
"""CycloneDX ``analysis.state`` → the OpenVEX status it amounts to."""

CYCLONEDX_JUSTIFICATIONS = ("code_not_present", "code_not_reachable", "requires_configuration", "requires_dependency",
                            "requires_environment", "protected_by_compiler", "protected_at_runtime",
                            "protected_at_perimeter", "protected_by_mitigating_control")
"""The CycloneDX ``analysis.justification`` values."""

CYCLONEDX_RESPONSES = ("can_not_fix", "will_not_fix", "update", "rollback", "workaround_available")
"""The CycloneDX ``analysis.response`` values."""

Format = Literal["openvex", "cyclonedx"]


@dataclass(frozen=True)
class Product:
    """What a statement is about: ``id`` (a package URL, possibly without version or qualifiers) and,
    when only parts of it are meant, the ``subcomponents`` (package URLs) inside it."""

    id: str
    subcomponents: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "subcomponents": list(self.subcomponents)}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> Product:
        return Product(str(value["id"]), tuple(str(s) for s in value.get("subcomponents", ())))


@dataclass(frozen=True)
class Statement:
    """One statement: ``vulnerability`` (its name, e.g. a CVE id) and its ``aliases``, the ``products``,
    ``status`` (one of :data:`STATUSES`) and ``stated`` (the status as the document wrote it), the
    ``justification`` label, ``impact`` (impact statement or detail), ``action`` (action statement or
    responses), ``timestamp`` (RFC 3339 UTC, the document's when the statement has none) and
    ``position`` (its JSON path in the document: ``statements[2]``)."""

    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[Product, ...]
    status: str
    stated: str
    justification: str
    impact: str
    action: str
    timestamp: str
    position: str

    def names(self) -> frozenset[str]:
        """The vulnerability's name and aliases, upper-cased (ids are compared without case)."""
        return frozenset(name.upper() for name in (self.vulnerability, *self.aliases) if name)

    def to_json(self) -> dict[str, Any]:
        return {"vulnerability": self.vulnerability, "aliases": list(self.aliases),
                "products": [p.to_json() for p in self.products], "status": self.status, "stated": self.stated,
                "justification": self.justification, "impact": self.impact, "action": self.action,
                "timestamp": self.timestamp, "position": self.position}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> Statement:
        return Statement(
            vulnerability=str(value["vulnerability"]), aliases=tuple(str(a) for a in value.get("aliases", ())),
            products=tuple(Product.from_json(p) for p in value.get("products", ())), status=str(value["status"]),
            stated=str(value.get("stated") or value["status"]), justification=str(value.get("justification", "")),
            impact=str(value.get("impact", "")), action=str(value.get("action", "")),
            timestamp=str(value.get("timestamp", "")), position=str(value.get("position", "")))


@dataclass(frozen=True)
class VexDocument:
    """A valid VEX document: its ``format``, ``id`` (OpenVEX ``@id``, CycloneDX ``serialNumber``; possibly
    empty), ``author``, ``timestamp`` and ``version`` as written, and its statements in document order."""

    format: Format
    id: str
    author: str
    timestamp: str
    version: str
    statements: tuple[Statement, ...]

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "id": self.id, "author": self.author, "timestamp": self.timestamp,
                "version": self.version, "statements": [s.to_json() for s in self.statements]}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> VexDocument:
        fmt = str(value["format"])
        return VexDocument(format="cyclonedx" if fmt == "cyclonedx" else "openvex", id=str(value.get("id", "")),
                           author=str(value.get("author", "")), timestamp=str(value.get("timestamp", "")),
                           version=str(value.get("version", "")),
                           statements=tuple(Statement.from_json(s) for s in value.get("statements", ())))


@dataclass(frozen=True)
class Scope:
    """Where imported statements apply: every image of ``integration`` (whose registry is ``registry``),
    or only ``repository`` of it, or only the image ``image`` (a manifest digest) of that repository."""

    integration: str
    registry: str
    repository: str = ""
    image: str = ""

    @property
    def label(self) -> str:
        """``integration <id>``, ``repository <registry>/<repository>`` or ``image <registry>/<repository>@<digest>``."""
        if self.image:
            return f"image {self.registry}/{self.repository}@{self.image}"
        if self.repository:
            return f"repository {self.registry}/{self.repository}"
        return f"integration {self.integration}"

    def to_json(self) -> dict[str, str]:
        return {"integration": self.integration, "registry": self.registry, "repository": self.repository,
                "image": self.image, "label": self.label}


@dataclass(frozen=True)
class ImportedVex:
    """A document as imported: its ``id`` in Lookout, ``scope``, ``name`` (the file it came from),
    ``imported`` (when, canonical UTC), the ``document`` and, for an image scope, ``digests``: the image's
    manifest digest and its platforms' (a statement there applies to a platform report of one of them)."""

    id: str
    scope: Scope
    name: str
    imported: str
    document: VexDocument
    digests: tuple[str, ...] = ()

    def covers(self, registry: str, repository: str, digests: Iterable[str]) -> bool:
        """Whether the scope holds a platform of ``registry``/``repository`` known by any of ``digests``."""
        if registry != self.scope.registry or (self.scope.repository and repository != self.scope.repository):
            return False
        return not self.scope.image or bool(set(digests) & {self.scope.image, *self.digests})

    def summary_json(self) -> dict[str, Any]:
        """What ``lookout vex list`` shows: everything but the statements, with their count per status."""
        statuses: dict[str, int] = {}
        for statement in self.document.statements:
            statuses[statement.stated] = statuses.get(statement.stated, 0) + 1
        return {"id": self.id, "scope": self.scope.to_json(), "name": self.name, "imported": self.imported,
                "format": self.document.format, "document_id": self.document.id, "author": self.document.author,
                "timestamp": self.document.timestamp, "statements": len(self.document.statements),
                "statuses": statuses, "digests": list(self.digests)}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "scope": self.scope.to_json(), "name": self.name, "imported": self.imported,
                "document": self.document.to_json(), "digests": list(self.digests)}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> ImportedVex:
        scope = value["scope"]
        return ImportedVex(
            id=str(value["id"]),
            scope=Scope(str(scope["integration"]), str(scope["registry"]), str(scope.get("repository", "")),
                        str(scope.get("image", ""))),
            name=str(value.get("name", "")), imported=str(value.get("imported", "")),
            document=VexDocument.from_json(value["document"]), digests=tuple(str(d) for d in value.get("digests", ())))
