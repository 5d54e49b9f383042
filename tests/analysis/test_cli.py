"""``lookout analyze`` against the real test registry: formats, credentials, platforms, errors."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from shared.cli import analyze
from shared.errors import LookoutError
from shared.registry import Platform
from testkit.images import push_image, push_index, symlink
from testkit.registry import RegistryServer
from tests.analysis.helpers import LayerEntries, tree

ROOT = Path(__file__).resolve().parents[2]
BASE: LayerEntries = {
    **tree("distro/debian"),
    "/etc/os-release": symlink("../usr/lib/os-release"),
    **tree("dpkg"),
    **tree("python"),
}


@pytest.fixture
def image(registry: RegistryServer) -> str:
    """A pushed multi-platform image; its reference with the registry host."""
    repo = f"cli/{uuid.uuid4().hex[:12]}"
    amd64 = push_image(registry, repo, None, [BASE], platform=Platform("linux", "amd64"))
    arm64 = push_image(registry, repo, None, [tree("apk")], platform=Platform("linux", "arm64"))
    push_index(registry, repo, "1.0", [arm64, amd64])
    return f"{registry.host}/{repo}:1.0"


def run(args: list[str], password: str = "") -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="lookout")
    analyze.add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(["analyze", *args])
    stdout, stderr = io.StringIO(), io.StringIO()
    code = analyze.run(parsed, stdin=io.StringIO(password + "\n"), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def credentials(registry: RegistryServer) -> tuple[list[str], str]:
    user = registry.readonly
    return ["--username", user.username, "--password-stdin", "--insecure"], user.password


def test_json_with_credentials_from_stdin(registry: RegistryServer, image: str) -> None:
    options, password = credentials(registry)
    code, out, err = run([image, *options, "--format", "json"], password)
    assert code == 0 and err == ""
    document = json.loads(out)
    assert document["reference"] == image
    assert [p["platform"] for p in document["platforms"]] == ["linux/arm64", "linux/amd64"]
    amd64 = document["platforms"][1]
    assert amd64["os"]["id"] == "debian"
    assert {p["type"] for p in amd64["packages"]} == {"deb", "pypi"}


def test_table_for_one_platform(registry: RegistryServer, image: str) -> None:
    options, password = credentials(registry)
    code, out, _ = run([image, *options, "--platform", "linux/arm64"], password)
    assert code == 0
    assert out.splitlines()[0].endswith(" linux/arm64 " + out.splitlines()[0].split()[-1])
    assert "musl" in out and "libssl3" not in out


def test_cyclonedx_of_a_multi_platform_image_picks_linux_amd64(registry: RegistryServer, image: str) -> None:
    options, password = credentials(registry)
    code, out, err = run([image, *options, "--format", "cyclonedx"], password)
    assert code == 0
    assert "writing the SBOM of linux/amd64" in err
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(out) is None
    properties = json.loads(out)["metadata"]["component"]["properties"]
    assert {"name": "lookout:platform", "value": "linux/amd64"} in properties


def test_spdx(registry: RegistryServer, image: str) -> None:
    options, password = credentials(registry)
    code, out, _ = run([image, *options, "--format", "spdx", "--platform", "linux/arm64"], password)
    assert code == 0
    document = json.loads(out)
    assert document["spdxVersion"] == "SPDX-2.3"
    assert any(p["name"] == "musl" for p in document["packages"])


def test_wrong_password_and_missing_password_fail(registry: RegistryServer, image: str) -> None:
    options, _ = credentials(registry)
    with pytest.raises(LookoutError) as refused:
        run([image, *options], "not-the-password")
    assert refused.value.code == "unauthorized"
    with pytest.raises(LookoutError, match="--password-stdin"):
        run([image, "--username", "someone", "--insecure"])


def test_the_module_runs_as_a_command(registry: RegistryServer, image: str) -> None:
    user = registry.readonly
    completed = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "analyze", image, "--username", user.username, "--password-stdin", "--insecure",
         "--platform", "linux/amd64", "--format", "json"],
        input=user.password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["platforms"][0]["platform"] == "linux/amd64"
    assert completed.stderr == ""  # no progress display when stderr is not a terminal


def test_errors_exit_with_1_and_a_message(registry: RegistryServer) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "analyze", f"{registry.host}/cli/missing:1.0", "--insecure"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.startswith("lookout: ")


def test_usage_errors_exit_with_2(registry: RegistryServer, image: str) -> None:
    user = registry.readonly
    login = ["--username", user.username, "--password-stdin", "--insecure"]
    for arguments in (["not a reference"], [image, *login, "--platform", "windows/amd64"]):
        completed = subprocess.run(
            [sys.executable, "-m", "shared.cli.main", "analyze", *arguments],
            input=user.password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
        )
        assert completed.returncode == 2, completed.stderr
        assert completed.stderr.startswith("lookout: ")


def test_terminal_progress_display() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = analyze.TerminalProgress(screen)
    progress.platform_started("linux/amd64", 3)
    progress.layer_started("sha256:" + "a" * 64, 3_000_000, cached=True)
    progress.layer_finished("sha256:" + "a" * 64)
    progress.layer_started("sha256:" + "b" * 64, 3_000_000, cached=False)
    progress.layer_started("sha256:" + "c" * 64, 9_000_000, cached=False)  # read at the same time
    progress.layer_advanced("sha256:" + "b" * 64, 1_500_000)
    progress.layer_finished("sha256:" + "b" * 64)
    progress.layer_advanced("sha256:" + "c" * 64, 2_000_000)
    progress.layer_finished("sha256:" + "c" * 64)
    text = screen.getvalue()
    assert "linux/amd64 layers 1/3 done; bbbbbbbbbbbb 1.5/3.0 MB, cccccccccccc 0.0/9.0 MB" in text
    assert "linux/amd64 layers 2/3 done; cccccccccccc 2.0/9.0 MB" in text
    assert text.endswith("\r\x1b[2K")
