"""The cataloger seam: a name, a version, parse functions bound to glob patterns, and Package URLs.

A cataloger never knows whether it reads a layer or a directory: it is handed one wanted file at a
time, as bytes (:data:`ParseBytes`, capped at :attr:`Limits.max_file_bytes`) or as a stream read
chunk by chunk (a :class:`Scanner`, for large binaries, fed in one pass together with any other
scanner wanting the same file), and answers a
:class:`~shared.analysis.model.FileResult`. A parse function raises :class:`ParseError` (or lets
a decoding error escape) for a file it cannot read; the caller records the message at the file's
location and the analysis goes on.

Package URLs are made after the squash by :meth:`Cataloger.package_url`, because OS packages carry
the distribution (``distro=debian-12``) that only the final filesystem tells.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from packageurl import PackageURL

from shared.analysis.errors import AnalysisError
from shared.analysis.limits import Limits
from shared.analysis.model import FileResult, OSInfo, PackageRecord
from shared.analysis.paths import compile_globs


class ParseError(AnalysisError):
    """A wanted file could not be parsed; recorded as a problem at its location."""

    code = "parse-error"


@dataclass(frozen=True)
class ParseContext:
    """What a parse function may need besides the file: the limits in force."""

    limits: Limits = field(default_factory=Limits)


class Readable(Protocol):
    """A stream read once, front to back."""

    def read(self, size: int = -1, /) -> bytes: ...


class Scanner(Protocol):
    """Reads one file pushed to it in chunks, front to back; memory is the scanner's own business.

    The first chunk is the file's first MiB (the whole file when smaller); later ones may be of any
    size but empty.
    """

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; ``False`` once the scanner needs no more of the file."""
        ...

    def finish(self) -> FileResult | None:
        """The result (``None``: not a file of this cataloger); raises :class:`ParseError` for a broken one."""
        ...


ParseBytes = Callable[[str, bytes, ParseContext], FileResult]
"""``parse(path, data, context)``: the file's whole content (at most ``max_file_bytes``)."""

ScanFactory = Callable[[str, int, ParseContext], Scanner]
"""``scan(path, size, context)``: a :class:`Scanner` for one file of ``size`` bytes."""

PackageURLFunction = Callable[[PackageRecord, "OSInfo | None"], str]

REQUIRES = "requires"
"""A :class:`PackageRecord` ``meta`` key naming a directory (``/app/node_modules/``): the record is
kept only when the final filesystem holds a package the same cataloger found in a file under that
directory (the installed evidence of an application's root project); the key itself is dropped."""

MAX_MAGIC = 8
"""The longest content prefix a parser may select files by (the walker looks at no more)."""


@dataclass(frozen=True)
class Parser:
    """Parse functions bound to the paths they read.

    ``globs`` are path patterns (:func:`~shared.analysis.paths.glob_to_regex`); ``exclude`` removes
    matches. With ``magic`` the parser is offered every regular file whose content starts with one
    of those byte strings, whatever its path and mode bits (``globs`` may then be empty): compiled
    programs are found by what they are, not by an execute bit. Exactly one of ``parse`` and
    ``scan`` is set.
    """

    globs: tuple[str, ...]
    parse: ParseBytes | None = None
    scan: ScanFactory | None = None
    exclude: tuple[str, ...] = ()
    magic: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if (self.parse is None) == (self.scan is None):
            raise ValueError("a parser has either a parse or a scan function")
        if any(not prefix for prefix in self.magic) or any(len(prefix) > MAX_MAGIC for prefix in self.magic):
            raise ValueError(f"a magic prefix has 1 to {MAX_MAGIC} bytes")


