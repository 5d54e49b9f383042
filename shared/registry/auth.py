"""Credentials and the registry authentication flows: anonymous, HTTP Basic and Bearer tokens.

The Bearer flow is the distribution token spec, as ACR implements it:

1. a request without a usable token gets ``401`` and
   ``WWW-Authenticate: Bearer realm="https://<reg>/oauth2/token",service="<reg>",scope="..."``;
2. ``GET <realm>?service=<service>&scope=<scope>[&scope=...]`` with the credentials as HTTP Basic
   answers ``{"token" or "access_token": ..., "expires_in": seconds}`` (60 s when absent);
3. the request is sent again with ``Authorization: Bearer <token>``.

Scopes come from the challenge (added to the ones the caller asked for). Tokens are cached per
scope set until shortly before they expire. The credentials go only to the realm named by the
registry's challenge, which must be HTTPS unless the transport is insecure; the registry itself
only ever sees the token. A 401 answered to a cached token drops it and fetches a new one, once.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from shared.registry.errors import InvalidResponse, Unauthorized, error_for_status
from shared.registry.transport import Transport, read_error_body, read_limited, redact

logger = logging.getLogger(__name__)

MAX_TOKEN_BODY = 64 * 1024
"""How many bytes of a token response are read, at most."""

DEFAULT_TOKEN_LIFETIME = 60.0
"""Seconds a token is valid when the token service does not say (the token spec's default)."""

MAX_CACHED_TOKENS = 256
"""How many scope sets keep a cached token (least recently used go first)."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Credentials:
    """A user name (for ACR, a token name) and its password. ``repr`` never shows the password."""

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"

    def basic_header(self) -> str:
        """The ``Authorization`` value for HTTP Basic with these credentials."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: its scheme (lowercase) and parameters."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of parameter ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        return next((value for key, value in self.params if key == name), None)

    @property
    def realm(self) -> str | None:
        """Where to get a token (Bearer) or the protection space (Basic)."""
        return self.get("realm")

    @property
    def service(self) -> str | None:
        """The ``service`` to name when asking the realm for a token."""
        return self.get("service")

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the challenge asks for: every ``scope`` parameter, split on spaces."""
        return frozenset(part for key, value in self.params if key == "scope" for part in value.split() if part)

    @property
    def error(self) -> str | None:
        """The challenge's ``error`` (``invalid_token``, ``insufficient_scope``), when given."""
        return self.get("error")


def parse_www_authenticate(header: str | None) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value into its challenges (RFC 9110 syntax, quoted strings and all).

    ``Bearer realm="https://r/token",service="r",scope="repository:a:pull repository:b:pull"`` is one
    challenge with three parameters.
    """
    if not header:
        return []
    challenges: list[Challenge] = []
    text, pos, end = header, 0, len(header)

    def skip(chars: str) -> None:
        nonlocal pos
        while pos < end and text[pos] in chars:
            pos += 1

    def token() -> str:
        nonlocal pos
        start = pos
        while pos < end and text[pos] not in ' \t,="':
            pos += 1
        return text[start:pos]

    while pos < end:
        skip(" \t,")
        scheme = token()
        if not scheme:
            pos += 1
            continue
        params: list[tuple[str, str]] = []
        while pos < end:
            skip(" \t")
            mark = pos
            name = token()
            skip(" \t")
            if not name or pos >= end or text[pos] != "=":
                pos = mark  # the next challenge's scheme (or a token68, read as a scheme without parameters)
                break
            pos += 1
            skip(" \t")
            if pos < end and text[pos] == '"':
                pos += 1
                chars: list[str] = []
                while pos < end and text[pos] != '"':
                    if text[pos] == "\\" and pos + 1 < end:
                        pos += 1
                    chars.append(text[pos])
                    pos += 1
                pos += 1
                value = "".join(chars)
            else:
                value = token()
            params.append((name.lower(), value))
            skip(" \t")
            if pos < end and text[pos] == ",":
                pos += 1
        challenges.append(Challenge(scheme.lower(), tuple(params)))
    return challenges


@dataclass(frozen=True)
class Authorization:
    """An ``Authorization`` header value and where it came from.

    ``cached`` is true for a Bearer token taken from the cache, which a 401 may have outlived; a
    token fetched for this very request that still gets 401 means the identity lacks the rights.
    """

    header: str = field(repr=False)
    scheme: str
    cached: bool = False


class Authenticator(Protocol):
    """Decides the ``Authorization`` of registry requests and learns from the registry's 401s."""

    def authorization(self, scopes: frozenset[str]) -> Authorization | None:
        """The authorization for a request that needs ``scopes``; ``None`` to send it anonymously.

        May contact a token service; raises :class:`Unauthorized` when it refuses the credentials.
        """
        ...

    def challenged(self, challenges: Sequence[Challenge], scopes: frozenset[str], sent: Authorization | None) -> bool:
        """A request for ``scopes`` sent with ``sent`` got 401 with ``challenges``.

        Returns whether sending it again with a new :meth:`authorization` may succeed.
        """
        ...


class Anonymous:
    """Never authenticates; a registry that demands credentials fails with :class:`Unauthorized`."""

    def authorization(self, scopes: frozenset[str]) -> Authorization | None:
        return None

    def challenged(self, challenges: Sequence[Challenge], scopes: frozenset[str], sent: Authorization | None) -> bool:
        return False


class BasicAuthenticator:
    """Sends the credentials as HTTP Basic on every request (registries without a token service)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def authorization(self, scopes: frozenset[str]) -> Authorization | None:
        return Authorization(self._credentials.basic_header(), "basic")

    def challenged(self, challenges: Sequence[Challenge], scopes: frozenset[str], sent: Authorization | None) -> bool:
        return False


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    valid_until: float


class ChallengeAuthenticator:
    """Follows whatever the registry asks for: Bearer tokens (cached), Basic, or nothing.

    Requests go anonymously until the registry has challenged once (a :meth:`RegistryClient.ping`
    or any 401 teaches it). Without credentials it still asks the token service for anonymous tokens
    (public repositories). ``clock`` is monotonic seconds.
    """

    def __init__(
        self,
        credentials: Credentials | None,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._transport = transport
        self._now = clock
        self._lock = threading.Lock()
        self._bearer: Challenge | None = None
        self._basic = False
        self._tokens: OrderedDict[frozenset[str], _Token] = OrderedDict()
        self._wanted: OrderedDict[frozenset[str], frozenset[str]] = OrderedDict()
        self.token_requests = 0
        """How many times the token service was asked for a token."""

    @property
    def username(self) -> str | None:
        """Who authenticates (``None`` when anonymous)."""
        return self._credentials.username if self._credentials else None

    def authorization(self, scopes: frozenset[str]) -> Authorization | None:
        with self._lock:
            if self._bearer is not None:
                token = self._tokens.get(scopes)
                if token is not None and token.valid_until > self._now():
                    self._tokens.move_to_end(scopes)
                    return Authorization(f"Bearer {token.value}", "bearer", cached=True)
                token = self._fetch(self._bearer, self._wanted.get(scopes, scopes))
                _remember(self._tokens, scopes, token)
                return Authorization(f"Bearer {token.value}", "bearer")
            if self._basic and self._credentials is not None:
                return Authorization(self._credentials.basic_header(), "basic")
            return None

    def challenged(self, challenges: Sequence[Challenge], scopes: frozenset[str], sent: Authorization | None) -> bool:
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        with self._lock:
            if bearer is not None:
                known, self._bearer = self._bearer, bearer
                asked = self._wanted.get(scopes, scopes)
                widened = not bearer.scopes <= asked
                if widened:
                    _remember(self._wanted, scopes, asked | bearer.scopes)
                if sent is None or sent.scheme != "bearer":
                    return True
                if known is None or (known.realm, known.service) != (bearer.realm, bearer.service):
                    self._tokens.clear()
                    return True
                if sent.cached or widened:
                    self._tokens.pop(scopes, None)
                    return True
                return False
            if basic is not None and self._credentials is not None and sent is None:
                self._basic = True
                return True
            return False

    def _fetch(self, challenge: Challenge, scopes: frozenset[str]) -> _Token:
        """Ask the challenge's realm for a token covering ``scopes``."""
        realm = challenge.realm
        if not realm:
            raise InvalidResponse("the registry's Bearer challenge names no realm to get a token from")
        self._transport.check_url(realm)
        params: dict[str, str | list[str]] = {}
        if challenge.service:
            params["service"] = challenge.service
        if scopes:
            params["scope"] = sorted(scopes)
        headers = {"Authorization": self._credentials.basic_header()} if self._credentials else {}
        who = f"user {self._credentials.username!r}" if self._credentials else "anonymous access"
        started = self._now()
        self.token_requests += 1
        response = self._transport.send("GET", realm, headers=headers, params=params)
        what = f"token service {redact(realm)}"
        if response.status_code in (401, 403):
            read_error_body(response)
            raise Unauthorized(
                f"{what} refused {who} (HTTP {response.status_code}): check the user name and password",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_for_status(response.status_code, read_error_body(response), what=what)
        body = read_limited(response, MAX_TOKEN_BODY, what=what)
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidResponse(f"{what} answered with something other than JSON") from None
        if not isinstance(document, dict):
            raise InvalidResponse(f"{what} answered with JSON that is not an object")
        value = document.get("token") or document.get("access_token")
        if not isinstance(value, str) or not value:
            raise InvalidResponse(f"{what} answered without a token")
        lifetime = document.get("expires_in")
        if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        margin = min(30.0, float(lifetime) / 10)
        logger.debug("got a token from %s for %d scope(s), valid %ss", what, len(scopes), lifetime)
        return _Token(value, started + float(lifetime) - margin)


def _remember(cache: OrderedDict[frozenset[str], _T], key: frozenset[str], value: _T) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MAX_CACHED_TOKENS:
        cache.popitem(last=False)
