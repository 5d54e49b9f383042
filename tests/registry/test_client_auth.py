"""Authentication against the real registry and its ACR-like token service."""

from __future__ import annotations

import uuid

import pytest

from shared.registry import (
    Credentials,
    Denied,
    InsecureNotAllowed,
    RegistryClient,
    RegistryUnreachable,
    RetryPolicy,
    TLSFailure,
    Unauthorized,
)
from shared.registry.auth import ChallengeAuthenticator
from testkit.images import push_image
from testkit.registry import READONLY_USER, RegistryServer


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def repository(registry: RegistryServer) -> str:
    name = unique("auth/app")
    push_image(registry, name, "1.0", [{"etc/hostname": "auth\n"}])
    return name


def test_anonymous_ping_gets_the_bearer_challenge(registry: RegistryServer) -> None:
    challenge = registry.client().ping()
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.realm == registry.tokens.realm
    assert challenge.service == registry.host


def test_anonymous_pull_is_unauthorized(registry: RegistryServer, repository: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        registry.client().get_manifest(repository, "1.0")
    assert not raised.value.temporary and "anonymous" in raised.value.message


def test_good_credentials(registry: RegistryServer, repository: str) -> None:
    client = registry.client(registry.readonly)
    client.check_credentials()
    client.check_credentials(repository)
    assert client.get_manifest(repository, "1.0").media_type.endswith("manifest.v1+json")


def test_wrong_password_is_unauthorized(registry: RegistryServer) -> None:
    wrong = Credentials(READONLY_USER, "not-the-password-42")
    registry.reset_token_requests()
    with pytest.raises(Unauthorized) as raised:
        registry.client(wrong).check_credentials()
    error = raised.value
    assert error.code == "unauthorized" and not error.temporary
    assert "not-the-password-42" not in str(error) and READONLY_USER in str(error)
    assert [request.status for request in registry.token_requests] == [401]


def test_unknown_user_is_unauthorized(registry: RegistryServer) -> None:
    with pytest.raises(Unauthorized):
        registry.client(Credentials("nobody", "x")).check_credentials()


def test_user_without_rights_is_denied_on_pull(registry: RegistryServer, repository: str) -> None:
    name = unique("norights")
    credentials = registry.add_user(name, "pw-" + name, pull=False, push=False, catalog=False)
    client = registry.client(credentials)
    client.check_credentials()  # the token service accepts the password...
    with pytest.raises(Denied) as raised:  # ...but the token grants nothing
        client.get_manifest(repository, "1.0")
    assert raised.value.code == "denied" and not raised.value.temporary
    assert registry.token_requests_for(name) == 2  # one for the check, one for the pull: no refresh loop
    with pytest.raises(Denied):
        list(client.catalog())


def test_pull_only_user_without_catalog(registry: RegistryServer, repository: str) -> None:
    name = unique("nocatalog")
    client = registry.client(registry.add_user(name, "pw", catalog=False))
    assert client.get_manifest(repository, "1.0")
    with pytest.raises(Denied):
        next(client.catalog())


def test_tokens_are_cached_per_scope(registry: RegistryServer, repository: str) -> None:
    client = registry.client(registry.readonly)
    registry.reset_token_requests()
    manifest = client.get_manifest(repository, "1.0")
    client.get_manifest(repository, manifest.digest)
    client.get_blob(repository, manifest.config.digest)
    assert list(client.tags(repository)) == ["1.0"]
    assert [r.scopes for r in registry.token_requests] == [(f"repository:{repository}:pull",)]
    assert repository in list(client.catalog())
    assert [r.scopes for r in registry.token_requests][1:] == [("registry:catalog:*",)]


def test_expired_token_is_replaced(registry: RegistryServer, repository: str) -> None:
    client = registry.client(registry.readonly)
    now = [0.0]
    client.authenticator = ChallengeAuthenticator(registry.readonly, client.transport, clock=lambda: now[0])
    registry.reset_token_requests()
    client.get_manifest(repository, "1.0")
    now[0] += registry.tokens.lifetime - 60
    client.get_manifest(repository, "1.0")
    assert len(registry.token_requests) == 1
    now[0] += 60  # inside the safety margin before expiry
    client.get_manifest(repository, "1.0")
    assert len(registry.token_requests) == 2


def test_stale_token_is_refreshed_once() -> None:
    with RegistryServer() as own:
        name = "refresh/app"
        push_image(own, name, "1", [{"a": "b"}])
        client = own.client(own.readonly)
        client.ping()
        assert client.get_manifest(name, "1")
        own.rotate_signing_key()  # the registry now rejects every token issued so far
        own.reset_token_requests()
        before = client.request_count
        assert client.get_manifest(name, "1")
        assert own.token_requests_for(READONLY_USER) == 1
        assert client.request_count - before == 3  # stale token (401), new token, retried request


def test_https_is_enforced_unless_insecure(registry: RegistryServer) -> None:
    with pytest.raises(InsecureNotAllowed):
        RegistryClient(f"http://{registry.host}", registry.readonly)
    secure = RegistryClient(registry.host, registry.readonly, max_attempts=1)
    assert secure.base_url == f"https://{registry.host}"
    with pytest.raises(TLSFailure):  # the registry speaks plain HTTP: the client will not fall back
        secure.ping()


def test_stopped_registry_is_a_temporary_failure() -> None:
    with RegistryServer() as own:
        client = own.client(own.readonly, retry=RetryPolicy(max_attempts=2, base_delay=0.01, jitter=False))
        assert client.ping() is not None
        own.stop()
        with pytest.raises(RegistryUnreachable) as raised:
            client.ping()
        assert raised.value.temporary
        own.start()
        assert client.ping() is not None
