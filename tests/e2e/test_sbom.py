"""End to end: a pushed image's SBOM through the worker, from the API, in every format; the layer cache on Table storage."""

from __future__ import annotations

import json

import pytest

from testkit.events import image_deleted, image_pushed
from testkit.images import make_layer, push_image
from testkit.processes import wait_until
from testkit.schemas import assert_valid_cyclonedx, assert_valid_spdx
from testkit.stack import Stack
from tests.analysis.helpers import tree

pytestmark = pytest.mark.e2e


def sbom(stack: Stack, repository: str, reference: str, output: str) -> tuple[int, str, str]:
    response = stack.http.get(f"{stack.app.url}/api/images/sbom", timeout=30, params={
        "registry": stack.registry.host, "repository": repository, "reference": reference, "format": output})
    return response.status_code, response.headers.get("Content-Type", ""), response.text


def test_pushed_image_sbom_in_every_format_and_the_cache_across_images(stack: Stack) -> None:
    base = make_layer({**tree("distro/debian"), **tree("dpkg")})
    python = make_layer(tree("python"))
    node = make_layer(tree("npm"), compression="zstd")
    stack.activate("sbom/app")
    pushed = push_image(stack.registry, "sbom/app", "1", [base, python])
    stack.registry.blob_downloads.reset()
    stack.post_events([image_pushed(stack.registry.host, "sbom/app", str(pushed.digest), "1", pushed.media_type,
                                    pushed.size)])
    image = stack.wait_for_image("sbom/app", "1")
    (platform,) = image["platforms"]
    assert platform["distro"] == "Debian GNU/Linux 12 (bookworm)"
    counts = platform["package_counts"]
    assert counts["deb"] > 0 and counts["pypi"] >= 2

    status, media_type, text = sbom(stack, "sbom/app", "1", "json")
    assert status == 200 and media_type.startswith("application/json")
    document = json.loads(text)
    assert document["digest"] == str(pushed.digest)
    packages = document["platforms"][0]["packages"]
    assert document["platforms"][0]["os"]["id"] == "debian"
    debs = [p for p in packages if p["type"] == "deb"]
    assert len(debs) == counts["deb"]
    assert all(p["purl"].startswith("pkg:deb/debian/") and "distro=debian-12" in p["purl"] for p in debs)
    assert all(p["layer"] == str(base.digest) for p in debs)
    requests_package = next(p for p in packages if p["type"] == "pypi" and p["name"] == "requests")
    assert requests_package["purl"] == "pkg:pypi/requests@2.34.2"
    assert requests_package["layer"] == str(python.digest)

    status, media_type, text = sbom(stack, "sbom/app", "1", "cyclonedx")
    assert status == 200 and media_type.startswith("application/vnd.cyclonedx+json")
    assert_valid_cyclonedx(text)
    assert "pkg:pypi/requests@2.34.2" in text
    status, media_type, text = sbom(stack, "sbom/app", "1", "spdx")
    assert status == 200 and media_type.startswith("application/spdx+json")
    assert_valid_spdx(json.loads(text))
    assert sbom(stack, "sbom/app", "1", "xml")[0] == 400
    assert sbom(stack, "sbom/app", "nope", "json")[0] == 404

    first = stack.registry.blob_downloads.snapshot()
    assert first.get(str(base.digest)) == 1 and first.get(str(python.digest)) == 1

    # A new image on the same base: only its new layer is downloaded (the cache lives in Table storage).
    stack.registry.blob_downloads.reset()
    second = push_image(stack.registry, "sbom/app", "2", [base, node])
    stack.post_events([image_pushed(stack.registry.host, "sbom/app", str(second.digest), "2", second.media_type,
                                    second.size)])
    image2 = stack.wait_for_image("sbom/app", "2")
    assert image2["platforms"][0]["package_counts"]["npm"] > 0
    downloads = stack.registry.blob_downloads.snapshot()
    assert str(base.digest) not in downloads
    assert downloads.get(str(node.digest)) == 1

    # Deleting an image deletes its SBOM.
    stack.post_events([image_deleted(stack.registry.host, "sbom/app", str(second.digest), second.media_type)])
    wait_until(lambda: sbom(stack, "sbom/app", str(second.digest), "json")[0] == 404, timeout=30, what="SBOM delete")
    assert sbom(stack, "sbom/app", "1", "json")[0] == 200
