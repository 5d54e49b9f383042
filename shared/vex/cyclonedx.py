"""Reading CycloneDX VEX (CycloneDX 1.4, 1.5 and 1.6 JSON: a BOM whose ``vulnerabilities`` carry an ``analysis``).

Each vulnerability is one statement: its ``id`` (aliases: its ``references[].id``), ``analysis.state``
(mapped onto the OpenVEX statuses, kept as written), ``analysis.justification``, ``analysis.detail``
(the impact text) and ``analysis.response`` (the action), and the products of ``affects[].ref``. A ref
is a ``bom-ref`` of a component of the document (``metadata.component`` or ``components``, nested
ones included), which must have a ``purl``; a BOM-Link (``urn:cdx:…#bom-ref``) is resolved by its
fragment in this document; a ref that is itself a package URL is taken as it is. When
``metadata.component`` is an image (``pkg:oci/…``), the affected components are read as
subcomponents of that image. A statement's time is ``analysis.lastUpdated``, else ``firstIssued``,
else ``updated``/``published``, else the document's ``metadata.timestamp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import InvalidInput
from shared.vex.errors import InvalidVex
from shared.vex.model import (
    CYCLONEDX_JUSTIFICATIONS,
    CYCLONEDX_RESPONSES,
    CYCLONEDX_STATUS,
    Product,
    Statement,
    VexDocument,
)
from shared.vex.reading import child, choice, items, obj, text, timestamp
from shared.vulns.purl import parse_purl

SPEC_VERSIONS = ("1.4", "1.5", "1.6")
"""The CycloneDX versions read."""
MAX_DEPTH = 32
"""How deeply components may nest."""


def is_cyclonedx(document: Mapping[str, Any]) -> bool:
    """Whether ``document`` says it is CycloneDX (its ``bomFormat``)."""
    return document.get("bomFormat") == "CycloneDX"


def parse_cyclonedx(value: Any) -> VexDocument:
    """The VEX statements of the BOM in ``value`` (decoded JSON); raises :class:`InvalidVex` naming the
    field at fault."""
    document = obj(value, "$")
    if not is_cyclonedx(document):
        raise InvalidVex("bomFormat", "expected 'CycloneDX'")
    spec = choice(document, "specVersion", "$", SPEC_VERSIONS, required=True)
    metadata = obj(document.get("metadata") or {}, "metadata")
    when = timestamp(metadata, "timestamp", "metadata")
    purls: dict[str, str] = {}
    image = ""
    if metadata.get("component") is not None:
        component = obj(metadata["component"], "metadata.component")
        _collect(component, "metadata.component", purls, 0)
        purl = text(component, "purl", "metadata.component")
        image = purl if purl.lower().startswith("pkg:oci/") else ""
    for path, component in items(document.get("components"), "components", required=False):
        _collect(obj(component, path), path, purls, 0)
    statements = tuple(_statement(obj(item, path), path, purls, image, when)
                       for path, item in items(document.get("vulnerabilities"), "vulnerabilities"))
    version = document.get("version", 1)
    return VexDocument(format="cyclonedx", id=text(document, "serialNumber", "$"),
                       author=_author(metadata), timestamp=when, version=f"{spec}/{version}", statements=statements)


def _collect(component: Mapping[str, Any], path: str, purls: dict[str, str], depth: int) -> None:
    """File the ``bom-ref`` → ``purl`` of ``component`` and of the components nested in it."""
    if depth > MAX_DEPTH:
        raise InvalidVex(path, f"components nest more than {MAX_DEPTH} deep")
    ref = text(component, "bom-ref", path)
    purl = text(component, "purl", path)
    if purl:
        _check_purl(purl, child(path, "purl"))
    if ref:
        purls[ref] = purl
    for where, nested in items(component.get("components"), child(path, "components"), required=False):
        _collect(obj(nested, where), where, purls, depth + 1)


def _check_purl(purl: str, path: str) -> None:
    try:
        parse_purl(purl)
    except InvalidInput as exc:
        raise InvalidVex(path, exc.message) from None


def _author(metadata: Mapping[str, Any]) -> str:
    names: list[str] = []
    for source in ("authors", "tools"):
        listed = metadata.get(source)
        if isinstance(listed, list):
            names.extend(str(a.get("name")) for a in listed if isinstance(a, Mapping) and a.get("name"))
    return ", ".join(names[:5])


def _statement(vulnerability: Mapping[str, Any], path: str, purls: Mapping[str, str], image: str,
               document_time: str) -> Statement:
    name = text(vulnerability, "id", path, required=True)
    aliases = []
    for where, reference in items(vulnerability.get("references"), child(path, "references"), required=False):
        alias = text(obj(reference, where), "id", where, required=True)
        if alias != name:
            aliases.append(alias)
    where = child(path, "analysis")
    if vulnerability.get("analysis") is None:
        raise InvalidVex(where, "missing: a VEX statement needs analysis.state")
    analysis = obj(vulnerability["analysis"], where)
    state = choice(analysis, "state", where, tuple(CYCLONEDX_STATUS), required=True)
    justification = choice(analysis, "justification", where, CYCLONEDX_JUSTIFICATIONS)
    responses = []
    for response_path, response in items(analysis.get("response"), child(where, "response"), required=False):
        if response not in CYCLONEDX_RESPONSES:
            raise InvalidVex(response_path, f"{str(response)[:80]!r} is not one of {', '.join(CYCLONEDX_RESPONSES)}")
        responses.append(str(response))
    targets = []
    for ref_path, affected in items(vulnerability.get("affects"), child(path, "affects")):
        targets.append(_target(text(obj(affected, ref_path), "ref", ref_path, required=True), child(ref_path, "ref"),
                               purls))
    products = (Product(image, tuple(dict.fromkeys(targets))),) if image else tuple(
        Product(target) for target in dict.fromkeys(targets))
    when = (timestamp(analysis, "lastUpdated", where) or timestamp(analysis, "firstIssued", where)
            or timestamp(vulnerability, "updated", path) or timestamp(vulnerability, "published", path) or document_time)
    return Statement(vulnerability=name, aliases=tuple(dict.fromkeys(aliases)), products=products,
                     status=CYCLONEDX_STATUS[state], stated=state, justification=justification,
                     impact=text(analysis, "detail", where), action=", ".join(responses), timestamp=when,
                     position=path)


def _target(ref: str, path: str, purls: Mapping[str, str]) -> str:
    """The package URL a ``affects[].ref`` names."""
    key = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
    if key in purls:
        if not purls[key]:
            raise InvalidVex(path, f"component {key!r} has no purl to match packages by")
        return purls[key]
    if ref.lower().startswith("pkg:"):
        _check_purl(ref, path)
        return ref
    raise InvalidVex(path, f"{ref[:200]!r} is neither a bom-ref of this document nor a package URL")
