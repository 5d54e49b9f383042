"""The dashboard's browser tests: the end-to-end stack (``lookout serve`` on Azurite with an integration for
the session's registry) and one headless Chromium for the package."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from testkit.contents import dist_info, npm_package, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import CREATED, PushedImage, push_image
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
