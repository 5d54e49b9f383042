"""Reading OpenVEX documents (specification v0.2.0, ``https://openvex.dev/ns/v0.2.0``).

A document has ``@context``, ``@id``, ``author``, ``timestamp``, ``version`` and ``statements``; each
statement a ``vulnerability`` (an object with ``name``, optional ``@id`` and ``aliases``; the bare
string of earlier drafts is read as its name), ``products`` (objects with an ``@id`` or an
``identifiers.purl``, and optional ``subcomponents`` of the same shape), a ``status``, and as the
status requires: a ``justification`` or an ``impact_statement`` for ``not_affected``, an
``action_statement`` for ``affected``. A statement without ``timestamp`` takes the document's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.vex.errors import InvalidVex
from shared.vex.model import JUSTIFICATIONS, STATUSES, Product, Statement, VexDocument
from shared.vex.reading import child, choice, items, obj, text, timestamp

CONTEXT_PREFIX = "https://openvex.dev/ns"
"""Every OpenVEX ``@context`` starts so (``https://openvex.dev/ns/v0.2.0``)."""


def is_openvex(document: Mapping[str, Any]) -> bool:
    """Whether ``document`` says it is OpenVEX (its ``@context``)."""
    context = document.get("@context")
    return isinstance(context, str) and context.startswith(CONTEXT_PREFIX)


def parse_openvex(value: Any) -> VexDocument:
    """The document in ``value`` (decoded JSON); raises :class:`InvalidVex` naming the field at fault."""
    document = obj(value, "$")
    if not is_openvex(document):
        raise InvalidVex("@context", f"expected a string starting with {CONTEXT_PREFIX}")
    version = document.get("version")
    if version is None:
        raise InvalidVex("version", "missing")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidVex("version", f"expected a positive integer, found {version!r}"[:200])
    when = timestamp(document, "timestamp", "$", required=True)
    statements = tuple(_statement(obj(item, path), path, when)
                       for path, item in items(document.get("statements"), "statements"))
    return VexDocument(format="openvex", id=text(document, "@id", "$", required=True),
                       author=text(document, "author", "$", required=True), timestamp=when, version=str(version),
                       statements=statements)


def _statement(statement: Mapping[str, Any], path: str, document_time: str) -> Statement:
    name, aliases = _vulnerability(statement, path)
    status = choice(statement, "status", path, STATUSES, required=True)
    justification = choice(statement, "justification", path, JUSTIFICATIONS)
    impact = text(statement, "impact_statement", path)
    action = text(statement, "action_statement", path)
    if status == "not_affected" and not (justification or impact):
        raise InvalidVex(child(path, "justification"), "a not_affected statement needs a justification or an "
                                                       "impact_statement")
    if status == "affected" and not action:
        raise InvalidVex(child(path, "action_statement"), "an affected statement needs an action_statement")
    products = tuple(_product(obj(item, where), where)
                     for where, item in items(statement.get("products"), child(path, "products")))
    return Statement(vulnerability=name, aliases=aliases, products=products, status=status, stated=status,
                     justification=justification, impact=impact, action=action,
                     timestamp=timestamp(statement, "timestamp", path) or document_time, position=path)


def _vulnerability(statement: Mapping[str, Any], path: str) -> tuple[str, tuple[str, ...]]:
    where = child(path, "vulnerability")
    value = statement.get("vulnerability")
    if isinstance(value, str):
        return text(statement, "vulnerability", path, required=True), ()
    vulnerability = obj(value, where) if value is not None else None
    if vulnerability is None:
        raise InvalidVex(where, "missing")
    name = text(vulnerability, "name", where, required=True)
    aliases = tuple(_alias(item, alias_path)
                    for alias_path, item in items(vulnerability.get("aliases"), child(where, "aliases"), required=False))
    text(vulnerability, "@id", where)
    return name, aliases


def _alias(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidVex(path, "expected a vulnerability id")
    return value.strip()


def _identifier(component: Mapping[str, Any], path: str) -> str:
    """A component's ``@id``, else its ``identifiers.purl``."""
    found = text(component, "@id", path)
    if not found and component.get("identifiers") is not None:
        found = text(obj(component["identifiers"], child(path, "identifiers")), "purl", child(path, "identifiers"))
    if not found:
        raise InvalidVex(child(path, "@id"), "missing: a product needs an @id or identifiers.purl")
    return found


def _product(product: Mapping[str, Any], path: str) -> Product:
    subcomponents = tuple(_identifier(obj(item, where), where) for where, item in
                          items(product.get("subcomponents"), child(path, "subcomponents"), required=False))
    return Product(_identifier(product, path), subcomponents)
