"""Where advisory imports come from: a directory of OSV records, an ``all.zip`` file, or its https URL.

Downloads stream to a temporary file (a zip needs seeking) with a size cap and a timeout, and the
file is removed afterwards. The ecosystem an osv.dev ``<ecosystem>/all.zip`` covers completely is
told by its path, so records that vanished from it are removed from the mirror.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from shared.errors import InvalidInput, LookoutError
from shared.vulns.feeds import AdvisoryFeed, DirectoryFeed, ZipFeed

MAX_DOWNLOAD_BYTES = 1024 * 1024 * 1024
DOWNLOAD_TIMEOUT = (10, 120)
_ALL_ZIP = re.compile(r"/([^/]+)/all\.zip$")


class FeedUnavailable(LookoutError):
    """A feed URL could not be downloaded now."""

    code = "feed-unavailable"
    temporary = True


@dataclass(frozen=True)
class OpenedFeed:
    """A feed ready to read, and the ecosystems it covers completely (empty when unknown)."""

    feed: AdvisoryFeed
    complete_ecosystems: tuple[str, ...]


def complete_ecosystem(location: str) -> tuple[str, ...]:
    """``("PyPI",)`` for ``…/PyPI/all.zip`` (osv.dev's layout); ``()`` otherwise."""
    match = _ALL_ZIP.search(urlsplit(location).path if "://" in location else location)
    return (match.group(1),) if match else ()


@contextmanager
def open_feed(location: str) -> Iterator[OpenedFeed]:
    """Open a directory, a zip file or an https zip URL as a feed. InvalidInput when it is none of those."""
    if location.startswith(("https://", "http://127.", "http://localhost")):
        with tempfile.TemporaryDirectory(prefix="lookout-feed-") as directory:
            path = Path(directory) / "all.zip"
            _download(location, path)
            yield OpenedFeed(ZipFeed(path, name=_safe_name(location)), complete_ecosystem(location))
        return
    if "://" in location:
        raise InvalidInput(f"advisories can be read from a directory, a zip file or an https URL, not {location!r}")
    path = Path(location)
    if path.is_dir():
        yield OpenedFeed(DirectoryFeed(path), ())
    elif path.is_file():
        yield OpenedFeed(ZipFeed(path), complete_ecosystem(str(path)))
    else:
        raise InvalidInput(f"{location} is neither a directory nor a file")


def _safe_name(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query string


def _download(url: str, path: Path) -> None:
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:
                error = FeedUnavailable if response.status_code >= 500 or response.status_code == 429 else LookoutError
                raise error(f"{_safe_name(url)} answered HTTP {response.status_code}", code="feed-unavailable")
            written = 0
            with path.open("wb") as out:
                for chunk in response.iter_content(1024 * 1024):
                    written += len(chunk)
                    if written > MAX_DOWNLOAD_BYTES:
                        raise LookoutError(f"{_safe_name(url)} is larger than {MAX_DOWNLOAD_BYTES} bytes",
                                           code="feed-too-large")
                    out.write(chunk)
    except requests.RequestException as exc:
        raise FeedUnavailable(f"{_safe_name(url)} could not be downloaded: {type(exc).__name__}") from None
