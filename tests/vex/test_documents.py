"""Reading VEX documents: OpenVEX 0.2.0 and CycloneDX 1.4 to 1.6, and refusing invalid ones with the path at fault."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.vex.documents import MAX_DOCUMENT_BYTES, parse_document
from shared.vex.errors import InvalidVex
from shared.vex.model import Product
from tests.vex.support import encoded, fixture


def test_an_openvex_document_is_read_into_statements() -> None:
    document = parse_document(encoded(fixture("openvex.json")))
    assert (document.format, document.id, document.author, document.version) == (
        "openvex", "https://example.test/vex/app-2026-001", "Example Security Team", "2")
    assert document.timestamp == "2026-03-01T16:00:00.123456Z"
    first, second, third = document.statements
    assert (first.vulnerability, first.aliases, first.status, first.justification) == (
        "CVE-2099-1001", ("PYSEC-T-1",), "not_affected", "vulnerable_code_not_in_execute_path")
    assert first.products == (Product("pkg:oci/app?repository_url=registry.test/team/app", ("pkg:pypi/requests",)),)
    assert first.impact == "the application never calls the affected proxy code"
    assert (first.timestamp, first.position) == ("2026-03-01T10:00:00Z", "statements[0]")
    assert (second.status, second.action, second.products) == (
        "affected", "upgrade lodash to 4.17.21", (Product("pkg:npm/lodash@4.17.15"),))
    assert second.timestamp == document.timestamp  # no timestamp of its own: the document's
    assert third.status == "under_investigation"
    assert first.names() == {"CVE-2099-1001", "PYSEC-T-1"}


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_a_cyclonedx_vex_document_is_read_with_its_refs_resolved(spec: str) -> None:
    value = fixture("cyclonedx.json")
    value["specVersion"] = spec
    document = parse_document(encoded(value))
    assert (document.format, document.id, document.author, document.version) == (
        "cyclonedx", "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "Example Security Team", f"{spec}/1")
    first, second, third = document.statements
    image = "pkg:oci/app?repository_url=registry.test/team/app"
    assert (first.vulnerability, first.aliases, first.status, first.stated, first.impact, first.timestamp) == (
        "CVE-2099-1001", ("PYSEC-T-1",), "not_affected", "false_positive", "the finding is about a different requests",
        "2026-03-05T12:30:00Z")
    assert first.products == (Product(image, ("pkg:pypi/requests@2.19.0",)),)  # components of the image
    assert (second.stated, second.justification, second.action) == ("not_affected", "code_not_reachable",
                                                                    "will_not_fix, update")
    assert second.products == (Product(image, ("pkg:npm/lodash@4.17.15",)),)  # a BOM-Link to a nested component
    assert second.timestamp == "2026-03-05T12:00:00Z"  # the document's
    assert (third.status, third.stated, third.products) == ("affected", "exploitable",
                                                            (Product(image, ("pkg:pypi/urllib3@1.26.0",)),))


def test_cyclonedx_without_an_image_names_the_components_themselves() -> None:
    value = fixture("cyclonedx.json")
    del value["metadata"]["component"]
    document = parse_document(encoded(value))
    assert document.statements[0].products == (Product("pkg:pypi/requests@2.19.0"),)


def _set(value: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    changed = copy.deepcopy(value)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    if new is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return changed


_DELETE = object()

OPENVEX_ERRORS = [
    (("statements", 2, "status"), "maybe",
     "statements[2].status: 'maybe' is not one of not_affected, affected, fixed, under_investigation"),
    (("statements", 0, "justification"), "because",
     "statements[0].justification: 'because' is not one of component_not_present, vulnerable_code_not_present, "
     "vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, "
     "inline_mitigations_already_exist"),
    (("statements", 1, "action_statement"), _DELETE,
     "statements[1].action_statement: an affected statement needs an action_statement"),
    (("statements", 0, "products", 0, "subcomponents", 0), {"hashes": {}},
     "statements[0].products[0].subcomponents[0].@id: missing: a product needs an @id or identifiers.purl"),
    (("statements", 0, "vulnerability"), _DELETE, "statements[0].vulnerability: missing"),
    (("statements", 0, "vulnerability", "name"), 7, "statements[0].vulnerability.name: expected a string, found a number"),
    (("statements", 0, "timestamp"), "yesterday", "statements[0].timestamp: 'yesterday' is not an RFC 3339 timestamp"),
    (("statements", 0, "products"), [], "statements[0].products: must not be empty"),
    (("statements",), {}, "statements: expected an array, found an object"),
    (("version",), "1", "version: expected a positive integer, found '1'"),
    (("author",), _DELETE, "author: missing"),
]


@pytest.mark.parametrize(("path", "new", "message"), OPENVEX_ERRORS)
def test_an_invalid_openvex_document_is_refused_with_the_path_of_the_field(path: tuple[Any, ...], new: Any,
                                                                            message: str) -> None:
    with pytest.raises(InvalidVex) as caught:
        parse_document(encoded(_set(fixture("openvex.json"), path, new)))
    assert caught.value.message == message
    assert caught.value.path == message.split(": ", 1)[0]


def test_not_affected_needs_a_justification_or_an_impact_statement() -> None:
    value = fixture("openvex.json")
    del value["statements"][0]["justification"]
    assert parse_document(encoded(value)).statements[0].justification == ""  # the impact statement suffices
    del value["statements"][0]["impact_statement"]
    with pytest.raises(InvalidVex, match=r"^statements\[0\]\.justification: a not_affected statement needs"):
        parse_document(encoded(value))


CYCLONEDX_ERRORS = [
    (("vulnerabilities", 0, "analysis", "state"), "maybe",
     "vulnerabilities[0].analysis.state: 'maybe' is not one of not_affected, false_positive, resolved, "
     "resolved_with_pedigree, exploitable, in_triage"),
    (("vulnerabilities", 1, "analysis", "response", 1), "later",
     "vulnerabilities[1].analysis.response[1]: 'later' is not one of can_not_fix, will_not_fix, update, rollback, "
     "workaround_available"),
    (("vulnerabilities", 0, "affects", 0, "ref"), "nowhere",
     "vulnerabilities[0].affects[0].ref: 'nowhere' is neither a bom-ref of this document nor a package URL"),
    (("vulnerabilities", 1, "analysis"), _DELETE,
     "vulnerabilities[1].analysis: missing: a VEX statement needs analysis.state"),
    (("components", 1, "components", 0, "purl"), "pkg:npm",
     "components[1].components[0].purl: 'pkg:npm' has no type and name"),
    (("specVersion",), "1.3", "specVersion: '1.3' is not one of 1.4, 1.5, 1.6"),
    (("vulnerabilities",), [], "vulnerabilities: must not be empty"),
]


@pytest.mark.parametrize(("path", "new", "message"), CYCLONEDX_ERRORS)
def test_an_invalid_cyclonedx_document_is_refused_with_the_path_of_the_field(path: tuple[Any, ...], new: Any,
                                                                              message: str) -> None:
    with pytest.raises(InvalidVex) as caught:
        parse_document(encoded(_set(fixture("cyclonedx.json"), path, new)))
    assert caught.value.message == message


def test_a_component_without_a_purl_cannot_be_matched() -> None:
    value = fixture("cyclonedx.json")
    del value["components"][0]["purl"]
    with pytest.raises(InvalidVex, match=r"^vulnerabilities\[0\]\.affects\[0\]\.ref: component 'lib-requests' has no"):
        parse_document(encoded(value))


@pytest.mark.parametrize(("data", "message"), [
    (b"{", "$: not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (b"[]", "$: expected a JSON object"),
    (b"\xff\xfe", "$: not UTF-8 text"),
    (b'{"bomFormat": "SPDX"}', "$: neither OpenVEX (an @context of https://openvex.dev/ns/…) nor CycloneDX "
                               "(bomFormat 'CycloneDX')"),
    (b" " * (MAX_DOCUMENT_BYTES + 1), f"$: the document is too large ({MAX_DOCUMENT_BYTES + 1} bytes; "
                                      f"at most {MAX_DOCUMENT_BYTES})"),
])
def test_what_is_no_vex_document_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidVex) as caught:
        parse_document(data)
    assert caught.value.message == message
