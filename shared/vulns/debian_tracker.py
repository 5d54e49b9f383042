"""The Debian security tracker's JSON as an advisory feed: :class:`TrackerFeed`.

The tracker publishes its whole database as one JSON object (``https://security-tracker.debian.org/
tracker/data/json``, about 60 MB)::

    {source package: {issue id: {"description"?, "scope"?, "debianbug"?,
                                 "releases": {codename: {"status", "urgency", "fixed_version"?,
                                                         "repositories", "nodsa"?, "nodsa_reason"?}}}}}

Each (CVE, source package) becomes one OSV record, built as an OSV object and read with
:func:`~shared.vulns.parse.parse_advisory` (so its digest is computed like any other record's):

- ``id`` ``DEBIAN-TRACKER-<CVE>-<source>`` (:func:`tracker_id`); ``aliases`` the CVE and osv.dev's
  ``DEBIAN-CVE-<…>`` record of the same flaw, so that matching merges the two into one finding;
  ``upstream`` the CVE; ``details`` the description; ``references`` the tracker page and the Debian bug.
- One ``affected`` entry per release whose codename :data:`DEBIAN_RELEASES` knows (buster 10 …
  forky 14), in release order: the source package in ``Debian:<major>`` with an ``ECOSYSTEM`` range
  ``introduced: "0"``, plus ``fixed: <fixed_version>`` when the release is ``resolved``; an ``open``
  release has no fix (affected, no fixed version known). The entry's ``database_specific`` holds
  ``source``, ``status``, ``urgency`` and the tracker's ``nodsa``/``nodsa_reason`` notes.
- The record's ``database_specific`` is ``{"source": "debian-security-tracker", "urgency": …}`` (and
  ``scope`` when given): the most severe urgency of its entries (high, medium, low, end-of-life, not
  yet assigned, then any other word), always without the tracker's trailing ``*`` marks.
- ``modified`` is :data:`PLACEHOLDER_MODIFIED`: the tracker has no timestamps, and the index treats
  times before 1971 as placeholders and compares digests, so importing the same file twice changes
  nothing.

Left out, and counted in :attr:`TrackerFeed.counts`: issues whose id is not a CVE (``TEMP-…``);
releases whose codename is not in the table (``sid``, ``experimental``); releases not affected
(``resolved`` with ``fixed_version`` ``"0"``, or ``not-affected``); ``undetermined`` releases (not a
known vulnerability); releases of urgency ``unimportant`` (Debian: no security impact on the release).
An issue with no release left gives no record.

Bad input never stops the feed. A malformed package, issue or release becomes a
:class:`~shared.vulns.problems.Problem` (code ``invalid-advisory``, origin ``<file>!<package>/<issue>``)
and reading goes on; a file that stops being JSON (cut short, not UTF-8, larger than
:data:`MAX_TRACKER_BYTES`) ends the feed with an ``invalid-feed`` problem after the records read so
far. The file is read as a stream, one package entry at a time (each at most :data:`MAX_ENTRY_CHARS`).
A file that cannot be opened raises :class:`~shared.vulns.errors.InvalidAdvisory`, as other feeds do.

The tracker is another view of the data behind osv.dev's Debian records, not a replacement for them:
it never covers an ecosystem completely (an import of it prunes nothing).
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any
from urllib.parse import urlsplit

from shared.vulns.errors import InvalidAdvisory, InvalidVersion
from shared.vulns.model import Advisory
from shared.vulns.parse import json_kind, parse_advisory
from shared.vulns.problems import Problem
from shared.vulns.versions import DEBIAN

DEBIAN_RELEASES: Mapping[str, str] = MappingProxyType(
    {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14"}
)
"""Release codename → major version; the ``Debian:<major>`` ecosystem of a release."""
SOURCE = "debian-security-tracker"
"""The ``source`` written in every record's ``database_specific``."""
PLACEHOLDER_MODIFIED = "1970-01-01T00:00:00Z"
"""Every record's ``modified`` (a placeholder: the tracker publishes no times)."""
TRACKER_URL_PATH = "/tracker/data/json"
"""How the path of the tracker's JSON URL ends."""
MAX_TRACKER_BYTES = 512 * 1024 * 1024
"""The most bytes of a tracker file read (the real one is about 60 MB)."""
MAX_ENTRY_CHARS = 64 * 1024 * 1024
"""The longest entry of one source package, in characters of JSON."""
READ_BYTES = 1024 * 1024
"""How much is read at a time (more when one entry needs it)."""

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_SHAPE = re.compile(rb'\A\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\{\s*"(?:CVE-\d{4}-\d+|TEMP-[0-9A-Fa-f-]+)"\s*:\s*\{')
_URGENCY_ORDER = ("high", "medium", "low", "end-of-life", "not yet assigned")
_WHITESPACE = " \t\r\n"
_NOT_AFFECTED = "not-affected"


