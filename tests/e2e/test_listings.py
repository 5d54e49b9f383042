"""End to end: the listing and search API over two images in two repositories with vulnerable packages.

On a stack of its own (the last step removes its integration): advisories imported with the CLI,
pushes analyzed by the worker, then every listing endpoint, paging through continuations, a bad
token, a delete leaving every listing, a re-match adding an advisory, and removal with purge
emptying them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from testkit.contents import dist_info, npm_package, osv_record, write_records
from testkit.events import image_deleted, image_pushed
from testkit.images import PushedImage, push_image
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


@pytest.fixture(scope="module")
def own_stack(registry: RegistryServer) -> Iterator[Stack]:
    with running_stack(registry, "listings") as started:
        yield started


def import_advisories(stack: Stack, root: Path, records: dict[str, dict[str, Any]]) -> None:
    """Write ``records`` (path → OSV record) under ``root`` and import them with ``lookout advisories import``."""
    done = stack.lookout("advisories", "import", str(write_records(root, records)))
    assert done.returncode == 0, done.stderr


def get(stack: Stack, path: str, status: int = 200, **params: str) -> Any:
    return fetch(stack, path, params, status)


def fetch(stack: Stack, path: str, params: Mapping[str, str], status: int = 200) -> Any:
    """The JSON answer of ``GET /api/<path>``, which must have ``status``."""
    response = stack.http.get(f"{stack.app.url}/api/{path}", params=dict(params), timeout=30)
    assert response.status_code == status, response.text
    return response.json()


def every_page(stack: Stack, path: str, key: str, **params: str) -> list[dict[str, Any]]:
    """Every item of a listing, one per page (``limit=1``) through the continuation tokens."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(100):
        page = fetch(stack, path, {**params, "limit": "1", **({"continuation": token} if token else {})})
        items += page[key]
        token = page["continuation"]
        if token is None:
            return items
    raise AssertionError("the listing did not end")


def pushed_and_analyzed(stack: Stack, repository: str, tag: str, layers: list[dict[str, str]]) -> PushedImage:
    stack.activate(repository)
    image = push_image(stack.registry, repository, tag, layers)
    answer = stack.post_events([image_pushed(stack.registry.host, repository, str(image.digest), tag, image.media_type,
                                             image.size)])
    assert answer.status_code == 200, answer.text
    stack.wait_for_image(repository, tag)
    return image


