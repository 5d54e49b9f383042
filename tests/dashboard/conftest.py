"""The dashboard's browser tests: the end-to-end stack (``lookout serve`` on Azurite with an integration for
the session's registry) and one headless Chromium for the package."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.registry.reference import Digest
from testkit.contents import dist_info, npm_package, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import CREATED, Layer, PushedImage, make_layer, push_image
from testkit.processes import wait_until
from testkit.stack import Stack
from tests.dashboard.support import Browser, Dashboard, browser
from tests.e2e.conftest import stack  # noqa: F401 - the end-to-end stack, one for this package
from tests.vulns.support import PYPA


@pytest.fixture(scope="package")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with browser(tmp_path_factory.mktemp("downloads")) as started:
        yield started


@pytest.fixture
def dashboard(chromium: Browser, stack: Stack) -> Iterator[Dashboard]:  # noqa: F811 - the imported fixture
    """The stack's dashboard in the package's browser: no function key, no downloads, no console noise.

    After the test, no dialog may be open, no Content-Security-Policy violation or script error may
    have happened.
    """
    page = Dashboard(chromium, stack.app.url)
    page.reset()
    yield page
    page.assert_clean()


EVIL = "<img src=x onerror=alert(1)>"
"""A registry value that would run script if a page parsed it as HTML."""


@pytest.fixture(scope="package")
def advisories(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:  # noqa: F811 - the imported fixture
    """Advisories in the stack's mirror, imported with the CLI: PyPA's for requests, a crafted critical one for
    lodash, and one for the npm package named :data:`EVIL` whose summary and reference are hostile too."""
    folder = tmp_path_factory.mktemp("advisories")
    shutil.copytree(PYPA / "requests", folder / "pypa" / "requests")
    hostile = osv_record("GHSA-test-hostile", "npm", EVIL, "1.0.1", severity="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N")
    hostile["summary"] = "<img src=x onerror=alert(2)> in the summary"
    hostile["references"].append({"type": "WEB", "url": "javascript:alert(3)"})
    write_records(folder, {
        "npm/GHSA-test-lodash.json": osv_record("GHSA-test-lodash", "npm", "lodash", "4.17.21",
                                                severity="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        "npm/GHSA-test-hostile.json": hostile,
    })
    imported = stack.lookout("advisories", "import", str(folder))
    assert imported.returncode == 0, imported.stderr
    assert "0 problems" in imported.stdout


def analyzed_image(stack: Stack, repository: str, tag: str, layers: list[dict[str, str]],  # noqa: F811 - the fixture's name
                   labels: dict[str, str] | None = None, created: str = CREATED) -> PushedImage:
    """Activate ``repository``, push an image to it, deliver the push event and wait for the analysis."""
    stack.activate(repository)
    pushed = push_image(stack.registry, repository, tag, layers, labels=labels, created=created)
    delivered = stack.post_events([image_pushed(stack.registry.host, repository, str(pushed.digest), tag,
                                                pushed.media_type, pushed.size)])
    assert delivered.status_code == 200, delivered.text
    stack.wait_for_image(repository, tag)
    return pushed


@pytest.fixture(scope="package")
def shop_image(stack: Stack, advisories: None) -> PushedImage:  # noqa: F811 - the imported fixture
    """``dash/shop:1``: requests 2.19.0 (PyPA advisories) and lodash 4.17.15 (a crafted critical one)."""
    return analyzed_image(stack, "dash/shop", "1", [dist_info("requests", "2.19.0"), npm_package("lodash", "4.17.15")],
                          labels={"org.opencontainers.image.title": "shop", "org.opencontainers.image.version": "1"})


@pytest.fixture(scope="package")
def hostile_image(stack: Stack, advisories: None) -> PushedImage:  # noqa: F811 - the imported fixture
    """``dash/hostile:1``: a label and an npm package named :data:`EVIL`, matched by an advisory as hostile."""
    return analyzed_image(stack, "dash/hostile", "1", [npm_package(EVIL, "1.0.0")],
                          labels={"description": EVIL, EVIL: "label name"})


def pushed_and_analyzed(stack: Stack, repository: str, tag: str, layers: list[Layer], created: str = CREATED  # noqa: F811
                        ) -> PushedImage:
    """Push ``layers`` as ``repository:tag`` (an activated repository), wait for that digest's analysis and for the
    tag to point at it (a tag pushed again points at the new digest only after its record is written)."""
    pushed = push_image(stack.registry, repository, tag, layers, created=created)
    delivered = stack.post_events([image_pushed(stack.registry.host, repository, str(pushed.digest), tag,
                                                pushed.media_type, pushed.size)])
    assert delivered.status_code == 200, delivered.text
    stack.wait_for_image(repository, str(pushed.digest))
    wait_until(lambda: stack.image(repository, tag).json().get("digest") == str(pushed.digest), timeout=30,
               what=f"{repository}:{tag} to point at {pushed.digest}")
    return pushed


VEX_JUSTIFICATION = "vulnerable_code_not_in_execute_path"
VEX_IMPACT = "the redirect handling of requests is never used <img src=x onerror=alert(5)>"
"""The VEX statement's impact statement: markup in it must show as text."""
PUBLIC_BASE = "library/dashbase"


