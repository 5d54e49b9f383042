"""End to end: ``lookout listings rebuild`` files again an image analyzed before the listings existed.

On a stack of its own: an image is pushed and analyzed, then its listing rows are deleted straight
from the tables (what an older Lookout left: the record, SBOM and report, in no listing); the API no
longer lists it; the command, run next to the app, brings it back into every listing, a second run
changes nothing, and an image whose SBOM is gone is reported with exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import UpdateMode

from shared.store.affected_images import image_key
from shared.store.azure import Tables
from shared.store.image_records import digest_tag_key, repository_partition
from shared.store.keys import encode_key
from testkit.contents import dist_info, osv_record
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack
from tests.e2e.test_listings import get, import_advisories, pushed_and_analyzed

pytestmark = pytest.mark.e2e

REPOSITORY = "rebuild/app"
ADVISORY = "PYSEC-REBUILD-1"


@pytest.fixture(scope="module")
def own_stack(registry: RegistryServer) -> Iterator[Stack]:
    with running_stack(registry, "rebuild") as started:
        yield started


def forget_listings(stack: Stack, digest: str) -> None:
    """Delete the image's rows of every listing index, as if it had been analyzed before they existed."""
    tables = Tables(stack.svc.settings.storage, stack.svc.settings.table_prefix)
    host = stack.registry.host
    partition = repository_partition(host, REPOSITORY)
    tables.table("repositorysummaries").delete_entity(encode_key(host), encode_key(REPOSITORY))
    pushed = tables.table("imagesbypush")
    for row in list(pushed.query_entities("PartitionKey eq @pk", parameters={"pk": partition})):
        pushed.delete_entity(partition, row["RowKey"])
    images = tables.table("images")
    record = images.get_entity(partition, digest)
    del record["listed_as"]
    images.upsert_entity(record, mode=UpdateMode.REPLACE)
    tables.table("tags").delete_entity(partition, digest_tag_key(digest, "1.0"))
    occurrences = tables.table("packageoccurrences")
    for row in list(occurrences.query_entities("digest eq @d", parameters={"d": digest})):
        occurrences.delete_entity(row["PartitionKey"], row["RowKey"])
    tables.table("packagefilings").delete_entity(partition, digest)
    tables.table("affected").delete_entity(encode_key(ADVISORY), image_key(host, REPOSITORY, digest))
    tables.table("affected").delete_entity(encode_key(ADVISORY), "~summary")
    listed = tables.table("advisorylist")
    for row in list(listed.list_entities()):
        if str(row["RowKey"]).endswith("!" + encode_key(ADVISORY)):
            listed.delete_entity(row["PartitionKey"], row["RowKey"])
    tables.table("affectedfilings").delete_entity(partition, digest)


def listings(stack: Stack) -> dict[str, Any]:
    """What the listing endpoints show of the repository, its image, package and advisory."""
    host = stack.registry.host
    repositories = [r for r in get(stack, "repositories")["repositories"] if r["repository"] == REPOSITORY]
    advisory = stack.http.get(f"{stack.app.url}/api/vulnerabilities/{ADVISORY}", timeout=30)
    return {
        "repositories": repositories,
        "images": [(i["digest"], i["tags"]) for i in get(stack, "images", registry=host, repository=REPOSITORY)["images"]],
        "packages": [(p["repository"], p["digest"], p["version"], p["tags"])
                     for p in get(stack, "packages", name="rebuildpkg")["packages"]],
        "vulnerabilities": [(a["id"], a["images"]) for a in get(stack, "vulnerabilities", q=ADVISORY)["vulnerabilities"]],
        "affected": ([(a["repository"], a["digest"]) for a in advisory.json()["affected"]]
                     if advisory.status_code == 200 else advisory.status_code),
    }


def test_a_rebuild_brings_an_image_from_before_the_listings_back(own_stack: Stack, tmp_path: Path) -> None:
    stack, host = own_stack, own_stack.registry.host
    import_advisories(stack, tmp_path, {f"pypi/{ADVISORY}.json": osv_record(ADVISORY, "PyPI", "rebuildpkg", "2.0.0")})
    image = pushed_and_analyzed(stack, REPOSITORY, "1.0", [dist_info("rebuildpkg", "1.0.0")])
    digest = str(image.digest)
    wait_until(stack.drained, timeout=30, what="the analysis to be filed in every listing")
    listed = listings(stack)
    assert listed["images"] == [(digest, ["1.0"])]
    assert listed["packages"] == [(REPOSITORY, digest, "1.0.0", ["1.0"])]
    assert listed["vulnerabilities"] == [(ADVISORY, 1)] and listed["affected"] == [(REPOSITORY, digest)]
    assert [(r["images"], r["latest"]["digest"], r["latest"]["tags"]) for r in listed["repositories"]] == [
        (1, digest, ["1.0"])]

    forget_listings(stack, digest)
    assert listings(stack) == {"repositories": [], "images": [], "packages": [], "vulnerabilities": [], "affected": 404}

    done = stack.lookout("listings", "rebuild", "--json", "--registry", host)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["repositories"] == [{"registry": host, "repository": REPOSITORY, "images": 1, "incomplete": []}]
    assert (result["images"], result["incomplete"]) == (1, 0) and result["seconds"] >= 0
    assert listings(stack) == listed

    again = stack.lookout("listings", "rebuild")
    assert again.returncode == 0, again.stderr
    assert f"{host}/{REPOSITORY}: 1 image(s) filed again" in again.stdout.splitlines()
    assert again.stdout.splitlines()[-1].startswith("filed 1 image(s) of 1 repositories again in ")
    assert listings(stack) == listed

    # An image whose SBOM is gone is filed with what there is, reported, and the exit code says so.
    record = stack.svc.images.get(host, REPOSITORY, digest)
    assert record is not None
    platform = record.platforms[0].digest
    stack.svc.sboms.delete(host, REPOSITORY, platform)
    broken = stack.lookout("listings", "rebuild", "--json")
    assert broken.returncode == 1, broken.stderr
    assert json.loads(broken.stdout)["repositories"] == [{"registry": host, "repository": REPOSITORY, "images": 0,
                                                          "incomplete": [{"digest": digest,
                                                                          "missing": [f"SBOM of {platform}"]}]}]
    assert "could not be filed completely" in broken.stderr
    assert get(stack, "packages", name="rebuildpkg")["packages"] == []
    assert listings(stack)["vulnerabilities"] == [(ADVISORY, 1)]
