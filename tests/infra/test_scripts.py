"""deploy.sh and destroy.sh: syntax, lint, argument checks that need no Azure, and the package they ship."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.infra.templates import INFRA, PROJECT

SCRIPTS = (INFRA / "deploy.sh", INFRA / "destroy.sh")


def run(*args: str, cwd: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(PROJECT)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses(script: Path) -> None:
    result = run("bash", "-n", str(script))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_passes_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: `make setup` installs it (Debian package shellcheck)")
    result = run(shellcheck, "--severity=style", str(script))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_explains_its_usage(script: Path) -> None:
    result = run("bash", str(script), "--help")
    assert result.returncode == 0
    assert "Usage: infra/" in result.stdout and "--resource-group" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "resource group is missing"),
        (("-g", "rg"), "name prefix is missing"),
        (("-g", "rg", "-p", "9lives"), "prefix must be"),
        (("-g", "rg", "-p", "lookout", "--publisher", "ftp"), "--publisher takes"),
        (("-g", "rg", "-p", "lookout", "--bogus"), "unknown argument"),
    ],
)
def test_deploy_rejects_bad_arguments_before_calling_azure(args: tuple[str, ...], message: str) -> None:
    result = run("bash", str(INFRA / "deploy.sh"), *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_destroy_needs_a_resource_group() -> None:
    result = run("bash", str(INFRA / "destroy.sh"))
    assert result.returncode != 0 and "resource group is missing" in result.stderr


def package(root: Path, out: Path) -> list[str]:
    result = run("bash", str(root / "infra" / "deploy.sh"), "--package-only", str(out), cwd=root)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        return archive.namelist()


def test_package_of_this_project_holds_the_app_and_no_development_files(tmp_path: Path) -> None:
    names = package(PROJECT, tmp_path / "app.zip")
    for required in ("function_app.py", "host.json", "requirements.txt", "shared/settings.py", "functions/api.py"):
        assert required in names
    # The dashboard's static files are served by the app itself: every one of them ships.
    static = PROJECT / "shared" / "dashboard" / "static"
    shipped = sorted(path.relative_to(PROJECT).as_posix() for path in static.rglob("*") if path.is_file())
    assert "shared/dashboard/static/index.html" in shipped and "shared/dashboard/static/js/main.js" in shipped
    assert "functions/dashboard.py" in names
    assert [name for name in shipped if name not in names] == []
    assert "infra/registry-integration.json" in names  # the app serves it to the portal and to az
    assert [n for n in names if n.startswith("infra/")] == ["infra/registry-integration.json"]
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"tests", "devhost", "bench", "node_modules", ".venv", ".git", ".azurite", ".ci", "scripts"}
    assert not any(part.startswith(".venv") for name in names for part in name.split("/"))
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".egg-info/" in n]
    assert not {"local.settings.json", "pyproject.toml", "requirements-dev.txt", "Makefile"} & set(names)


def test_funcignore_rules_as_deploy_sh_applies_them(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    shutil.copy(INFRA / "deploy.sh", tmp_path / "infra" / "deploy.sh")
    shutil.copy(PROJECT / ".funcignore", tmp_path / ".funcignore")
    files = {
        "function_app.py": True,
        "host.json": True,
        "requirements.txt": True,
        "shared/__init__.py": True,
        "shared/store/tests_helpers.py": True,
        "functions/api.py": True,
        "shared/dashboard/static/index.html": True,
        "shared/dashboard/static/app.css": True,
        "shared/dashboard/static/js/pages/image.js": True,
        "shared/dashboard/static/favicon.svg": True,
        "functions/__pycache__/api.cpython-311.pyc": False,
        "tests/test_x.py": False,
        "shared/tests/deep.py": False,
        "bench/run.py": False,
        "devhost/host.py": False,
        ".venv/lib/site.py": False,
        ".venv-checkov/bin/checkov": False,
        "node_modules/azurite/index.js": False,
        "local.settings.json": False,
        ".azurite/__azurite_db_queue__.json": False,
        "lookout.egg-info/PKG-INFO": False,
        "requirements-dev.txt": False,
    }
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    names = set(package(tmp_path, tmp_path / "out.zip"))
    assert {n for n, kept in files.items() if kept} <= names
    assert not {n for n, kept in files.items() if not kept} & names
    assert names <= set(files), f"unexpected files: {sorted(names - set(files))}"
