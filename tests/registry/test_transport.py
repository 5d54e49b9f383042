"""Retries, backoff, timeouts, redirects and the HTTPS rule, against scripted servers."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared import retry
from shared.registry import (
    InsecureNotAllowed,
    RegistryClient,
    RegistryUnavailable,
    RegistryUnreachable,
    RetryPolicy,
    Throttled,
    Timeout,
    TLSFailure,
)
from shared.registry.transport import Transport, parse_retry_after, redact
from testkit.processes import free_port
from testkit.standin import RecordedSleeps, Reply, StandIn, TLSFiles

V2 = Reply(200, b"{}", {"Docker-Distribution-API-Version": "registry/2.0"})
REGISTRY_ERROR = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'


def client_for(server: StandIn, retry: RetryPolicy, **options: object) -> RegistryClient:
    return RegistryClient(server.host, insecure=True, retry=retry, **options)  # type: ignore[arg-type]


def test_429_honours_retry_after_seconds(
    standin: Callable[..., StandIn], fast_retry: RetryPolicy, sleeps: RecordedSleeps
) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(429, REGISTRY_ERROR, {"Retry-After": "2"}), V2)
    assert client_for(server, fast_retry).ping() is None
    assert sleeps == [2.0]
    assert len(server.requests_to("/v2/")) == 2


def test_retry_after_as_http_date(standin: Callable[..., StandIn], fast_retry: RetryPolicy, sleeps: RecordedSleeps) -> None:
    server = standin()
    when = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=3), usegmt=True)
    server.route("GET", "/v2/", Reply(503, headers={"Retry-After": when}), V2)
    client_for(server, fast_retry).ping()
    assert len(sleeps) == 1 and 1.0 < sleeps[0] <= 3.0


def test_503_then_success_backs_off_exponentially(
    standin: Callable[..., StandIn], fast_retry: RetryPolicy, sleeps: RecordedSleeps
) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(503), Reply(502), V2)
    client = client_for(server, fast_retry)
    assert client.ping() is None
    assert sleeps == [0.01, 0.02]
    assert client.request_count == 3


def test_throttling_gives_up_after_max_attempts(
    standin: Callable[..., StandIn], fast_retry: RetryPolicy, sleeps: RecordedSleeps
) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(429, REGISTRY_ERROR, {"Retry-After": "1"}))
    with pytest.raises(Throttled) as raised:
        client_for(server, fast_retry, max_attempts=4).ping()
    error = raised.value
    assert error.temporary and error.status == 429 and error.retry_after == 1.0
    assert error.codes == ("TOOMANYREQUESTS",)
    assert len(server.requests_to("/v2/")) == 4
    assert sleeps == [1.0, 1.0, 1.0]


def test_retry_after_beyond_the_cap_is_not_waited_for(
    standin: Callable[..., StandIn], fast_retry: RetryPolicy, sleeps: RecordedSleeps
) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(Throttled) as raised:
        client_for(server, fast_retry).ping()
    assert raised.value.retry_after == 3600
    assert sleeps == []
    assert len(server.requests_to("/v2/")) == 1


def test_500_is_temporary_but_not_retried(standin: Callable[..., StandIn], fast_retry: RetryPolicy) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(500, b"boom"))
    with pytest.raises(RegistryUnavailable) as raised:
        client_for(server, fast_retry).ping()
    assert raised.value.temporary and raised.value.status == 500
    assert len(server.requests_to("/v2/")) == 1


def test_connection_refused_is_temporary_after_retries(fast_retry: RetryPolicy, sleeps: RecordedSleeps) -> None:
    client = RegistryClient(f"127.0.0.1:{free_port()}", insecure=True, retry=fast_retry)
    with pytest.raises(RegistryUnreachable) as raised:
        client.ping()
    assert raised.value.temporary
    assert "could not connect after 3 attempt(s)" in raised.value.message
    assert len(sleeps) == 2


def test_a_minimum_interval_paces_requests_and_retries(
    standin: Callable[..., StandIn], fast_retry: RetryPolicy, sleeps: RecordedSleeps
) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(503), V2)
    client = client_for(server, fast_retry, min_interval=0.15)
    started = time.monotonic()
    for _ in range(3):
        client.ping()
    elapsed = time.monotonic() - started
    assert client.request_count == 4  # the retry is paced like any request
    assert elapsed >= 3 * 0.15
    assert sleeps == [0.01]  # the retry's own backoff is unchanged
    with pytest.raises(ValueError):
        Transport(min_interval=-1)


def test_read_timeout_is_temporary(standin: Callable[..., StandIn], fast_retry: RetryPolicy) -> None:
    server = standin()
    server.route("GET", "/v2/", Reply(200, b"{}", delay=1.0))
    client = client_for(server, fast_retry, timeout=Timeout(connect=1, read=0.2), max_attempts=2)
    with pytest.raises(RegistryUnreachable, match="timed out") as raised:
        client.ping()
    assert raised.value.temporary


def test_redirect_to_another_host_drops_authorization(standin: Callable[..., StandIn], fast_retry: RetryPolicy) -> None:
    origin, storage = standin(), standin("127.0.0.2")
    origin.route("GET", "/same", Reply(307, headers={"Location": "/moved"}))
    origin.route("GET", "/moved", Reply(302, headers={"Location": f"{storage.url}/blob?sig=secret"}))
    storage.route("GET", "/blob", Reply(307, headers={"Location": f"{origin.url}/back"}))
    origin.route("GET", "/back", Reply(200, b"done"))
    transport = Transport(insecure=True, retry=fast_retry)
    response = transport.send("GET", f"{origin.url}/same", headers={"Authorization": "Bearer registry-token"})
    assert response.status_code == 200 and response.content == b"done"
    assert origin.requests_to("/moved")[0].header("Authorization") == "Bearer registry-token"
    assert storage.requests_to("/blob")[0].header("Authorization") is None
    # Dropped for good: not even sent again when the chain returns to the first host.
    assert origin.requests_to("/back")[0].header("Authorization") is None
    assert storage.requests_to("/blob")[0].query == {"sig": ["secret"]}


def test_a_different_port_is_another_host(standin: Callable[..., StandIn], fast_retry: RetryPolicy) -> None:
    first, second = standin(), standin()
    first.route("GET", "/x", Reply(307, headers={"Location": f"{second.url}/y"}))
    second.route("GET", "/y", Reply(200))
    Transport(insecure=True, retry=fast_retry).send("GET", f"{first.url}/x", headers={"authorization": "Basic abc"})
    assert second.requests_to("/y")[0].header("Authorization") is None


def test_too_many_redirects(standin: Callable[..., StandIn], fast_retry: RetryPolicy) -> None:
    server = standin()
    server.route("GET", "/loop", Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(Exception, match="more than 5 redirects"):
        Transport(insecure=True, retry=fast_retry).send("GET", f"{server.url}/loop")


def test_plain_http_needs_insecure(standin: Callable[..., StandIn]) -> None:
    server = standin()
    server.route("GET", "/v2/", V2)
    with pytest.raises(InsecureNotAllowed):
        Transport().send("GET", f"{server.url}/v2/")
    with pytest.raises(InsecureNotAllowed):
        RegistryClient(f"http://{server.host}")
    assert server.seen == []
    assert RegistryClient(f"http://{server.host}", insecure=True).ping() is None


def test_redirect_from_https_to_http_is_refused(
    standin: Callable[..., StandIn], tls_files: object, fast_retry: RetryPolicy
) -> None:
    secure, plain = standin(tls=tls_files), standin()
    secure.route("GET", "/v2/x/blobs/b", Reply(307, headers={"Location": f"{plain.url}/data"}))
    session = requests.Session()
    session.verify = str(tls_files.certificate)  # type: ignore[attr-defined]
    transport = Transport(session=session, retry=fast_retry)
    with pytest.raises(InsecureNotAllowed, match="plain HTTP"):
        transport.send("GET", f"{secure.url}/v2/x/blobs/b")
    assert plain.seen == []


def test_an_untrusted_certificate_is_not_retried(
    standin: Callable[..., StandIn], tls_files: TLSFiles, fast_retry: RetryPolicy, sleeps: RecordedSleeps
) -> None:
    server = standin(tls=tls_files)
    server.route("GET", "/v2/", V2)
    sending = Transport(retry=fast_retry)
    with pytest.raises(TLSFailure, match="TLS handshake failed"):
        sending.send("GET", f"{server.url}/v2/")
    assert sending.request_count == 1 and sleeps == []


def test_the_registry_uses_the_shared_policy() -> None:
    policy = RetryPolicy()
    assert policy.statuses == retry.RETRY_STATUSES and 500 not in policy.statuses
    assert policy.max_attempts == 4 and policy.jitter
    assert Transport().retry == policy
    assert RetryPolicy is retry.RetryPolicy and parse_retry_after is retry.parse_retry_after
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_redact_drops_query_and_user_info() -> None:
    assert redact("https://user:pw@acct.blob.core.windows.net:443/c/b?sv=1&sig=SECRET#x") == (
        "https://acct.blob.core.windows.net:443/c/b"
    )