class Cataloger(Protocol):
    """What the layer walker and the squash need from a cataloger."""

    @property
    def name(self) -> str:
        """A short stable name (``dpkg``), part of the cache key."""
        ...

    @property
    def version(self) -> int:
        """Bumped whenever the cataloger would find something different in the same bytes."""
        ...

    @property
    def patterns(self) -> tuple[str, ...]:
        """Every path glob the cataloger reads (for a fast pre-filter of tar entries)."""
        ...

    @property
    def magic(self) -> tuple[bytes, ...]:
        """Every content prefix some parser wants regular files to start with (``()``: paths only)."""
        ...

    @property
    def fingerprint(self) -> str:
        """A digest of which files the cataloger reads (globs, exclusions, content prefixes).

        Two versions with the same fingerprint read the same files: a layer where the older one
        found no file needs no download for the newer one.
        """
        ...

    def parser_for(self, path: str, *, head: bytes = b"") -> Parser | None:
        """The parser reading ``path``, or ``None`` when the cataloger does not want it.

        ``head`` is the start of a regular file's content (up to :data:`MAX_MAGIC` bytes; empty for
        anything else), matched against the parsers' ``magic``.
        """
        ...

    def package_url(self, record: PackageRecord, os: OSInfo | None) -> str:
        """The Package URL of a record, knowing the image's distribution."""
        ...


class GlobCataloger:
    """A cataloger built from :class:`Parser` values and a Package URL function."""

    def __init__(self, name: str, version: int, parsers: Sequence[Parser], package_url: PackageURLFunction) -> None:
        self._name = name
        self._version = version
        self._parsers = tuple(parsers)
        self._package_url = package_url
        self._compiled: list[tuple[re.Pattern[str], re.Pattern[str] | None, Parser]] = [
            (compile_globs(p.globs), compile_globs(p.exclude) if p.exclude else None, p) for p in self._parsers
        ]

    def __repr__(self) -> str:
        return f"GlobCataloger({self._name!r}, version={self._version})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int:
        return self._version

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(g for p in self._parsers for g in p.globs)

    @property
    def magic(self) -> tuple[bytes, ...]:
        return tuple(dict.fromkeys(m for p in self._parsers for m in p.magic))

    @property
    def fingerprint(self) -> str:
        selection = [[list(p.globs), list(p.exclude), [m.hex() for m in p.magic]] for p in self._parsers]
        return hashlib.sha256(repr(selection).encode()).hexdigest()[:16]

    def parser_for(self, path: str, *, head: bytes = b"") -> Parser | None:
        for globs, exclude, parser in self._compiled:
            if exclude is not None and exclude.fullmatch(path):
                continue
            if parser.magic:
                if head.startswith(parser.magic):
                    return parser
                continue
            if globs.fullmatch(path):
                return parser
        return None

    def package_url(self, record: PackageRecord, os: OSInfo | None) -> str:
        return self._package_url(record, os)


def purl(
    type: str, name: str, version: str | None, *, namespace: str | None = None, qualifiers: Mapping[str, str | None] | None = None
) -> str:
    """A Package URL string (packageurl-python encodes and orders qualifiers); empty qualifiers are dropped."""
    kept = {k: v for k, v in (qualifiers or {}).items() if v}
    url = PackageURL(type=type, namespace=namespace or None, name=name, version=version or None, qualifiers=kept)
    return str(url.to_string())


def scan_stream(scanner: Scanner, stream: Readable, chunk_size: int = 1024 * 1024) -> FileResult | None:
    """Feed a whole stream to ``scanner`` (until it has enough) and finish it."""
    while chunk := stream.read(chunk_size):
        if not scanner.feed(chunk):
            break
    return scanner.finish()


def load_json(data: bytes, what: str, *, encoding: str | None = None) -> object:
    """The JSON document in ``data``; raises :class:`ParseError` (``<what> is not JSON (<reason>)``) when it is not one.

    Without ``encoding`` the bytes are read as :func:`json.loads` reads them (UTF-8, UTF-16 or
    UTF-32, a UTF-8 byte order mark allowed); with it they are decoded that way first.
    """
    try:
        return json.loads(data if encoding is None else data.decode(encoding))
    except (ValueError, UnicodeDecodeError) as error:
        raise ParseError(f"{what} is not JSON ({error})") from None


def text(data: bytes) -> str:
    """Decode a text file: UTF-8, falling back to Latin-1 (which never fails) for legacy files."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
