"""HTTP for registry calls: timeouts, bounded retries, HTTPS-only unless insecure, safe redirects.

:class:`Transport` wraps a :class:`requests.Session`. Every request

- has a connect and a read timeout;
- is retried on 429, 502, 503, 504, connection errors and timeouts, at most
  ``RetryPolicy.max_attempts`` times in all, with exponential backoff that honours ``Retry-After``;
- goes over HTTPS with verified certificates, unless the transport was made ``insecure`` (then
  plain HTTP and unverified TLS are allowed: the caller decides which registries may be insecure);
- follows redirects itself, dropping ``Authorization`` as soon as a redirect leaves the origin
  (scheme, host, port) the header was meant for, and never adding it back.

Responses are streamed: the caller reads them with :func:`read_limited` (or its own bounded reader)
and closes them. Environment proxies are honoured; ``.netrc`` credentials and cookies are not used.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import requests

from shared.registry.errors import (
    MAX_ERROR_BODY,
    InsecureNotAllowed,
    RegistryError,
    RegistryUnreachable,
    TLSFailure,
    TooLarge,
)

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for a connection and, once connected, between bytes of the response."""

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        if self.connect <= 0 or self.read <= 0:
            raise ValueError("timeouts must be positive")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried.

    ``max_attempts`` counts every try (1 means no retry). Backoff before retry *n* (1-based) is
    ``base_delay * 2**(n-1)`` capped at ``max_delay``, scaled by a random factor in [0.5, 1] when
    ``jitter`` is on. A ``Retry-After`` from the server replaces the backoff; when it asks for more
    than ``max_retry_after`` seconds the request is not retried and the response is returned, so the
    caller can give up and report it (the queue retries later). ``sleep`` waits (tests record it).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    jitter: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) when the server gave no hint."""
        delay = min(self.max_delay, self.base_delay * (2.0 ** (retry - 1)))
        if self.jitter:
            delay *= random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not security
        return delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: delta-seconds or an HTTP date; ``None`` if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def redact(url: str) -> str:
    """``url`` without its query string, fragment or user info: safe for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def origin(url: str) -> tuple[str, str, int]:
    """The (scheme, host, port) a request to ``url`` goes to, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


class Transport:
    """Sends registry HTTP requests (see the module doc for the guarantees).

    ``request_count`` counts the HTTP requests sent (each redirect hop and retry included).
    """

    def __init__(
        self,
        *,
        insecure: bool = False,
        timeout: Timeout | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self.insecure = insecure
        self.timeout = timeout or Timeout()
        self.retry = retry or RetryPolicy()
        self.max_redirects = max_redirects
        self._owns_session = session is None
        self.session = session or requests.Session()
        self._count_lock = threading.Lock()
        self.request_count = 0

    def close(self) -> None:
        """Close the session when this transport created it."""
        if self._owns_session:
            self.session.close()

    def check_url(self, url: str) -> None:
        """Raise :class:`InsecureNotAllowed` unless ``url`` is https (or http on an insecure transport)."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https" or (scheme == "http" and self.insecure):
            return
        if scheme == "http":
            raise InsecureNotAllowed(
                f"refusing plain HTTP to {redact(url)}: this registry is not configured as insecure, so only HTTPS is used"
            )
        raise InsecureNotAllowed(f"refusing URL scheme {scheme!r} for {redact(url)}: only HTTPS is used")

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send a request, retrying and following redirects; return the final, streamed response.

        The response may be any status (including 429 or 5xx after the last attempt); the caller
        maps it to an error and must close it. Raises :class:`RegistryUnreachable` (temporary) when
        no response arrived after the last attempt, :class:`TLSFailure` on TLS errors and
        :class:`InsecureNotAllowed` for a URL, or redirect, this transport may not follow.
        """
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._follow(method, url, dict(headers or {}), params, data)
            except requests.exceptions.SSLError:
                raise TLSFailure(
                    f"{method} {redact(url)}: TLS handshake failed (untrusted or mismatched certificate, "
                    "or the server does not speak HTTPS)"
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
                timed_out = isinstance(error, requests.exceptions.Timeout)
                if attempt >= policy.max_attempts:
                    what = "timed out" if timed_out else "could not connect"
                    raise RegistryUnreachable(f"{method} {redact(url)}: {what} after {attempt} attempt(s)") from None
                delay = policy.backoff(attempt)
                logger.info("%s %s: %s; retrying in %.2fs", method, redact(url), type(error).__name__, delay)
                policy.sleep(delay)
                continue
            if response.status_code not in RETRY_STATUSES or attempt >= policy.max_attempts:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > policy.max_retry_after:
                logger.info(
                    "%s %s: HTTP %d asks to wait %.0fs, more than the %.0fs allowed; giving up",
                    method,
                    redact(url),
                    response.status_code,
                    retry_after,
                    policy.max_retry_after,
                )
                return response
            delay = retry_after if retry_after is not None else policy.backoff(attempt)
            logger.info("%s %s: HTTP %d; retrying in %.2fs", method, redact(url), response.status_code, delay)
            response.close()
            policy.sleep(delay)

    def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Mapping[str, str | list[str]] | None,
        data: bytes | None,
    ) -> requests.Response:
        """One attempt: send, following up to ``max_redirects`` redirects."""
        for _ in range(self.max_redirects + 1):
            self.check_url(url)
            prepared = requests.Request(method, url, headers=headers, params=params, data=data).prepare()
            verify = False if self.insecure else self.session.verify
            settings = self.session.merge_environment_settings(prepared.url, {}, True, verify, None)
            with self._count_lock:
                self.request_count += 1
            response = self.session.send(
                prepared,
                timeout=(self.timeout.connect, self.timeout.read),
                allow_redirects=False,
                stream=True,
                verify=False if self.insecure else settings["verify"],
                proxies=settings["proxies"],
            )
            logger.debug("%s %s -> %d", method, redact(url), response.status_code)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            target = urljoin(prepared.url or url, location)
            if origin(target) != origin(url):
                for name in [name for name in headers if name.lower() == "authorization"]:
                    del headers[name]
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, data = "GET", None
            url, params = target, None
        raise RegistryError(f"{method} {redact(url)}: more than {self.max_redirects} redirects")


def read_limited(response: requests.Response, limit: int, *, what: str) -> bytes:
    """Read a streamed response body of at most ``limit`` bytes, then close the response.

    A larger body (by ``Content-Length`` or by what actually arrives) raises :class:`TooLarge`
    without reading it all; a connection failure mid-body raises :class:`RegistryUnreachable`.
    """
    try:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"{what}: {int(declared)} bytes is more than the {limit} allowed", status=response.status_code)
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(CHUNK_SIZE):
                total += len(chunk)
                if total > limit:
                    raise TooLarge(f"{what}: more than the {limit} bytes allowed", status=response.status_code)
                chunks.append(chunk)
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(f"{what}: the connection failed while reading ({type(error).__name__})") from None
        return b"".join(chunks)
    finally:
        response.close()


def read_error_body(response: requests.Response) -> bytes:
    """Up to :data:`MAX_ERROR_BODY` bytes of an error response, then close it; never raises on a bad body."""
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            chunks.append(chunk[: MAX_ERROR_BODY - total])
            total += len(chunks[-1])
            if total >= MAX_ERROR_BODY:
                break
    except requests.exceptions.RequestException:
        pass
    finally:
        response.close()
    return b"".join(chunks)
