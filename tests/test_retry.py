"""The shared retry policy: backoff bounds, ``Retry-After`` in seconds and as a date, the cap, the loop."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from shared.retry import (
    RETRY_STATUSES,
    Answer,
    RetryPolicy,
    parse_retry_after,
    retryable_error,
    send_with_retries,
)
from testkit.standin import RecordedSleeps

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


def policy(sleeps: RecordedSleeps, **changes: object) -> RetryPolicy:
    """Three tries, backoff 1 s, 2 s, 4 s... capped at 4 s, Retry-After up to 30 s, waits recorded."""
    options: dict[str, object] = {"max_attempts": 3, "base_delay": 1.0, "max_delay": 4.0, "jitter": False, "sleep": sleeps}
    options.update(changes)
    return RetryPolicy(**options)  # type: ignore[arg-type]


def response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    """A real response with an in-memory body, as ``requests`` hands one back (streamed)."""
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers or {})
    answer.raw = io.BytesIO(b"body")
    return answer


def script(*outcomes: requests.Response | Exception) -> tuple[Callable[[], requests.Response], list[int]]:
    """A ``send`` that answers or raises ``outcomes`` in order, and the list of tries it counts."""
    pending: Iterator[requests.Response | Exception] = iter(outcomes)
    tries: list[int] = []

    def send() -> requests.Response:
        tries.append(len(tries) + 1)
        outcome = next(pending)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, tries


# -- backoff -------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    plain = RetryPolicy(base_delay=1, max_delay=4, jitter=False)
    assert [plain.backoff(n) for n in range(1, 6)] == [1, 2, 4, 4, 4]
    assert plain.backoff(10_000) == 4
    with pytest.raises(ValueError):
        plain.backoff(0)


def test_jittered_backoff_stays_between_half_and_the_whole_delay() -> None:
    jittered = RetryPolicy(base_delay=1, max_delay=4)
    for retry, full in [(1, 1.0), (2, 2.0), (3, 4.0), (9, 4.0)]:
        delays = [jittered.backoff(retry) for _ in range(200)]
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(set(delays)) > 1


def test_a_policy_is_validated() -> None:
    bad: list[dict[str, Any]] = [
        {"max_attempts": 0},
        {"base_delay": -1},
        {"max_delay": -1},
        {"max_retry_after": -1},
        {"statuses": frozenset({200})},
    ]
    for options in bad:
        with pytest.raises(ValueError):
            RetryPolicy(**options)


def test_the_default_statuses() -> None:
    assert frozenset({429, 502, 503, 504}) == RETRY_STATUSES
    default = RetryPolicy()
    assert default.retries_status(429) and default.retries_status(503)
    assert not default.retries_status(500) and not default.retries_status(404)
    assert RetryPolicy(statuses=RETRY_STATUSES | {500}).retries_status(500)


# -- Retry-After ---------------------------------------------------------------------------------


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("0") == 0.0


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 01:00:00 +0100", now=NOW) == 0.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:01:00 -0000", now=NOW) == 60.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now=NOW) == 0.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:30 GMT", now=NOW.replace(tzinfo=None)) == 30.0
    soon = (datetime.now(timezone.utc) + timedelta(seconds=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    seconds = parse_retry_after(soon)
    assert seconds is not None and 15 < seconds <= 20


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "\u0661\u0662", "Mon, 01 Jan 99999 00:00:00 GMT"])
def test_a_malformed_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_replaces_the_backoff_up_to_the_cap() -> None:
    capped = RetryPolicy(base_delay=1, max_delay=4, max_retry_after=30, jitter=False)
    assert capped.wait_before(2, None) == 2.0
    assert capped.wait_before(2, 0.0) == 0.0
    assert capped.wait_before(1, 12.0) == 12.0
    assert capped.wait_before(1, 30.0) == 30.0
    assert capped.wait_before(1, 30.5) is None
    assert capped.wait_before(1, float("inf")) is None


# -- which failures are retried ------------------------------------------------------------------


def test_connection_failures_and_timeouts_are_retryable_but_not_tls() -> None:
    assert retryable_error(requests.exceptions.ConnectionError())
    assert retryable_error(requests.exceptions.ConnectTimeout())
    assert retryable_error(requests.exceptions.ReadTimeout())
    assert not retryable_error(requests.exceptions.SSLError())
    assert not retryable_error(requests.exceptions.ChunkedEncodingError())
    assert not retryable_error(ValueError())


# -- the loop ------------------------------------------------------------------------------------


def test_retryable_answers_are_retried_with_backoff_and_closed() -> None:
    sleeps = RecordedSleeps()
    first, second, done = response(503), response(429, {"Retry-After": "3"}), response(200)
    send, tries = script(first, second, done)
    answer = send_with_retries(policy(sleeps), send, label="GET https://example.test/v2/")
    assert answer == Answer(done, 3)
    assert sleeps == [1.0, 3.0]
    assert first.raw.closed and second.raw.closed and not done.raw.closed
    assert tries == [1, 2, 3]


def test_the_last_retryable_answer_comes_back_when_tries_run_out() -> None:
    sleeps = RecordedSleeps()
    last = response(502)
    send, _ = script(response(502), response(502), last)
    answer = send_with_retries(policy(sleeps), send, label="GET https://example.test/")
    assert answer.response is last and answer.attempts == 3
    assert sleeps == [1.0, 2.0]


def test_a_retry_after_beyond_the_cap_is_not_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    sleeps = RecordedSleeps()
    throttled = response(429, {"Retry-After": "3600"})
    send, tries = script(throttled)
    with caplog.at_level(logging.INFO, logger="shared.retry"):
        answer = send_with_retries(policy(sleeps), send, label="GET https://example.test/v2/")
    assert answer == Answer(throttled, 1) and not throttled.raw.closed
    assert sleeps == [] and tries == [1]
    assert "GET https://example.test/v2/: HTTP 429 asks to wait 3600s, more than the 30s allowed; giving up" in caplog.messages


def test_a_retry_after_date_is_waited_for() -> None:
    sleeps = RecordedSleeps()
    when = (datetime.now(timezone.utc) + timedelta(seconds=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    send, _ = script(response(503, {"Retry-After": when}), response(200))
    assert send_with_retries(policy(sleeps), send, label="GET https://example.test/").attempts == 2
    assert len(sleeps) == 1 and 5 < sleeps[0] <= 10


def test_other_answers_come_back_at_once() -> None:
    sleeps = RecordedSleeps()
    for status in (200, 404, 500):
        send, tries = script(response(status))
        assert send_with_retries(policy(sleeps), send, label="GET https://example.test/").attempts == 1
        assert tries == [1]
    assert sleeps == []


def test_a_connection_failure_is_retried_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    sleeps = RecordedSleeps()
    failure = requests.exceptions.ConnectionError("refused")
    send, tries = script(requests.exceptions.ReadTimeout(), failure, failure)
    log = logging.getLogger("tests.retry")
    with caplog.at_level(logging.INFO, logger="tests.retry"), pytest.raises(requests.exceptions.ConnectionError) as raised:
        send_with_retries(policy(sleeps), send, label="POST https://example.test/v1/querybatch", log=log)
    assert raised.value is failure
    assert tries == [1, 2, 3] and sleeps == [1.0, 2.0]
    assert caplog.messages == [
        "POST https://example.test/v1/querybatch: ReadTimeout; retrying in 1.00s",
        "POST https://example.test/v1/querybatch: ConnectionError; retrying in 2.00s",
    ]


def test_a_connection_failure_then_an_answer() -> None:
    sleeps = RecordedSleeps()
    done = response(200)
    send, _ = script(requests.exceptions.ConnectTimeout(), done)
    assert send_with_retries(policy(sleeps), send, label="GET https://example.test/") == Answer(done, 2)
    assert sleeps == [1.0]


def test_a_tls_failure_is_raised_at_once() -> None:
    sleeps = RecordedSleeps()
    send, tries = script(requests.exceptions.SSLError("certificate verify failed"), response(200))
    with pytest.raises(requests.exceptions.SSLError):
        send_with_retries(policy(sleeps), send, label="GET https://example.test/")
    assert tries == [1] and sleeps == []


def test_one_attempt_means_no_retry() -> None:
    sleeps = RecordedSleeps()
    send, tries = script(response(503), response(200))
    assert send_with_retries(policy(sleeps, max_attempts=1), send, label="GET https://example.test/").attempts == 1
    assert tries == [1] and sleeps == []
