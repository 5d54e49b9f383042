"""End to end: two application images built on one base image, pushed to the real test registry and analyzed by
the running app; the base is recognised by its layers, their findings are split between the base and what each
image added, and ``lookout recommendations`` says to rebuild once the base's tag has moved to a fixed image.

The base is Debian 12 from a hand-made dpkg status, matched against real-shaped Debian OSV records: v1 has
zlib1g's critical CVE-2023-45853; v2 (pushed later under the same tag) no longer has zlib1g. ``team/app1``
adds curl in a distroless ``status.d`` file of its own layer (its DEBIAN-CVE-2024-8096 findings are the
image's); ``team/app2`` adds only a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.events import image_pushed
from testkit.images import PushedImage, make_layer, push_image
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

DISTRO = Path(__file__).resolve().parents[1] / "vulns" / "testdata" / "distro"
ROOTFS = DISTRO / "rootfs" / "bookworm"
CURL = ("curl", "libcurl4")


@pytest.fixture(scope="module")
def stack(registry: RegistryServer) -> Iterator[Stack]:
    with running_stack(registry, "bases", assert_clean_exit=True) as started:
        yield started


def paragraphs(without: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> str:
    """The bookworm dpkg status, some packages left out (or only some kept)."""
    text = (ROOTFS / "var" / "lib" / "dpkg" / "status").read_text()
    kept = []
    for paragraph in text.strip().split("\n\n"):
        name = paragraph.split("\n", 1)[0].removeprefix("Package: ").strip()
        if (only and name in only) or (not only and name not in without):
            kept.append(paragraph)
    return "\n\n".join(kept) + "\n"


def push_and_wait(stack: Stack, repository: str, tag: str, layers: list[Any]) -> PushedImage:
    """Push, post the event, wait for the analysis and for the tag (pointed just after the record is written)."""
    pushed = push_image(stack.registry, repository, tag, layers)
    stack.post_events([image_pushed(stack.registry.host, repository, str(pushed.digest), tag, pushed.media_type,
                                    pushed.size)])
    image = stack.wait_for_image(repository, str(pushed.digest))
    assert image["status"] == "analyzed"
    wait_until(lambda: stack.image(repository, tag).json().get("digest") == str(pushed.digest), timeout=30,
               what=f"{repository}:{tag} to point at {pushed.digest}")
    return pushed


def api(stack: Stack, path: str, repository: str, reference: str) -> dict[str, Any]:
    response = stack.http.get(f"{stack.app.url}/api/{path}", timeout=30, params={
        "registry": stack.registry.host, "repository": repository, "reference": reference})
    assert response.status_code == 200, response.text
    return dict(response.json())


def base_of(stack: Stack, repository: str, reference: str) -> dict[str, Any] | None:
    (platform,) = api(stack, "images", repository, reference)["platforms"]
    base = platform["base"]
    return dict(base) if base is not None else None


def test_two_images_on_one_base_are_split_and_told_to_rebuild(stack: Stack, tmp_path: Path) -> None:
    imported = stack.lookout("advisories", "import", str(DISTRO / "debian"))
    assert imported.returncode == 0, imported.stderr
    for repository in ("base/debian", "team/app1", "team/app2"):
        stack.activate(repository)
    os_release = {"etc/os-release": (ROOTFS / "etc" / "os-release").read_text()}
    base_layer = make_layer({**os_release, "var/lib/dpkg/status": paragraphs(without=CURL)})
    v1 = push_and_wait(stack, "base/debian", "12", [base_layer])
    assert base_of(stack, "base/debian", str(v1.digest)) is None

    app1 = push_and_wait(stack, "team/app1", "1", [base_layer, {"var/lib/dpkg/status.d/curl": paragraphs(only=CURL)}])
    v2 = push_and_wait(stack, "base/debian", "12",
                       [make_layer({**os_release, "var/lib/dpkg/status": paragraphs(without=(*CURL, "zlib1g"))})])
    app2 = push_and_wait(stack, "team/app2", "1", [base_layer, {"srv/app2/README": "app2\n"}])

    # detection: both images name v1 of base/debian:12 as their one-layer base; app2, analyzed after the tag
    # moved to v2, records that a rebuild is needed
    host = stack.registry.host
    assert base_of(stack, "team/app1", str(app1.digest)) == {
        "registry": host, "repository": "base/debian", "tag": "12", "digest": str(v1.digest), "layers": 1,
        "current_digest": None, "name": f"{host}/base/debian:12"}
    app2_base = base_of(stack, "team/app2", str(app2.digest))
    assert app2_base is not None and app2_base["digest"] == str(v1.digest)
    assert app2_base["current_digest"] == str(v2.digest)

    # the split: curl's findings are app1's own, everything else comes from the base
    found = api(stack, "images/vulnerabilities", "team/app1", str(app1.digest))
    (platform,) = found["platforms"]
    origins = {(f["package"].split("@")[0].rsplit("/", 1)[1], f["id"]): f["origin"] for f in platform["findings"]}
    assert {key for key, origin in origins.items() if origin == "image"} == {
        ("curl", "DEBIAN-CVE-2024-8096"), ("libcurl4", "DEBIAN-CVE-2024-8096")}
    assert ("zlib1g", "DEBIAN-CVE-2023-45853") in origins and origins[("zlib1g", "DEBIAN-CVE-2023-45853")] == "base"
    split = found["origin_counts"]
    assert split["image"]["total"] == 1 and split["base"]["critical"] == 1
    assert split["base"]["total"] + split["image"]["total"] == sum(api(stack, "images", "team/app1", str(app1.digest))[
        "vulnerabilities"].values())
    app2_found = api(stack, "images/vulnerabilities", "team/app2", str(app2.digest))
    assert app2_found["origin_counts"]["image"]["total"] == 0
    assert app2_found["origin_counts"]["base"] == split["base"]

    # recommendations: rebuild on v2, which removes zlib's critical finding
    done = stack.lookout("recommendations", f"{host}/team/app1:1", "--url", stack.app.url, "--json")
    assert done.returncode == 0, done.stderr
    (recommended,) = json.loads(done.stdout)["platforms"]
    assert recommended["rebuild_needed"] is True
    assert recommended["rebuild"] == f"rebuild needed: 12 now points at {v2.digest}"
    assert recommended["current"]["source"] == "base image report"
    (alternative,) = recommended["alternatives"]
    assert (alternative["tag"], alternative["digest"], alternative["note"]) == ("12", str(v2.digest), None)
    assert (alternative["remove"]["critical"], alternative["remove"]["total"], alternative["add"]["total"]) == (1, 1, 0)
    text = stack.lookout("recommendations", f"{host}/team/app1:1", "--url", stack.app.url)
    assert text.returncode == 0, text.stderr
    assert f"rebuild needed: 12 now points at {v2.digest}" in text.stdout
    assert f"{host}/base/debian:12" in text.stdout

    # the CLI shows the base and the split
    quick = stack.lookout("quickview", f"{host}/team/app1:1", "--url", stack.app.url)
    assert quick.returncode == 0, quick.stderr
    assert f"{host}/base/debian:12@{v1.digest}" in quick.stdout
    assert "from the base" in quick.stdout and "added by image" in quick.stdout
    cves = stack.lookout("cves", f"{host}/team/app1:1", "--api", stack.app.url)
    assert cves.returncode == 0, cves.stderr
    assert "added by this image: 2 (0 critical, 0 high, 2 medium" in cves.stdout  # curl and libcurl4
    assert "DEBIAN-CVE-2024-8096" in cves.stdout.split("added by this image:")[1]
    as_json = json.loads(stack.lookout("cves", f"{host}/team/app1:1", "--api", stack.app.url, "--json").stdout)
    assert {f["origin"] for f in as_json["platforms"][0]["findings"]} == {"base", "image"}
    assert stack.lookout("recommendations", f"{host}/base/debian:12", "--url", stack.app.url).returncode == 1

    # a public base document: refused whole with the field at fault, then imported and listed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bases": [{"name": "library/debian", "tag": "12", "digest": str(v1.digest),
                                          "diff_ids": ["sha256:nope"]}]}))
    refused = stack.lookout("bases", "import", str(bad))
    assert refused.returncode == 2 and "bases[0].diff_ids[0]: not a diff ID" in refused.stderr
    good = tmp_path / "bases.json"
    good.write_text(json.dumps({"bases": [{"name": "library/debian", "tag": "bookworm", "digest": str(v2.digest),
                                           "diff_ids": [str(d) for d in v2.diff_ids]}]}))
    accepted = stack.lookout("bases", "import", str(good), "--json")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout) | {"file": ""} == {"file": "", "bases": 1, "added": 1, "moved": 0,
                                                          "unchanged": 0}
    listed = json.loads(stack.lookout("bases", "list", "--json").stdout)["bases"]
    assert [(b["name"], b["tag"], b["digest"]) for b in listed] == [("library/debian", "bookworm", str(v2.digest))]
    # an image built on v2 now names the public base
    app3 = push_and_wait(stack, "team/app1", "2", [v2.layers[0], {"srv/app3": "3\n"}])
    assert base_of(stack, "team/app1", str(app3.digest)) == {
        "registry": "", "repository": "library/debian", "tag": "bookworm", "digest": str(v2.digest), "layers": 1,
        "current_digest": None, "name": "library/debian:bookworm"}