@dataclass(frozen=True)
class TrackerCounts:
    """What a read of the tracker file kept and left out.

    ``packages`` source packages and ``issues`` issue entries read; ``records`` records produced,
    with ``affected`` entries in all. Left out: ``not_cve`` issues (``TEMP-…`` ids), and per issue
    and release ``other_release`` (codename not in :data:`DEBIAN_RELEASES`), ``not_affected``,
    ``undetermined`` and ``unimportant``; ``unaffected`` CVE issues with no release left (and no
    problem). ``problems`` counts the problems reported.
    """

    packages: int = 0
    issues: int = 0
    records: int = 0
    affected: int = 0
    not_cve: int = 0
    other_release: int = 0
    not_affected: int = 0
    undetermined: int = 0
    unimportant: int = 0
    unaffected: int = 0
    problems: int = 0


def tracker_id(issue: str, source: str) -> str:
    """The id of the record for ``issue`` (a CVE id) in the source package ``source``."""
    return f"DEBIAN-TRACKER-{issue}-{source}"


def looks_like_tracker(head: bytes) -> bool:
    """Whether ``head``, the start of a file, begins like the tracker's JSON.

    That is ``{"<package>": {"CVE-…" or "TEMP-…": {`` — a shape no OSV record takes.
    """
    return _SHAPE.match(head) is not None


def is_tracker_url(url: str) -> bool:
    """Whether ``url`` names the tracker's JSON (its path ends in ``/tracker/data/json``)."""
    return urlsplit(url).path.rstrip("/").endswith(TRACKER_URL_PATH)


class TrackerFeed:
    """The records of a Debian security tracker JSON file (see the module notes).

    ``source`` is a path or a binary file (read, not closed). Records come in file order: packages
    as the file lists them, issues in each package likewise.
    """

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], *, name: str | None = None) -> None:
        self._source = source
        self._name = name or (str(source) if isinstance(source, (str, os.PathLike)) else "tracker.json")
        self._tally: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return self._name

    @property
    def counts(self) -> TrackerCounts:
        """What the latest read kept and left out, so far."""
        return TrackerCounts(**self._tally)

    def read(self) -> Iterator[Advisory | Problem]:
        self._tally = Counter()
        try:
            if isinstance(self._source, (str, os.PathLike)):
                with Path(self._source).open("rb") as stream:
                    yield from self._read(stream)
            else:
                yield from self._read(self._source)
        except OSError as exc:
            raise InvalidAdvisory(f"{self._name} cannot be read: {exc.strerror or type(exc).__name__}") from None

    def _read(self, stream: IO[bytes]) -> Iterator[Advisory | Problem]:
        members = _MemberReader(stream)
        try:
            for package, issues in members.members():
                self._tally["packages"] += 1
                yield from self._count(_package(package, issues, self._origin(package), self._tally))
        except _Malformed as exc:
            where = ""
            if members.key is not None:
                where = f" ({'after' if members.read_value else 'in'} the entry of package {members.key[:100]!r})"
            self._tally["problems"] += 1
            yield Problem("invalid-feed", f"{exc}{where}; reading stopped", self._origin(members.key or ""))

    def _count(self, items: Iterator[Advisory | Problem]) -> Iterator[Advisory | Problem]:
        for item in items:
            if isinstance(item, Problem):
                self._tally["problems"] += 1
            else:
                self._tally["records"] += 1
                self._tally["affected"] += len(item.affected)
            yield item

    def _origin(self, package: str, issue: str = "") -> str:
        base = Path(urlsplit(self._name).path if "://" in self._name else self._name).name or "tracker"
        where = "/".join(part[:200] for part in (package, issue) if part)
        return f"{base}!{where}" if where else base


