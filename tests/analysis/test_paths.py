"""Paths inside images: member names, symlink resolution, globs."""

from __future__ import annotations

import re

import pytest

from shared.analysis import default_catalogers
from shared.analysis.catalogers.base import Cataloger
from shared.analysis.paths import (
    PathFilter,
    ancestors,
    compile_globs,
    glob_to_regex,
    join_clamped,
    normalize_member,
    resolve,
)


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
        ("/", "/"),
        ("", "/"),
        ("usr/lib/", "/usr/lib"),
        ("home/.config/x", "/home/.config/x"),
        ("a/./b", "/a/b"),
        ("a/.", "/a"),
        (".hidden", "/.hidden"),
        ("..data/x", "/..data/x"),
        ("a/b..c", "/a/b..c"),
        ("a/..", "/"),
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


CANDIDATES = {
    "distro": (["/etc/os-release", "/usr/lib/os-release"], ["/usr/lib/os-release.d", "/etc/lsb-release", "/bin/sh"]),
    "dpkg": (
        ["/var/lib/dpkg/status", "/var/lib/dpkg/status.d/libc6", "/var/lib/dpkg/status.d/libc6.md5sums"],
        ["/var/lib/dpkg/status-old", "/var/lib/dpkg/status.d/x/y", "/var/lib/dpkg/info/libc6.list"],
    ),
    "apk": (["/lib/apk/db/installed"], ["/lib/apk/db/lock", "/usr/lib/apk/db/installedx"]),
    "rpm": (
        ["/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages", "/var/lib/rpm/Packages.db"],
        ["/var/lib/rpm/Index.db", "/var/lib/rpm/rpmdb.sqlite-shm"],
    ),
    "python": (
        [
            "/usr/lib/python3/dist-packages/a-1.dist-info/METADATA",
            "/usr/lib/python3/dist-packages/b-2.egg-info",
            "/usr/lib/python3/dist-packages/b-2.egg-info/PKG-INFO",
        ],
        ["/usr/lib/python3/dist-packages/a-1.dist-info/RECORD", "/a/METADATA.txt", "/b.egg-info/SOURCES.txt"],
    ),
    "npm": (
        ["/app/node_modules/a/package.json", "/app/node_modules/@s/a/package.json"],
        ["/app/package.json.bak", "/app/node_modules/a/index.js"],
    ),
    "java": (["/opt/app.jar", "/opt/lib/b-1.war", "/x.hpi"], ["/opt/app.jar.sha1", "/opt/jar", "/opt/app.zip"]),
    "dotnet": (["/app/App.deps.json"], ["/app/App.runtimeconfig.json", "/app/deps.json.bak"]),
    "php-composer": (["/app/vendor/composer/installed.json"], ["/app/vendor/composer/installed.php"]),
    "ruby": (
        ["/usr/lib/ruby/gems/3.1.0/specifications/default/csv-3.2.2.gemspec", "/x/specifications/a.gemspec"],
        ["/usr/lib/ruby/gems/3.1.0/gems/csv/csv.gemspec.txt", "/gemspec"],
    ),
    "go": ([], ["/usr/local/bin/go", "/etc/os-release"]),
    "rust-audit": ([], ["/usr/local/bin/app"]),
}

_EVERY_PATH = sorted({p for yes, no in CANDIDATES.values() for p in yes + no})


@pytest.mark.parametrize("cataloger", default_catalogers(), ids=lambda c: c.name)
def test_the_path_filter_agrees_with_the_expression(cataloger: Cataloger) -> None:
    wanted, unwanted = CANDIDATES[cataloger.name]
    path_filter = PathFilter(cataloger.patterns)
    expression = compile_globs(cataloger.patterns)
    assert not path_filter.every_path  # every pattern in use has a cheap test
    for path in wanted:
        assert path_filter.candidate(path), path
    for path in unwanted:
        assert not path_filter.candidate(path), path
    for path in _EVERY_PATH:
        assert path_filter.matches(path) is (expression.fullmatch(path) is not None), path


@pytest.mark.parametrize(
    ("pattern", "candidate", "not_candidate"),
    [
        ("/etc/[ab]?.conf", "/anything", None),  # no cheap test: every path is a candidate
        ("**/x/*", "/anything", None),
        ("/usr/*/lib/*", "/anything", None),
        ("*.jar", "/a/b.jar", "/a/b.jar/c"),
        ("/a/*", "/a/b", "/a/b/c"),
        ("/*", "/a", "/a/b"),
        ("bin/tool", "/usr/bin/tool", "/usr/bin/tool2"),
    ],
)
def test_the_path_filter_shapes(pattern: str, candidate: str, not_candidate: str | None) -> None:
    path_filter = PathFilter([pattern])
    expression = compile_globs([pattern])
    assert path_filter.candidate(candidate)
    if not_candidate is not None:
        assert not path_filter.candidate(not_candidate)
    for path in (candidate, not_candidate or "/", "/etc/a1.conf", "/q/x/y", "/usr/a/lib/b"):
        assert path_filter.matches(path) is (expression.fullmatch(path) is not None)


def test_a_leading_double_star_is_not_doubled() -> None:
    assert glob_to_regex("**/x") == glob_to_regex("/**/x")
    assert glob_to_regex("x") == glob_to_regex("/**/x")
