"""One retry policy for Lookout's HTTP clients: bounded attempts, capped backoff, ``Retry-After``.

:class:`RetryPolicy` says how often and how patiently a request is tried again; it is a value, so a
client takes one as a setting and tests pass one that records its waits instead of sleeping.
:func:`send_with_retries` is the loop every client runs around one request: it retries the statuses
the policy names and connection failures and timeouts (:func:`retryable_error`), never a TLS
failure, honours ``Retry-After`` (:func:`parse_retry_after`) up to a cap, and gives back the last
response for the client to turn into its own errors.

The loop is hand-written rather than urllib3's ``Retry`` on a mounted adapter: that one waits up to
six hours when a server asks (its cap clamps the wait instead of giving up), logs the request path
with its query string at WARNING when a connection breaks (a signed blob URL's ``sig=``), sleeps
with :func:`time.sleep` only, hides retries from the caller's request count, and would have to be
mounted on sessions that callers own.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""The statuses retried by default: throttling, and a gateway's word that the server is restarting
or overloaded. A plain 500 is left out: it usually reports a fault that the same request meets again."""

RETRYABLE_ERRORS: tuple[type[requests.exceptions.RequestException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)
"""The exceptions of ``requests`` that mean no answer arrived and another try may get one.

:class:`requests.exceptions.SSLError` is a ``ConnectionError`` too, but it is never retried: see
:func:`retryable_error`."""

_MAX_EXPONENT = 64


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is tried again.

    ``max_attempts`` counts every try, the first included (1 means no retry). Backoff before retry
    *n* (1-based) is ``base_delay * 2**(n-1)`` seconds capped at ``max_delay`` seconds, scaled by a
    random factor in [0.5, 1] when ``jitter`` is on, so clients that failed together do not come
    back together. A ``Retry-After`` from the server replaces the backoff; when it asks for more
    than ``max_retry_after`` seconds the request is not retried (the caller gives up and reports a
    temporary failure, and the queue retries later). ``statuses`` are the HTTP statuses worth
    another try. ``sleep`` waits the given seconds (tests record instead).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    jitter: bool = True
    statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")
        if any(not 400 <= status <= 599 for status in self.statuses):
            raise ValueError("only 4xx and 5xx statuses can be retried")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) when the server gave no hint.

        Never more than ``max_delay``; with ``jitter``, at least half the unjittered delay.
        """
        if retry < 1:
            raise ValueError("retries are numbered from 1")
        delay = min(self.max_delay, self.base_delay * 2.0 ** min(retry - 1, _MAX_EXPONENT))
        if self.jitter:
            delay *= random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not security
        return delay

    def retries_status(self, status: int) -> bool:
        """Whether an answer with HTTP ``status`` is worth another try (attempts allowing)."""
        return status in self.statuses

    def wait_before(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based) after a retryable answer.

        ``retry_after`` is the wait in seconds the answer asked for (:func:`parse_retry_after`), or
        ``None``. It replaces the backoff; ``None`` comes back when it is more than
        ``max_retry_after``, meaning: do not retry.
        """
        if retry_after is None:
            return self.backoff(retry)
        if retry_after > self.max_retry_after:
            return None
        return retry_after


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait; ``None`` when absent or malformed.

    The value is delta-seconds (ASCII digits) or an HTTP date, which counts from ``now`` (UTC
    when naive; the current time when not given); a date in the past means 0. The result is not
    capped here: :meth:`RetryPolicy.wait_before` compares it with the policy's cap.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    if current.tzinfo is None:
        current = current.replace(tzinfo=timezone.utc)
    return max(0.0, (when - current).total_seconds())


def retryable_error(error: BaseException) -> bool:
    """Whether ``error``, raised while sending a request, is worth another try.

    Connection failures and timeouts are (:data:`RETRYABLE_ERRORS`); a TLS failure is not: an
    untrusted or mismatched certificate, or a server that does not speak TLS, stays so.
    """
    return isinstance(error, RETRYABLE_ERRORS) and not isinstance(error, requests.exceptions.SSLError)


@dataclass(frozen=True)
class Answer:
    """The response a retried request ended with, and how many tries (1-based) it took."""

    response: requests.Response
    attempts: int


def send_with_retries(
    policy: RetryPolicy,
    send: Callable[[], requests.Response],
    *,
    label: str,
    log: logging.Logger = logger,
) -> Answer:
    """Call ``send`` (one try of a request) until its answer is not worth retrying or tries run out.

    Returns the last response, open and unread: any status, including one of ``policy.statuses``
    after the last try or when its ``Retry-After`` asks for more than ``policy.max_retry_after``
    seconds. Responses that are retried are closed here. The caller reads and closes the one
    returned, and maps its status to its own errors.

    A :func:`retryable_error` on the last try is re-raised as it is, so one that escapes means
    ``policy.max_attempts`` tries failed. Any other exception (a TLS failure included) propagates at
    once. ``label`` names the request in ``log`` lines (``"GET https://host/path"``): it must hold no
    secret and no query string.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            response = send()
        except RETRYABLE_ERRORS as error:
            if not retryable_error(error) or attempt >= policy.max_attempts:
                raise
            delay = policy.backoff(attempt)
            log.info("%s: %s; retrying in %.2fs", label, type(error).__name__, delay)
            policy.sleep(delay)
            continue
        status = response.status_code
        if not policy.retries_status(status) or attempt >= policy.max_attempts:
            return Answer(response, attempt)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = policy.wait_before(attempt, retry_after)
        if wait is None:
            log.info(
                "%s: HTTP %d asks to wait %.0fs, more than the %.0fs allowed; giving up",
                label,
                status,
                retry_after,
                policy.max_retry_after,
            )
            return Answer(response, attempt)
        log.info("%s: HTTP %d; retrying in %.2fs", label, status, wait)
        response.close()
        policy.sleep(wait)
