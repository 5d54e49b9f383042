"""Image references, repository names, tags and digests: parsing and validation, no I/O.

Grammar from the distribution spec (``distribution/reference``)::

    reference  := [registry "/"] repository [":" tag] ["@" digest]
    registry   := domain-component ("." domain-component)* [":" port]   (or a bracketed IPv6 address)
    repository := path-component ("/" path-component)*
    path-component := [a-z0-9]+ (("." | "_" | "__" | "-"+) [a-z0-9]+)*
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := "sha256:" 64 lowercase hex digits

Only sha256 digests are accepted: it is what every registry Lookout talks to computes, and a
digest this package cannot verify is not worth carrying.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shared.registry.errors import InvalidReference

MAX_NAME_LENGTH = 255
"""The longest repository name (with its registry host) the distribution spec allows."""

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY_RE = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]{{1,5}})?")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_ANY_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")

DEFAULT_TAG = "latest"


@dataclass(frozen=True, order=True)
class Digest:
    """A content digest, ``sha256:`` followed by 64 lowercase hex digits.

    Construction validates: anything else raises :class:`InvalidReference`, with a message saying
    whether the algorithm is unsupported or the value malformed.
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise InvalidReference(f"a digest must be a string, not {type(self.value).__name__}")
        if _DIGEST_RE.fullmatch(self.value):
            return
        shown = _shorten(self.value)
        if _ANY_DIGEST_RE.fullmatch(self.value) and not self.value.startswith("sha256:"):
            algorithm = self.value.split(":", 1)[0]
            raise InvalidReference(f"unsupported digest algorithm {algorithm!r} in {shown!r}: only sha256 is accepted")
        raise InvalidReference(f"malformed digest {shown!r}: expected 'sha256:' and 64 lowercase hex digits")

    @classmethod
    def of(cls, data: bytes) -> Digest:
        """The sha256 digest of ``data``."""
        return cls("sha256:" + hashlib.sha256(data).hexdigest())

    @classmethod
    def from_hex(cls, hex_digest: str) -> Digest:
        """The digest whose sha256 hex value is ``hex_digest``."""
        return cls("sha256:" + hex_digest)

    @staticmethod
    def is_valid(text: str) -> bool:
        """Whether ``text`` is a digest this package accepts."""
        return bool(_DIGEST_RE.fullmatch(text))

    @property
    def algorithm(self) -> str:
        """Always ``"sha256"``."""
        return "sha256"

    @property
    def hex(self) -> str:
        """The 64 hex digits after ``sha256:``."""
        return self.value[7:]

    def __str__(self) -> str:
        return self.value


def validate_repository(name: str) -> str:
    """Return ``name`` when it is a valid repository name (without registry host); raise otherwise."""
    if not isinstance(name, str) or not name:
        raise InvalidReference("a repository name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidReference(f"repository name is longer than {MAX_NAME_LENGTH} characters")
    if not _REPOSITORY_RE.fullmatch(name):
        raise InvalidReference(
            f"invalid repository name {_shorten(name)!r}: use lowercase letters, digits and single separators "
            "('.', '_', '__', '-') between them, with '/' between path components"
        )
    return name


def validate_tag(tag: str) -> str:
    """Return ``tag`` when it is a valid tag; raise :class:`InvalidReference` otherwise."""
    if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
        raise InvalidReference(
            f"invalid tag {_shorten(str(tag))!r}: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        )
    return tag


def validate_registry(host: str) -> str:
    """Return ``host`` when it is a valid registry host (``name[:port]``); raise otherwise."""
    if not isinstance(host, str) or not _REGISTRY_RE.fullmatch(host):
        raise InvalidReference(f"invalid registry host {_shorten(str(host))!r}: expected a host name with optional :port")
    return host


def parse_tag_or_digest(value: str) -> str | Digest:
    """A manifest reference: a :class:`Digest` when ``value`` contains ``:``, else a validated tag."""
    if ":" in value:
        return Digest(value)
    return validate_tag(value)


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``registry/repository[:tag][@digest]``.

    ``tag`` and ``digest`` may both be set (``app:1.0@sha256:...``: the digest wins when fetching)
    or both be ``None`` (which means the tag ``latest``).
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        validate_registry(self.registry)
        validate_repository(self.repository)
        if self.tag is not None:
            validate_tag(self.tag)
        if len(self.registry) + 1 + len(self.repository) > MAX_NAME_LENGTH:
            raise InvalidReference(f"image name is longer than {MAX_NAME_LENGTH} characters")

    @classmethod
    def parse(cls, text: str, *, default_registry: str | None = None) -> Reference:
        """Parse ``host[:port]/repo/path[:tag][@sha256:...]``.

        The first path component is the registry when it contains ``.`` or ``:`` or is
        ``localhost`` (Docker's rule). A reference without one uses ``default_registry``, and is
        rejected when there is none: Lookout never guesses Docker Hub.
        """
        if not isinstance(text, str) or not text:
            raise InvalidReference("an image reference must not be empty")
        if len(text) > 2 * MAX_NAME_LENGTH + 128:
            raise InvalidReference("image reference is too long")
        remainder, at, digest_text = text.partition("@")
        digest = Digest(digest_text) if at else None
        tag: str | None = None
        slash = remainder.rfind("/")
        colon = remainder.rfind(":")
        if colon > slash:
            remainder, tag = remainder[:colon], remainder[colon + 1 :]
        first, sep, rest = remainder.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        elif default_registry is not None:
            registry, repository = default_registry, remainder
        else:
            raise InvalidReference(f"image reference {_shorten(text)!r} names no registry host")
        return cls(registry=registry, repository=repository, tag=tag, digest=digest)

    @property
    def identifier(self) -> str:
        """What to ask the manifests endpoint for: the digest if any, else the tag, else ``latest``."""
        if self.digest is not None:
            return self.digest.value
        return self.tag if self.tag is not None else DEFAULT_TAG

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: Digest) -> Reference:
        """The same reference pinned to ``digest`` (the tag is kept for display)."""
        return Reference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest.value}"
        return text


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
