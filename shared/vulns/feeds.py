"""Bulk advisory feeds: every OSV record of a directory tree or of an osv.dev-style ``all.zip``.

A feed yields :class:`~shared.vulns.model.Advisory` values and, for records it could not read,
:class:`~shared.vulns.problems.Problem` values naming the file or zip member; it goes on after a bad
record. A feed that cannot be read *as a whole* (a missing directory, a corrupt or oversized archive)
raises :class:`~shared.vulns.errors.InvalidAdvisory` instead, so that an import which prunes records
missing from the feed never runs on half a feed.

Feeds are imported into an :class:`~shared.vulns.index.AdvisoryIndex`; matching reads the index (or
the OSV API), never a feed.

:func:`open_feed` opens a location as a feed: a directory, an ``all.zip`` file, or its https URL; or
the Debian security tracker's JSON (:mod:`shared.vulns.debian_tracker`), a file that begins like it
or its URL ``…/tracker/data/json``. Downloads stream to a temporary file (a zip needs seeking) with a
size cap and a timeout, and the file is removed afterwards. The ecosystem an osv.dev
``<ecosystem>/all.zip`` covers completely is told by its path, so records that vanished from it are
removed from the mirror; the tracker's JSON covers no ecosystem completely.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

import requests

from shared.errors import InvalidInput, LookoutError
from shared.vulns.debian_tracker import MAX_TRACKER_BYTES, TrackerFeed, is_tracker_url, looks_like_tracker
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.model import Advisory
from shared.vulns.parse import MAX_RECORD_BYTES, load_json, load_yaml, parse_advisory
from shared.vulns.problems import Problem

FeedItem = Advisory | Problem

MAX_ZIP_MEMBERS = 1_000_000
"""The most members an archive may have."""
MAX_ZIP_BYTES = 8 * 1024 * 1024 * 1024
"""The most bytes all members of an archive may expand to, in all."""
_SUFFIXES = {".json": load_json, ".yaml": load_yaml, ".yml": load_yaml}


class AdvisoryFeed(Protocol):
    """A source of OSV records in bulk, read once from start to end."""

    @property
    def name(self) -> str:
        """Where the records come from, for reports (a path; never credentials)."""
        ...

    def read(self) -> Iterator[FeedItem]:
        """Every record of the feed, or a problem in its place when it cannot be read."""
        ...


def decode_record(data: bytes, origin: str) -> FeedItem:
    """One record from the bytes of a ``.json``/``.yaml``/``.yml`` file named ``origin``, or a problem."""
    loader = _SUFFIXES.get(Path(origin).suffix.lower(), load_json)
    value = None
    try:
        value = loader(data, origin)
        return parse_advisory(value)
    except InvalidAdvisory as exc:
        record_id = value.get("id") if isinstance(value, dict) else None
        return Problem(exc.code, exc.message, origin, record_id[:128] if isinstance(record_id, str) else "")


class DirectoryFeed:
    """Every ``*.json``, ``*.yaml`` and ``*.yml`` file under ``root``, in sorted path order.

    Symbolic links are not followed; files larger than :data:`MAX_RECORD_BYTES` are reported, not read.
    Origins are paths relative to ``root``.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)

    @property
    def name(self) -> str:
        return str(self._root)

    def read(self) -> Iterator[FeedItem]:
        if not self._root.is_dir():
            raise InvalidAdvisory(f"{self._root} is not a directory")
        for path in self._files():
            origin = path.relative_to(self._root).as_posix()
            try:
                size = path.stat().st_size
                if size > MAX_RECORD_BYTES:
                    yield Problem("invalid-advisory", f"file is {size} bytes, more than the {MAX_RECORD_BYTES} accepted", origin)
                    continue
                data = path.read_bytes()
            except OSError as exc:
                yield Problem("unreadable-file", exc.strerror or type(exc).__name__, origin)
                continue
            yield decode_record(data, origin)

    def _files(self) -> list[Path]:
        found = []
        for directory, subdirs, files in os.walk(self._root, followlinks=False):
            subdirs.sort()
            for name in files:
                path = Path(directory, name)
                if path.suffix.lower() in _SUFFIXES and not path.is_symlink():
                    found.append(path)
        found.sort()
        return found


