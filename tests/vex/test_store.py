"""Imported VEX documents on Azurite: stored per registry, found per repository, replaced, removed."""

from __future__ import annotations

import hashlib
from typing import cast

import pytest

from shared.records import VexStatements
from shared.store.keys import ValueTooLarge
from shared.vex.model import ImportedVex, Scope
from shared.vex.scoped import RememberedDocuments
from shared.wiring import Services
from tests.vex.support import DIGEST, REGISTRY, REPOSITORY, fixture, imported


def test_documents_are_kept_per_scope_and_found_for_a_repository(svc: Services) -> None:
    store = svc.vex
    whole = imported(fixture("openvex.json"), Scope("int1", REGISTRY), vex_id="a", imported_at="2026-03-01T00:00:00Z")
    repository = imported(fixture("cyclonedx.json"), Scope("int1", REGISTRY, REPOSITORY), vex_id="b",
                          imported_at="2026-03-02T00:00:00Z")
    image = imported(fixture("openvex.json"), Scope("int1", REGISTRY, REPOSITORY, DIGEST), vex_id="c",
                     imported_at="2026-03-03T00:00:00Z", digests=("sha256:" + "4" * 64,))
    other = imported(fixture("openvex.json"), Scope("int1", REGISTRY, "team/other"), vex_id="d",
                     imported_at="2026-03-04T00:00:00Z")
    elsewhere = imported(fixture("openvex.json"), Scope("int2", "other.test:5000"), vex_id="e")
    for document in (other, image, elsewhere, repository, whole):
        store.put(document)
    assert store.get(REGISTRY, "c") == image  # statements, scope and digests read back as written
    assert store.get(REGISTRY, "e") is None
    assert store.for_repository(REGISTRY, REPOSITORY) == [whole, repository, image]
    assert store.for_repository(REGISTRY, "team/other") == [whole, other]
    assert store.list_documents(REGISTRY) == [whole, repository, image, other]
    assert store.list_documents() == [whole, repository, image, other, elsewhere]
    assert store.scoped_repositories(REGISTRY) == {"", REPOSITORY, "team/other"}
    assert store.scoped_repositories("other.test:5000") == {""}
    assert store.scoped_repositories("none.test") == set()
    store.delete(REGISTRY, "b")
    store.delete(REGISTRY, "b")  # not there: no error
    assert store.for_repository(REGISTRY, REPOSITORY) == [whole, image]


def test_a_rematch_reads_the_documents_only_of_repositories_that_have_some(svc: Services) -> None:
    reads: list[tuple[str, str]] = []

    class Counting:
        def scoped_repositories(self, registry: str) -> set[str]:
            reads.append((registry, "*"))
            return svc.vex.scoped_repositories(registry)

        def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
            reads.append((registry, repository))
            return svc.vex.for_repository(registry, repository)

    scoped = imported(fixture("openvex.json"), Scope("int1", REGISTRY, REPOSITORY), vex_id="b")
    svc.vex.put(scoped)
    remembered = RememberedDocuments(cast(VexStatements, Counting()))
    for repository in (REPOSITORY, "team/other", REPOSITORY, "team/third", "team/other"):
        expected = [scoped] if repository == REPOSITORY else []
        assert remembered.for_repository(REGISTRY, repository) == expected
    assert remembered.for_repository("none.test", REPOSITORY) == []
    assert reads == [(REGISTRY, "*"), (REGISTRY, REPOSITORY), ("none.test", "*")]
    # A document for the whole integration concerns every repository.
    svc.vex.put(imported(fixture("openvex.json"), Scope("int1", REGISTRY), vex_id="a"))
    assert len(RememberedDocuments(svc.vex).for_repository(REGISTRY, "team/third")) == 1


def test_a_document_too_large_for_a_row_is_refused(svc: Services) -> None:
    statement = fixture("openvex.json")["statements"][0]
    many = fixture("openvex.json")
    many["statements"] = [{**statement, "vulnerability": {"name": f"CVE-2099-{n}"},
                           "impact_statement": "".join(hashlib.sha256(f"{n}/{k}".encode()).hexdigest()
                                                       for k in range(8))} for n in range(5000)]
    with pytest.raises(ValueTooLarge):
        svc.vex.put(imported(many, vex_id="big"))
    assert svc.vex.list_documents() == []
