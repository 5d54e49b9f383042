"""Paths inside images: member names, symlink resolution, globs."""

from __future__ import annotations

import re

import pytest

from shared.analysis.paths import ancestors, compile_globs, join_clamped, normalize_member, resolve


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("etc/os-release", "/etc/os-release"),
        ("./etc/os-release", "/etc/os-release"),
        ("/etc//os-release/", "/etc/os-release"),
        ("usr/lib/../lib/os-release", "/usr/lib/os-release"),
        ("./", "/"),
        ("../etc/passwd", None),
        ("usr/../../etc/passwd", None),
        ("etc/\x00passwd", None),
    ],
)
def test_member_names_are_normalized_or_rejected(name: str, expected: str | None) -> None:
    assert normalize_member(name) == expected


def test_symlink_targets_are_clamped_at_the_root() -> None:
    assert join_clamped("/etc", "../usr/lib/os-release") == "/usr/lib/os-release"
    assert join_clamped("/etc", "../../../../usr/lib/os-release") == "/usr/lib/os-release"
    assert join_clamped("/etc", "/usr/lib/./os-release") == "/usr/lib/os-release"


def test_resolve_follows_links_in_every_component() -> None:
    links = {"/etc/os-release": "../usr/lib/os-release", "/usr/lib": "/lib64/real", "/lib64": "lib"}
    assert resolve("/etc/os-release", links, 40) == "/lib/real/os-release"
    assert resolve("/usr/lib/x/../y", links, 40) == "/lib/real/y"
    assert resolve("/not/a/link", links, 40) == "/not/a/link"


def test_resolve_stops_loops() -> None:
    assert resolve("/a/file", {"/a": "/b", "/b": "/a"}, 40) is None
    assert resolve("/self", {"/self": "self"}, 40) is None


def test_resolve_never_leaves_the_root() -> None:
    assert resolve("/etc/escape/passwd", {"/etc/escape": "../../../../../.."}, 40) == "/passwd"


def test_ancestors() -> None:
    assert list(ancestors("/a/b/c")) == ["/a/b", "/a"]
    assert list(ancestors("/a")) == []


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.dist-info/METADATA", "/usr/lib/python3/dist-packages/a-1.dist-info/METADATA", True),
        ("**/*.dist-info/METADATA", "/a-1.dist-info/METADATA", True),
        ("**/*.dist-info/METADATA", "/x/a-1.dist-info/sub/METADATA", False),
        ("/var/lib/dpkg/status.d/*", "/var/lib/dpkg/status.d/libc6", True),
        ("/var/lib/dpkg/status.d/*", "/var/lib/dpkg/status.d/sub/libc6", False),
        ("/var/lib/dpkg/status", "/x/var/lib/dpkg/status", False),
        ("*.jar", "/opt/app/lib/a.jar", True),
        ("**/node_modules/@*/*/package.json", "/app/node_modules/@azure/core/package.json", True),
        ("**/node_modules/*/package.json", "/app/node_modules/a/dist/package.json", False),
        ("**/specifications/**/*.gemspec", "/usr/lib/ruby/gems/3.1.0/specifications/default/csv-3.2.2.gemspec", True),
        ("/etc/[ab]?.conf", "/etc/a1.conf", True),
        ("/etc/[ab]?.conf", "/etc/c1.conf", False),
    ],
)
def test_globs(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_globs([pattern]).fullmatch(path)) is matches


def test_globs_escape_regex_characters() -> None:
    assert compile_globs(["/a+b/(c).txt"]).fullmatch("/a+b/(c).txt")
    assert compile_globs([]).fullmatch("/anything") is None
    assert isinstance(compile_globs(["x"]), re.Pattern)