class ZipFeed:
    """Every ``*.json``/``*.yaml`` member of a zip archive (osv.dev publishes ``<ecosystem>/all.zip``).

    ``source`` is a path or a seekable binary file. Members are read in name order with their
    declared and actual sizes checked, so a lying or bomb-like archive is refused rather than
    expanded. Origins are ``<archive name>!<member name>``.
    """

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], *, name: str | None = None) -> None:
        self._source = source
        self._name = name or (str(source) if isinstance(source, (str, os.PathLike)) else "archive")

    @property
    def name(self) -> str:
        return self._name

    def read(self) -> Iterator[FeedItem]:
        try:
            archive = zipfile.ZipFile(self._source)
        except (OSError, zipfile.BadZipFile) as exc:
            raise InvalidAdvisory(f"{self._name} is not a readable zip archive: {exc}") from None
        with archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > MAX_ZIP_MEMBERS:
                raise InvalidAdvisory(f"{self._name} has {len(members)} members, more than {MAX_ZIP_MEMBERS}")
            if sum(info.file_size for info in members) > MAX_ZIP_BYTES:
                raise InvalidAdvisory(f"{self._name} expands to more than {MAX_ZIP_BYTES} bytes")
            members.sort(key=lambda info: info.filename)
            for info in members:
                origin = f"{Path(self._name).name}!{info.filename}"
                if Path(info.filename).suffix.lower() not in _SUFFIXES:
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    yield Problem("invalid-advisory", f"member is {info.file_size} bytes, more than {MAX_RECORD_BYTES}", origin)
                    continue
                try:
                    with archive.open(info) as member:
                        data = member.read(MAX_RECORD_BYTES + 1)
                except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
                    raise InvalidAdvisory(f"{origin} cannot be read: {exc}") from None
                if len(data) > info.file_size:
                    raise InvalidAdvisory(f"{origin} holds more bytes than its header declares")
                yield decode_record(data, origin)


MAX_DOWNLOAD_BYTES = 1024 * 1024 * 1024
DOWNLOAD_TIMEOUT = (10, 120)
SNIFF_BYTES = 64 * 1024
"""How much of a file is read to tell the tracker's JSON from a zip archive."""
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
    """Open ``location`` as a feed; InvalidInput when it is none of these:

    - a directory: a :class:`DirectoryFeed`;
    - a file: a :class:`~shared.vulns.debian_tracker.TrackerFeed` when it begins like the tracker's
      JSON (:func:`~shared.vulns.debian_tracker.looks_like_tracker`), else a :class:`ZipFeed`;
    - an https URL (http only on this host): the tracker's JSON when the path ends in
      ``/tracker/data/json``, else a zip archive.
    """
    if location.startswith(("https://", "http://127.", "http://localhost")):
        with tempfile.TemporaryDirectory(prefix="lookout-feed-") as directory:
            if is_tracker_url(location):
                path = Path(directory) / "tracker.json"
                _download(location, path, MAX_TRACKER_BYTES)
                yield OpenedFeed(TrackerFeed(path, name=_safe_name(location)), ())
            else:
                path = Path(directory) / "all.zip"
                _download(location, path, MAX_DOWNLOAD_BYTES)
                yield OpenedFeed(ZipFeed(path, name=_safe_name(location)), complete_ecosystem(location))
        return
    if "://" in location:
        raise InvalidInput(f"advisories can be read from a directory, a zip file or an https URL, not {location!r}")
    path = Path(location)
    if path.is_dir():
        yield OpenedFeed(DirectoryFeed(path), ())
    elif path.is_file() and _begins_like_tracker(path):
        yield OpenedFeed(TrackerFeed(path), ())
    elif path.is_file():
        yield OpenedFeed(ZipFeed(path), complete_ecosystem(str(path)))
    else:
        raise InvalidInput(f"{location} is neither a directory nor a file")


def _begins_like_tracker(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return looks_like_tracker(file.read(SNIFF_BYTES))
    except OSError:
        return False  # the zip reader reports what is wrong with the file


def _safe_name(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query string


def _download(url: str, path: Path, limit: int) -> None:
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:
                error = FeedUnavailable if response.status_code >= 500 or response.status_code == 429 else LookoutError
                raise error(f"{_safe_name(url)} answered HTTP {response.status_code}", code="feed-unavailable")
            written = 0
            with path.open("wb") as out:
                for chunk in response.iter_content(1024 * 1024):
                    written += len(chunk)
                    if written > limit:
                        raise LookoutError(f"{_safe_name(url)} is larger than {limit} bytes",
                                           code="feed-too-large")
                    out.write(chunk)
    except requests.RequestException as exc:
        raise FeedUnavailable(f"{_safe_name(url)} could not be downloaded: {type(exc).__name__}") from None