@dataclass(frozen=True)
class BasedImages:
    """The images of :func:`based_images`."""

    base_v1: PushedImage
    base_v2: PushedImage
    app: PushedImage
    public_app: PushedImage


@pytest.fixture(scope="package")
def based_images(stack: Stack, advisories: None, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
                 ) -> BasedImages:
    """Images built on base images, with a VEX statement and their policies evaluated.

    ``dash/base:1`` was requests 2.19.0 (two PyPA advisories: ``v1``) and was pushed again as requests 2.31.0
    (none: ``v2``, created later). ``dash/app:1`` is v1's layer plus lodash 4.17.15 (a critical advisory),
    analyzed after the tag moved: its base is ``dash/base:1`` at v1, a rebuild is needed, and v2 would remove
    both requests findings. A VEX document for ``dash/app`` says requests is not affected by CVE-2018-18074.
    ``dash/pubapp:1`` is built on the imported public base ``library/dashbase:1.0``; the other imported tag,
    ``1.1``, has layers Lookout never analyzed, so no vulnerability data is known for it.
    """
    folder = tmp_path_factory.mktemp("bases")
    for repository in ("dash/base", "dash/app", "dash/pubapp"):
        stack.activate(repository)
    old = make_layer({**dist_info("requests", "2.19.0"), "etc/dash-base-release": "1\n"})
    new = make_layer({**dist_info("requests", "2.31.0"), "etc/dash-base-release": "2\n"})
    base_v1 = pushed_and_analyzed(stack, "dash/base", "1", [old])
    base_v2 = pushed_and_analyzed(stack, "dash/base", "1", [new], created="2025-06-01T00:00:00Z")
    app = pushed_and_analyzed(stack, "dash/app", "1", [old, make_layer(npm_package("lodash", "4.17.15"))])

    vex = folder / "app.vex.json"
    vex.write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.test/vex/dash-app", "author": "dash",
        "timestamp": "2026-03-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-2018-18074"}, "products": [{"@id": "pkg:pypi/requests"}],
                        "status": "not_affected", "justification": VEX_JUSTIFICATION,
                        "impact_statement": VEX_IMPACT}],
    }))
    imported = stack.lookout("vex", "import", "--integration", stack.integration["id"], "--repository", "dash/app",
                             str(vex), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["sboms_rematched"] >= 1

    public = make_layer({**dist_info("requests", "2.19.0"), "etc/dash-public-release": "1.0\n"})
    document = folder / "bases.json"
    document.write_text(json.dumps({"bases": [
        {"name": PUBLIC_BASE, "tag": "1.0", "digest": str(Digest.of(b"dashbase 1.0")),
         "diff_ids": [str(public.diff_id)], "platform": "linux/amd64"},
        {"name": PUBLIC_BASE, "tag": "1.1", "digest": str(Digest.of(b"dashbase 1.1")),
         "diff_ids": [str(Digest.of(b"a layer no image has"))], "platform": "linux/amd64"},
    ]}))
    done = stack.lookout("bases", "import", str(document))
    assert done.returncode == 0, done.stderr
    public_app = pushed_and_analyzed(stack, "dash/pubapp", "1", [public, make_layer({"srv/pubapp/README": "pubapp\n"})])
    return BasedImages(base_v1, base_v2, app, public_app)
