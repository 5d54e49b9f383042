"""Resolving dashboard paths to the shipped static files: the allow-list, no way out of the root, ETags."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from shared.dashboard.assets import CONTENT_SECURITY_POLICY, INDEX, STATIC_ROOT, relative_path, resolve


def test_the_root_is_the_index_page() -> None:
    asset = resolve("")
    assert asset is not None
    assert asset.path == INDEX
    assert asset.content_type == "text/html; charset=utf-8"
    assert b'<script type="module" src="js/main.js"></script>' in asset.body


@pytest.mark.parametrize(("path", "content_type"), [
    ("app.css", "text/css; charset=utf-8"),
    ("js/main.js", "text/javascript; charset=utf-8"),
    ("js/pages/image.js", "text/javascript; charset=utf-8"),
    ("js/panels/policies.js", "text/javascript; charset=utf-8"),
    ("js/panels/bases.js", "text/javascript; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
])
def test_shipped_files_are_served_with_their_type(path: str, content_type: str) -> None:
    asset = resolve(path)
    assert asset is not None and asset.content_type == content_type
    assert asset.body == (STATIC_ROOT / path).read_bytes()


@pytest.mark.parametrize("path", [
    "../assets.py", "js/../../assets.py", "..", ".", "js/./main.js", "js//main.js", "/etc/passwd", "js\\main.js",
    "%2e%2e/assets.py", "..%2fassets.py", ".hidden.css", "js/.main.js", "app.css\x00.png", "C:app.css",
    "index.html/", "js", "js/", "missing.css", "app.CSS.bak", "a" * 300 + ".css",
])
def test_unsafe_or_unknown_paths_are_not_served(path: str) -> None:
    assert resolve(path) is None


def test_only_allowed_extensions_are_served(tmp_path: Path) -> None:
    for name in ("page.html", "notes.txt", "module.py", "data.json", "key.pem", "archive.zip"):
        (tmp_path / name).write_text("x")
    served = {name for name in os.listdir(tmp_path) if resolve(name, tmp_path) is not None}
    assert served == {"page.html", "notes.txt"}
    assert relative_path("module.py") is None


def test_a_symbolic_link_out_of_the_root_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (root / "leak.txt").symlink_to(secret)
    (root / "inside.txt").write_text("fine")
    (root / "alias.txt").symlink_to(root / "inside.txt")
    assert resolve("leak.txt", root) is None
    alias = resolve("alias.txt", root)
    assert alias is not None and alias.body == b"fine"


def test_a_link_renamed_to_an_allowed_extension_still_needs_an_allowed_target(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text("KEY = 1")
    (tmp_path / "settings.css").symlink_to(tmp_path / "settings.py")
    assert resolve("settings.css", tmp_path) is None


def test_etag_follows_the_content(tmp_path: Path) -> None:
    page = tmp_path / "app.css"
    page.write_text("a {}")
    first = resolve("app.css", tmp_path)
    assert first is not None and first.etag.startswith('"') and first.etag.endswith('"')
    assert resolve("app.css", tmp_path) == first
    page.write_text("b { color: red }")
    second = resolve("app.css", tmp_path)
    assert second is not None and second.etag != first.etag and second.body == b"b { color: red }"


def test_if_none_match_forms() -> None:
    asset = resolve("app.css")
    assert asset is not None
    assert asset.matches(asset.etag)
    assert asset.matches(f'"other", W/{asset.etag}')
    assert asset.matches("*")
    assert not asset.matches('"other"')
    assert not asset.matches(None) and not asset.matches("")


def test_headers_forbid_inline_script_other_origins_and_sniffing() -> None:
    asset = resolve("")
    assert asset is not None
    headers = asset.headers()
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-cache" and headers["ETag"] == asset.etag
    policy = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["require-trusted-types-for"] == "'script'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY


def test_the_shipped_pages_use_no_inline_script_style_or_other_origin() -> None:
    for path in STATIC_ROOT.rglob("*"):
        if path.suffix not in (".html", ".js", ".css"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "outerHTML" not in text and "insertAdjacentHTML" not in text, path
        assert "document.write" not in text and "eval(" not in text, path
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path
        if path.suffix == ".html":
            assert "<script>" not in text and " style=" not in text and "<style" not in text, path
            assert not re.search(r"\son[a-z]+\s*=", text), path