def _package(source: str, issues: Any, origin: str, tally: Counter[str]) -> Iterator[Advisory | Problem]:
    """The records of one source package's entry."""
    if not _SOURCE_NAME.fullmatch(source):
        yield Problem("invalid-advisory", f"{source[:100]!r} is not a Debian source package name", origin)
        return
    if not isinstance(issues, Mapping):
        yield Problem("invalid-advisory", f"the entry of package {source} must be an object, not {json_kind(issues)}", origin)
        return
    for issue, entry in issues.items():
        tally["issues"] += 1
        if not _CVE.fullmatch(issue):
            tally["not_cve"] += 1
            continue
        yield from _issue(source, issue, entry, f"{origin}/{issue}", tally)


def _issue(source: str, cve: str, entry: Any, origin: str, tally: Counter[str]) -> Iterator[Advisory | Problem]:
    """The record of one CVE in one source package, or problems, or nothing when no release is affected."""
    record_id = tracker_id(cve, source)

    def problem(message: str) -> Problem:
        return Problem("invalid-advisory", f"{source} {cve}: {message}", origin, record_id)

    if not isinstance(entry, Mapping):
        yield problem(f"the issue must be an object, not {json_kind(entry)}")
        return
    releases = entry.get("releases")
    description = entry.get("description")
    scope = entry.get("scope")
    bug = entry.get("debianbug")
    if not isinstance(releases, Mapping):
        yield problem(f"releases must be an object, not {json_kind(releases)}")
        return
    checks = {
        "description": description is None or isinstance(description, str),
        "scope": scope is None or isinstance(scope, str),
        "debianbug": bug is None or (isinstance(bug, int) and not isinstance(bug, bool) and bug > 0),
    }
    wrong = [name for name, ok in checks.items() if not ok]
    if wrong:
        yield problem(f"{', '.join(wrong)} has the wrong type")
        return
    affected: list[tuple[int, dict[str, Any]]] = []
    urgencies: list[str] = []
    had_problem = False
    for codename, release in releases.items():
        major = DEBIAN_RELEASES.get(codename)
        if major is None:
            tally["other_release"] += 1
            continue
        kept = _release(source, codename, major, release, tally)
        if isinstance(kept, str):
            had_problem = True
            yield problem(f"{codename}: {kept}")
        elif kept is not None:
            affected.append((int(major), kept))
            urgencies.append(kept["database_specific"]["urgency"])
    if not affected:
        if not had_problem:
            tally["unaffected"] += 1
        return
    record: dict[str, Any] = {
        "schema_version": "1.7.0",
        "id": record_id,
        "modified": PLACEHOLDER_MODIFIED,
        "aliases": [cve, f"DEBIAN-{cve}"],
        "upstream": [cve],
        "affected": [entry for _, entry in sorted(affected, key=lambda pair: pair[0])],
        "references": [{"type": "ADVISORY", "url": f"https://security-tracker.debian.org/tracker/{cve}"}],
        "database_specific": {"source": SOURCE, "urgency": _most_urgent(urgencies)},
    }
    if description:
        record["details"] = description
    if bug is not None:
        record["references"].append({"type": "REPORT", "url": f"https://bugs.debian.org/{bug}"})
    if scope:
        record["database_specific"]["scope"] = scope
    try:
        yield parse_advisory(record)
    except InvalidAdvisory as exc:
        yield problem(exc.message)


def _release(source: str, codename: str, major: str, release: Any, tally: Counter[str]) -> dict[str, Any] | str | None:
    """The ``affected`` entry of one release; ``None`` when it is left out; a message when malformed."""
    if not isinstance(release, Mapping):
        return f"the release must be an object, not {json_kind(release)}"
    status = release.get("status")
    urgency = release.get("urgency", "not yet assigned")
    fixed = release.get("fixed_version")
    if not isinstance(status, str):
        return f"status must be a string, not {json_kind(status)}"
    if not isinstance(urgency, str):
        return f"urgency must be a string, not {json_kind(urgency)}"
    if fixed is not None and not isinstance(fixed, str):
        return f"fixed_version must be a string, not {json_kind(fixed)}"
    word = urgency.strip().rstrip("*").strip().lower() or "not yet assigned"
    if status == "undetermined":
        tally["undetermined"] += 1
        return None
    if status == _NOT_AFFECTED or (status == "resolved" and fixed == "0"):
        tally["not_affected"] += 1
        return None
    if word == "unimportant":
        tally["unimportant"] += 1
        return None
    events: list[dict[str, str]] = [{"introduced": "0"}]
    if status == "resolved":
        if not fixed:
            return "a resolved release needs a fixed_version"
        try:
            DEBIAN.key(fixed)
        except InvalidVersion:
            return f"fixed_version {fixed[:80]!r} is not a Debian version"
        events.append({"fixed": fixed})
    elif status != "open":
        return f"unknown status {status[:40]!r}"
    notes: dict[str, str] = {"source": SOURCE, "status": status, "urgency": word}
    for key in ("nodsa", "nodsa_reason"):
        value = release.get(key)
        if isinstance(value, str) and value:
            notes[key] = value
    return {
        "package": {"ecosystem": f"Debian:{major}", "name": source},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        "database_specific": notes,
    }


