"""Resolving a dashboard URL path to one of the shipped static files, and the headers it is served with.

A path is served only when every segment is a plain name (letters, digits, ``.``, ``_``, ``-``, not
starting with a dot), its extension is in :data:`CONTENT_TYPES`, and the file it names lies inside
the static root once symbolic links are resolved. Anything else is unknown (``None``): there is no
directory listing and no way out of the root.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STATIC_ROOT = Path(__file__).resolve().parent / "static"
"""Where the dashboard's files are shipped (inside the deployment package)."""

INDEX = "index.html"
"""The file served for the dashboard's root."""

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
"""The extensions that may be served, with their media types; other files are never served."""

MAX_PATH_LENGTH = 256
"""Longer paths are unknown without looking at the file system."""

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
])
"""Scripts, styles and API calls from this origin only; no inline script or style, no frames, no forms
posted anywhere, and (Trusted Types) no HTML parsed from strings at all: the pages build their DOM
from elements and text nodes."""

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
"""Headers on every dashboard answer, found or not. ``no-referrer`` keeps a function key given in the
page's URL (``?code=``) out of the ``Referer`` of links the page opens."""

CACHE_CONTROL = "no-cache"
"""Browsers keep the files but revalidate each use with the ETag: a deployment shows at once, and an
unchanged file costs a 304 without a body."""

_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Asset:
    """A static file to serve: its path under the static root, bytes, media type and strong ETag."""

    path: str
    body: bytes
    content_type: str
    etag: str

    def headers(self) -> dict[str, str]:
        """The answer's headers besides ``Content-Type``: caching, ETag and :data:`SECURITY_HEADERS`."""
        return {**SECURITY_HEADERS, "Cache-Control": CACHE_CONTROL, "ETag": self.etag}

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an ``If-None-Match`` header names this version (``*``, or a list of tags, weak or strong)."""
        if not if_none_match:
            return False
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == self.etag for tag in tags)


def relative_path(path: str) -> str | None:
    """``path`` (the part of the URL after the dashboard's root) as a safe relative file path, or None.

    The root (``""``) is :data:`INDEX`. A segment that is empty, ``.``, ``..``, hidden, or holds
    anything but letters, digits, ``.``, ``_`` and ``-`` (backslashes, ``%``, NUL, ``:``) makes the
    path unknown, as does an extension outside :data:`CONTENT_TYPES`.
    """
    if len(path) > MAX_PATH_LENGTH:
        return None
    if path in ("", "/"):
        return INDEX
    segments = path.split("/")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        return None
    if Path(segments[-1]).suffix.lower() not in CONTENT_TYPES:
        return None
    return "/".join(segments)


def resolve(path: str, root: Path = STATIC_ROOT) -> Asset | None:
    """The static file ``path`` names under ``root``, or None when it is not one that may be served.

    Files are read when first asked for and again when their size or modification time changes.
    """
    relative = relative_path(path)
    if relative is None:
        return None
    base = root.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or candidate.suffix.lower() not in CONTENT_TYPES or not candidate.is_file():
        return None
    stat = candidate.stat()
    return _load(candidate, relative, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=128)
def _load(file: Path, relative: str, mtime_ns: int, size: int) -> Asset:
    """The asset of ``file``; ``mtime_ns`` and ``size`` are part of the cache key only."""
    body = file.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(relative, body, CONTENT_TYPES[file.suffix.lower()], etag)
