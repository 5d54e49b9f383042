"""Paths inside an image filesystem: normalizing tar member names, globs, and symlink resolution.

Every path handled by the analysis is absolute and normalized (``/usr/lib/os-release``): no ``.``
or ``..`` components, no doubled or trailing slash. A tar member name that climbs above the root
(``../etc/passwd``) is unsafe and is rejected; symlink targets, which the kernel resolves inside the
image root, are clamped at ``/`` instead (``/..`` is ``/``), so nothing ever resolves outside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence


def normalize_member(name: str) -> str | None:
    """The absolute path of a tar member name, or ``None`` when the name is unsafe.

    Leading ``/`` and ``./`` are dropped (both mean the image root). Unsafe: a ``..`` that would
    leave the root, or a NUL character.
    """
    if "\x00" in name:
        return None
    if ".." not in name and "//" not in name and "/." not in name and not name.startswith("."):
        return "/" + name.strip("/")  # no empty, "." or ".." part: only the outer slashes go
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def join_clamped(base_dir: str, target: str) -> str:
    """Resolve symlink ``target`` against ``base_dir`` lexically, clamping ``..`` at the root."""
    start = [] if target.startswith("/") else [p for p in base_dir.split("/") if p]
    parts = start
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def parent(path: str) -> str:
    """The directory containing ``path`` (``/`` for a top-level entry and for ``/`` itself)."""
    head = path.rsplit("/", 1)[0]
    return head or "/"


def basename(path: str) -> str:
    """The last component of ``path``."""
    return path.rsplit("/", 1)[-1]


def ancestors(path: str) -> Iterator[str]:
    """The strict ancestors of ``path``, nearest first, excluding ``/`` (``/a/b/c`` → ``/a/b``, ``/a``)."""
    while True:
        path = path.rsplit("/", 1)[0]
        if not path:
            return
        yield path


def resolve(path: str, symlinks: Mapping[str, str], max_hops: int) -> str | None:
    """Follow the symlinks of ``symlinks`` (link path → target as stored) in every component of ``path``.

    Returns the path with no link left in it, or ``None`` after ``max_hops`` links (a loop).
    Relative targets are resolved against the link's directory; everything stays inside the root.
    """
    hops = 0
    pending = [p for p in path.split("/") if p]
    done = ""
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            done = parent(done) if done else ""
            if done == "/":
                done = ""
            continue
        candidate = f"{done}/{part}"
        target = symlinks.get(candidate)
        if target is None:
            done = candidate
            continue
        hops += 1
        if hops > max_hops:
            return None
        resolved = join_clamped(done or "/", target)
        pending = [p for p in resolved.split("/") if p] + pending
        done = ""
    return done or "/"


_GLOB_PIECE = re.compile(r"\*\*/|\*\*|\*|\?|\[[^\]/]*\]|[^*?\[]+|\[")


def glob_to_regex(pattern: str) -> str:
    """A regular expression (no anchors) for a glob over absolute paths.

    ``**/`` matches any number of directories (including none), ``*`` any characters but ``/``,
    ``?`` one such character, ``[...]`` a character class. A pattern not starting with ``/``
    matches at any depth (``*.jar`` is ``/**/*.jar``; ``**/x`` is ``/**/x``).
    """
    if not pattern.startswith("/"):
        # One ``**/`` only: two in a row match the same paths but backtrack heavily.
        pattern = "/" + pattern if pattern.startswith("**/") else "/**/" + pattern
    out: list[str] = []
    for piece in _GLOB_PIECE.findall(pattern):
        if piece == "**/":
            out.append("(?:[^/]*/)*")
        elif piece == "**":
            out.append(".*")
        elif piece == "*":
            out.append("[^/]*")
        elif piece == "?":
            out.append("[^/]")
        elif piece.startswith("[") and piece.endswith("]") and len(piece) > 2:
            body = piece[1:-1]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
        else:
            out.append(re.escape(piece))
    return "".join(out)


def compile_globs(patterns: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """One compiled expression matching a path (with :meth:`re.Pattern.fullmatch`) against any of ``patterns``."""
    return re.compile("|".join(f"(?:{glob_to_regex(p)})" for p in patterns) or "(?!)")


_WILDCARD = re.compile(r"[*?\[]")


class PathFilter:
    """Whether a path matches any of some globs, answered cheaply for the many paths that cannot.

    :meth:`matches` agrees with ``compile_globs(patterns).fullmatch(path)`` on every normalized
    path. From each pattern's last component it derives a necessary condition on the path: an
    exact last component (``METADATA``), a suffix of it (``*.jar``), or a fixed parent directory
    (``/var/lib/dpkg/status.d/*``). Only a path meeting one of them is tried against the
    expression. A pattern whose last component has none of these shapes makes every path a
    candidate.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.expression = compile_globs(tuple(patterns))
        names: set[str] = set()
        suffixes: set[str] = set()
        parents: set[str] = set()
        self.every_path = False
        for pattern in patterns:
            anchored = pattern if pattern.startswith("/") else "/" + pattern
            head, _, last = anchored.rpartition("/")
            if not _WILDCARD.search(last):
                names.add(last)
            elif last.startswith("*") and last != "*" and not _WILDCARD.search(last[1:]):
                suffixes.add(last[1:])
            elif last == "*" and pattern.startswith("/") and not _WILDCARD.search(head):
                parents.add(head)
            else:
                self.every_path = True
        self.names = frozenset(names)
        self.suffixes = tuple(sorted(suffixes))
        self.parents = frozenset(parents)

    def candidate(self, path: str) -> bool:
        """Whether ``path`` passes the cheap test (a superset of the paths that match)."""
        if self.every_path:
            return True
        cut = path.rfind("/")
        name = path[cut + 1 :]
        return name in self.names or name.endswith(self.suffixes) or path[:cut] in self.parents

    def matches(self, path: str) -> bool:
        """Whether the normalized absolute ``path`` matches one of the patterns."""
        return self.candidate(path) and self.expression.fullmatch(path) is not None