def _most_urgent(words: list[str]) -> str:
    """The most severe of ``words`` by :data:`_URGENCY_ORDER`; other words after those, by name."""
    return min(words, key=lambda w: (_URGENCY_ORDER.index(w) if w in _URGENCY_ORDER else len(_URGENCY_ORDER), w))



class _Malformed(Exception):
    """The file stopped being the JSON object expected (the message says how)."""


class _MemberReader:
    """The members of the one JSON object a binary stream holds, decoded one member at a time.

    Memory is bounded by the longest member (at most :data:`MAX_ENTRY_CHARS`) plus a read, and the
    stream by :data:`MAX_TRACKER_BYTES`. ``key`` is the name of the member being read (or the last
    read), and ``read_value`` whether its value was read whole.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._text = ""
        self._pos = 0
        self._bytes = 0
        self._eof = False
        self.key: str | None = None
        self.read_value = False

    def members(self) -> Iterator[tuple[str, Any]]:
        """Each ``(name, value)`` of the object in order; raises :class:`_Malformed` where it breaks."""
        first = self._next_char()
        if not first:
            raise _Malformed("the file is empty")
        if first != "{":
            raise _Malformed("the top level is not a JSON object")
        self._pos += 1
        if self._next_char() == "}":
            self._pos += 1
            self._expect_end()
            return
        while True:
            if self._next_char() != '"':
                raise _Malformed(self._unexpected("a package name"))
            key = self._value()
            self.key, self.read_value = key, False
            if self._next_char() != ":":
                raise _Malformed(self._unexpected("':'"))
            self._pos += 1
            self._next_char()
            value = self._value()
            self.read_value = True
            yield key, value
            following = self._next_char()
            self._pos += 1
            if following == "}":
                self._expect_end()
                return
            if following != ",":
                self._pos -= 1
                raise _Malformed(self._unexpected("',' or '}'"))

    def _value(self) -> Any:
        """The JSON value at the current position (reading more until it is complete)."""
        while True:
            try:
                value, end = self._json.raw_decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                incomplete = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._text) - 16
                if self._eof or not incomplete:
                    raise _Malformed(f"not valid JSON ({exc.msg})" if not self._eof else
                                     f"the file ends inside an entry, or is not valid JSON there ({exc.msg})") from None
                self._more()
                continue
            except RecursionError:
                raise _Malformed("an entry is nested too deeply") from None
            if end == len(self._text) and not self._eof:
                self._more()  # a number or literal may go on in the next read
                continue
            if end - self._pos > MAX_ENTRY_CHARS:
                raise _Malformed(f"an entry is longer than {MAX_ENTRY_CHARS} characters")
            self._pos = end
            return value

    def _next_char(self) -> str:
        """The next character that is not whitespace (the position moves to it); ``""`` at the end."""
        while True:
            text, pos = self._text, self._pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self._pos = pos
            if pos < len(text):
                return text[pos]
            if self._eof:
                return ""
            self._more()

    def _expect_end(self) -> None:
        if self._next_char():
            raise _Malformed("the file goes on after the object closes")

    def _unexpected(self, wanted: str) -> str:
        found = self._text[self._pos : self._pos + 20]
        return f"expected {wanted}, found {found!r}" if found else f"the file ends where {wanted} belongs (cut short?)"

    def _more(self) -> None:
        """Read more of the stream (at least as much as is buffered), dropping what was consumed."""
        if self._pos:
            self._text = self._text[self._pos :]
            self._pos = 0
        if len(self._text) > MAX_ENTRY_CHARS:
            raise _Malformed(f"an entry is longer than {MAX_ENTRY_CHARS} characters")
        data = self._stream.read(max(READ_BYTES, len(self._text)))
        self._bytes += len(data)
        if self._bytes > MAX_TRACKER_BYTES:
            raise _Malformed(f"the file is larger than {MAX_TRACKER_BYTES} bytes")
        try:
            self._text += self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise _Malformed(f"the file is not UTF-8 ({exc.reason})") from None
        if not data:
            self._eof = True