def test_listings_follow_pushes_rematches_deletes_and_removal(own_stack: Stack, tmp_path: Path) -> None:
    stack, host = own_stack, own_stack.registry.host
    import_advisories(stack, tmp_path / "first", {
        "npm/GHSA-list-lodash.json": osv_record("GHSA-list-lodash", "npm", "lodash", "4.17.21", severity=CRITICAL),
        "pypi/PYSEC-LIST-1.json": osv_record("PYSEC-LIST-1", "PyPI", "requests", "2.20.0", aliases=("CVE-2099-0001",)),
    })
    web = pushed_and_analyzed(stack, "list/web", "1.0", [{**dist_info("requests", "2.19.0")},
                                                          npm_package("lodash", "4.17.15")])
    api = pushed_and_analyzed(stack, "list/api", "2.0", [{**dist_info("requests", "2.19.0"),
                                                          **dist_info("urllib3", "1.26.0")}])
    integration = stack.integration["id"]

    # Repositories: activated ones of the integration, with their newest image.
    repositories = get(stack, "repositories", integration=integration)["repositories"]
    by_name = {r["repository"]: r for r in repositories}
    assert {"list/web", "list/api"} <= set(by_name)
    latest = by_name["list/web"]["latest"]
    assert (by_name["list/web"]["enabled"], by_name["list/web"]["images"]) == (True, 1)
    assert (latest["digest"], latest["tags"], latest["status"]) == (str(web.digest), ["1.0"], "analyzed")
    assert latest["vulnerabilities"]["critical"] == 1 and latest["fixable"] == 2
    assert set(latest["vulnerabilities"]) == {"critical", "high", "medium", "low", "none", "unknown"}
    assert by_name["list/web"]["last_push"]
    assert [r["repository"] for r in every_page(stack, "repositories", "repositories")] == [r["repository"] for r in repositories]
    assert get(stack, "repositories", 404, integration="0123456789abcdef")["error"]["code"] == "not-found"

    # Images of a repository; with a reference the single-image lookup is unchanged.
    listed = get(stack, "images", registry=host, repository="list/api")
    assert [(i["digest"], i["tags"], i["status"]) for i in listed["images"]] == [(str(api.digest), ["2.0"], "analyzed")]
    assert listed["continuation"] is None and listed["images"][0]["platforms"][0]["platform"] == "linux/amd64"
    assert get(stack, "images", registry=host, repository="list/api", reference="2.0")["digest"] == str(api.digest)
    assert get(stack, "images", 400, registry=host, repository="list/api", reference="")["error"]["message"]

    # Every advisory, worst first, and the filters.
    advisories = every_page(stack, "vulnerabilities", "vulnerabilities")
    assert [a["id"] for a in advisories] == ["GHSA-list-lodash", "CVE-2099-0001"]  # a finding is named by its CVE
    lodash, requests_flaw = advisories
    assert lodash["severity"]["rating"] == "critical" and (lodash["images"], lodash["repositories"]) == (1, 1)
    assert (requests_flaw["images"], requests_flaw["repositories"], requests_flaw["packages"]) == (2, 2, ["requests"])
    assert requests_flaw["aliases"] == ["PYSEC-LIST-1"] and requests_flaw["fixable"] is True
    assert [a["id"] for a in get(stack, "vulnerabilities", severity="critical")["vulnerabilities"]] == ["GHSA-list-lodash"]
    assert [a["id"] for a in get(stack, "vulnerabilities", q="REQUESTS", fixable="true")["vulnerabilities"]] == [
        "CVE-2099-0001"]

    # One advisory by its alias, with the images it affects.
    detail = get(stack, "vulnerabilities/PYSEC-LIST-1")
    assert (detail["id"], detail["references"][0]["url"]) == ("CVE-2099-0001", "https://example.test/PYSEC-LIST-1")
    assert sorted((a["repository"], a["digest"], tuple(a["tags"]), a["name"], a["installed_version"],
                   tuple(a["fixed_versions"])) for a in detail["affected"]) == [
        ("list/api", str(api.digest), ("2.0",), "requests", "2.19.0", ("2.20.0",)),
        ("list/web", str(web.digest), ("1.0",), "requests", "2.19.0", ("2.20.0",))]
    assert get(stack, "vulnerabilities/CVE-1999-0001", 404)["error"]["code"] == "not-found"

    # Packages by name and type, and by purl.
    found = every_page(stack, "packages", "packages", name="requests", type="pypi")
    assert sorted((p["repository"], p["version"], tuple(p["tags"])) for p in found) == [
        ("list/api", "2.19.0", ("2.0",)), ("list/web", "2.19.0", ("1.0",))]
    by_purl = get(stack, "packages", purl="pkg:npm/lodash@4.17.15")["packages"]
    assert [(p["repository"], p["type"], p["platform"]) for p in by_purl] == [("list/web", "npm", "linux/amd64")]
    assert get(stack, "packages", 400)["error"]["code"] == "invalid-input"

    # A token altered or used for another query is refused.
    first = get(stack, "vulnerabilities", limit="1")
    assert first["continuation"]
    for params in [{"continuation": first["continuation"][:-3] + "AAA"},
                   {"continuation": first["continuation"], "severity": "critical"}, {"continuation": "garbage"}]:
        assert get(stack, "vulnerabilities", 400, **params)["error"]["code"] == "invalid-continuation"

    # A new advisory for a package of a stored SBOM: the re-match adds it to the listings.
    import_advisories(stack, tmp_path / "update", {
        "pypi/PYSEC-LIST-2.json": osv_record("PYSEC-LIST-2", "PyPI", "urllib3", None)})
    added = get(stack, "vulnerabilities", q="PYSEC-LIST-2")["vulnerabilities"]
    assert [(a["id"], a["images"], a["fixable"]) for a in added] == [("PYSEC-LIST-2", 1, False)]
    assert [a["repository"] for a in get(stack, "vulnerabilities/PYSEC-LIST-2")["affected"]] == ["list/api"]
    api_summary = {r["repository"]: r for r in get(stack, "repositories", integration=integration)["repositories"]}
    assert sum(api_summary["list/api"]["latest"]["vulnerabilities"].values()) == 2

    # A delete takes the image out of every listing.
    answer = stack.post_events([image_deleted(host, "list/web", str(web.digest), web.media_type)])
    assert answer.status_code == 200
    wait_until(lambda: get(stack, "images", registry=host, repository="list/web")["images"] == [], timeout=30,
               what="the deleted image to leave the listing")
    wait_until(stack.drained, timeout=30, what="the delete to be processed")
    assert [a["id"] for a in every_page(stack, "vulnerabilities", "vulnerabilities")] == ["CVE-2099-0001", "PYSEC-LIST-2"]
    assert [a["repository"] for a in get(stack, "vulnerabilities/CVE-2099-0001")["affected"]] == ["list/api"]
    assert get(stack, "vulnerabilities/GHSA-list-lodash", 404)
    assert get(stack, "packages", name="lodash")["packages"] == []
    web_summary = {r["repository"]: r for r in get(stack, "repositories", integration=integration)["repositories"]}
    assert (web_summary["list/web"]["images"], web_summary["list/web"]["latest"]) == (0, None)

    # Removing the integration with purge empties every listing.
    removed = stack.http.delete(f"{stack.app.url}/api/integrations/{integration}", params={"purge": "true"}, timeout=60)
    assert removed.status_code == 200, removed.text
    assert get(stack, "repositories") == {"repositories": [], "continuation": None}
    assert get(stack, "vulnerabilities") == {"vulnerabilities": [], "continuation": None}
    assert get(stack, "packages", name="requests") == {"packages": [], "continuation": None}
    assert get(stack, "images", registry=host, repository="list/api")["images"] == []
    assert get(stack, "repositories", 404, integration=integration)["error"]["code"] == "not-found"
