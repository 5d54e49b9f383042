"""Client failure modes a real registry does not produce on demand, against a scripted registry.

The stand-in speaks the real protocol: a Bearer challenge naming a token service (on another host,
127.0.0.2, as ACR's may be), JSON error bodies, ``Link`` paging, redirects to storage.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from urllib.parse import quote

import pytest
import requests

from shared.errors import InvalidInput
from shared.registry import (
    BlobUnknown,
    Credentials,
    Denied,
    DigestMismatch,
    InsecureNotAllowed,
    InvalidManifest,
    NameUnknown,
    NotARegistry,
    NotSupported,
    RegistryClient,
    RegistryUnavailable,
    RetryPolicy,
    TLSFailure,
    TooLarge,
    Unauthorized,
    mediatypes,
)
from shared.registry.auth import ChallengeAuthenticator
from shared.registry.errors import InvalidResponse
from testkit.standin import Reply, Seen, StandIn, TLSFiles

PASSWORD = "p4ss-word-never-logged"
CREDENTIALS = Credentials("docker-scout-readonly-token", PASSWORD)
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": "sha256:" + "c" * 64, "size": 2},
        "layers": [],
    }
).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


class FakeRegistry:
    """A stand-in registry with ACR-like token auth; the token service lives on 127.0.0.2."""

    def __init__(
        self,
        make: Callable[..., StandIn],
        *,
        tls: TLSFiles | None = None,
        token_field: str = "access_token",  # noqa: S107 - a JSON field name
        expires_in: int | None = 3600,
    ) -> None:
        self.registry = make(tls=tls)
        self.auth = make("127.0.0.2")
        self.realm = f"{self.auth.url}/oauth2/token"
        self.tokens_issued = 0
        self.token_field = token_field
        self.expires_in = expires_in
        self.valid_tokens: set[str] = set()
        self.token_scopes: dict[str, set[str]] = {}
        self.auth.route("GET", "/oauth2/token", self._token)
        self.registry.route("GET", "/v2/", self._guard(lambda seen: Reply(200, b"{}")))

    def challenge(self, scope: str | None = None) -> Reply:
        value = f'Bearer realm="{self.realm}",service="{self.registry.host}"'
        if scope:
            value += f',scope="{scope}"'
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        return Reply(401, body, {"WWW-Authenticate": value, "Content-Type": "application/json"})

    def _token(self, seen: Seen) -> Reply:
        expected = "Basic " + base64.b64encode(f"{CREDENTIALS.username}:{CREDENTIALS.password}".encode()).decode()
        if seen.header("Authorization") != expected:
            return Reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        self.token_scopes[token] = set(seen.query.get("scope", []))
        body: dict[str, object] = {self.token_field: token}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _guard(self, handler: Callable[[Seen], Reply], scope: str | None = None) -> Callable[[Seen], Reply]:
        def guarded(seen: Seen) -> Reply:
            header = seen.header("Authorization") or ""
            token = header[7:] if header.startswith("Bearer ") else ""
            if token not in self.valid_tokens or not set((scope or "").split()) <= self.token_scopes.get(token, set()):
                return self.challenge(scope)
            return handler(seen)

        return guarded

    def route(self, method: str, path: str, handler: Callable[[Seen], Reply], scope: str | None = None) -> None:
        self.registry.route(method, path, self._guard(handler, scope))

    def client(self, credentials: Credentials | None = CREDENTIALS, **options: object) -> RegistryClient:
        options.setdefault("insecure", True)
        options.setdefault("retry", RetryPolicy(max_attempts=2, base_delay=0, jitter=False))
        return RegistryClient(self.registry.host, credentials, **options)  # type: ignore[arg-type]


@pytest.fixture
def fake(standin: Callable[..., StandIn]) -> FakeRegistry:
    return FakeRegistry(standin)


def manifest_reply(body: bytes = MANIFEST, headers: dict[str, str] | None = None) -> Callable[[Seen], Reply]:
    return lambda seen: Reply(200, body, {"Content-Type": mediatypes.OCI_MANIFEST, **(headers or {})})


def test_credentials_go_only_to_the_realm(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply(), scope="repository:app:pull")
    manifest = fake.client().get_manifest("app", "1.0")
    assert manifest.digest.value == MANIFEST_DIGEST
    [token_request] = fake.auth.seen
    assert (token_request.header("Authorization") or "").startswith("Basic ")
    assert token_request.query == {"service": [fake.registry.host], "scope": ["repository:app:pull"]}
    for seen in fake.registry.seen:
        assert not (seen.header("Authorization") or "").startswith("Basic")


def test_scopes_from_the_challenge_are_added_and_repeated(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply(), scope="repository:app:pull repository:base:pull")
    fake.client().get_manifest("app", "1.0")
    assert sorted(fake.auth.seen[0].query["scope"]) == ["repository:app:pull", "repository:base:pull"]


def test_a_challenge_for_more_scopes_widens_the_token(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply(), scope="repository:app:pull repository:base:pull")
    client = fake.client()
    client.ping()  # the challenge is known, so the first token is asked for the caller's scope alone
    client.get_manifest("app", "1.0")
    client.get_manifest("app", "1.0")
    assert [sorted(s.query["scope"]) for s in fake.auth.seen] == [
        ["repository:app:pull"],
        ["repository:app:pull", "repository:base:pull"],
    ]


def test_spec_token_field_and_default_lifetime(standin: Callable[..., StandIn]) -> None:
    fake = FakeRegistry(standin, token_field="token", expires_in=None)
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply())
    client = fake.client()
    now = [1000.0]
    client.authenticator = ChallengeAuthenticator(CREDENTIALS, client.transport, clock=lambda: now[0])
    client.get_manifest("app", "1.0")
    now[0] += 50  # within 60 s minus the safety margin: cached
    client.get_manifest("app", "1.0")
    assert fake.tokens_issued == 1
    now[0] += 10  # past 60 s minus 6 s: a new token
    client.get_manifest("app", "1.0")
    assert fake.tokens_issued == 2


def test_wrong_password_is_unauthorized_and_secret_free(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply())
    with pytest.raises(Unauthorized) as raised:
        fake.client(Credentials(CREDENTIALS.username, "wrong-password-123")).get_manifest("app", "1.0")
    assert not raised.value.temporary
    assert "wrong-password-123" not in str(raised.value)
    assert CREDENTIALS.username in str(raised.value)


def test_revoked_token_is_refreshed_once_then_denied(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply())
    client = fake.client()
    client.get_manifest("app", "1.0")
    fake.valid_tokens.clear()  # the registry stops accepting every token it issued
    client.get_manifest("app", "1.0")
    assert fake.tokens_issued == 2
    # Now no token is ever accepted: one refresh, then a clear refusal (no loop).
    fake.auth.route("GET", "/oauth2/token", lambda seen: Reply(200, b'{"access_token": "useless", "expires_in": 300}'))
    fake.valid_tokens.clear()
    with pytest.raises(Denied) as raised:
        client.get_manifest("app", "1.0")
    assert raised.value.status == 401
    assert len(fake.auth.requests_to("/oauth2/token")) == 3
    assert "useless" not in str(raised.value)


def test_http_realm_is_refused_for_a_secure_registry(standin: Callable[..., StandIn], tls_files: TLSFiles) -> None:
    fake = FakeRegistry(standin, tls=tls_files)
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply())
    session = requests.Session()
    session.verify = str(tls_files.certificate)
    client = fake.client(insecure=False, session=session)
    assert client.base_url.startswith("https://")
    with pytest.raises(InsecureNotAllowed, match="plain HTTP"):
        client.get_manifest("app", "1.0")
    assert fake.auth.seen == []  # the password never left


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_untrusted_certificate_is_a_tls_failure(standin: Callable[..., StandIn], tls_files: TLSFiles) -> None:
    server = standin(tls=tls_files)
    server.route("GET", "/v2/", Reply(200, b"{}"))
    with pytest.raises(TLSFailure) as raised:
        RegistryClient(server.host).ping()
    assert not raised.value.temporary
    # Insecure means: TLS without verification is accepted too.
    assert RegistryClient(f"https://{server.host}", insecure=True).ping() is None


def test_manifest_over_4_mib_by_content_length(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/big", manifest_reply(b"{" + b" " * (4 * 1024 * 1024) + b"}"))
    with pytest.raises(TooLarge) as raised:
        fake.client().get_manifest("app", "big")
    assert not raised.value.temporary


def test_manifest_over_4_mib_without_content_length(fake: FakeRegistry) -> None:
    big = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    fake.route(
        "GET", "/v2/app/manifests/big", lambda seen: Reply(200, big, {"Content-Type": mediatypes.OCI_MANIFEST}, length=False)
    )
    with pytest.raises(TooLarge, match="more than the 4194304 bytes"):
        fake.client().get_manifest("app", "big")


def test_wrong_docker_content_digest(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply(headers={"Docker-Content-Digest": "sha256:" + "0" * 64}))
    with pytest.raises(DigestMismatch) as raised:
        fake.client().get_manifest("app", "1.0")
    assert not raised.value.temporary


def test_manifest_bytes_not_matching_the_digest_asked_for(fake: FakeRegistry) -> None:
    asked = "sha256:" + "e" * 64
    fake.route("GET", f"/v2/app/manifests/{asked}", manifest_reply(headers={"Docker-Content-Digest": asked}))
    with pytest.raises(DigestMismatch, match="hashes to"):
        fake.client().get_manifest("app", asked)


def test_manifest_that_is_not_json(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", manifest_reply(b"<html>"))
    with pytest.raises(InvalidManifest):
        fake.client().get_manifest("app", "1.0")


def test_blob_with_wrong_content_fails_at_the_end(fake: FakeRegistry) -> None:
    data = b"x" * 200_000
    digest = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    fake.route("GET", f"/v2/app/blobs/{digest}", lambda seen: Reply(200, data))
    with fake.client().open_blob("app", digest) as reader:
        assert reader.read(1000) == b"x" * 1000
        with pytest.raises(DigestMismatch):
            reader.read()
        assert not reader.verified


def test_blob_longer_than_its_descriptor_fails_early(fake: FakeRegistry) -> None:
    data = b"y" * 300_000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    fake.route("GET", f"/v2/app/blobs/{digest}", lambda seen: Reply(200, data, length=False))
    with fake.client().open_blob("app", digest, expected_size=100) as reader, pytest.raises(DigestMismatch, match="more than"):
        reader.read(200_000)
    with pytest.raises(TooLarge):
        fake.client().get_blob("app", digest, max_bytes=1000)


def test_redirect_to_storage_carries_no_authorization_and_errors_hide_the_query(
    fake: FakeRegistry, standin: Callable[..., StandIn]
) -> None:
    storage = standin("127.0.0.2")
    data = b"layer-bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    location = f"{storage.url}/container/blob?sv=2024&sig={quote('SeCrEt/SAS=')}"
    fake.route("GET", f"/v2/app/blobs/{digest}", lambda seen: Reply(307, headers={"Location": location}))
    storage.route("GET", "/container/blob", Reply(200, data))
    client = fake.client()
    assert client.get_blob("app", digest) == data
    assert storage.seen[0].header("Authorization") is None
    storage.route("GET", "/container/blob", Reply(403, b"<Error><Code>AuthenticationFailed</Code></Error>"))
    with pytest.raises(Denied) as raised:
        client.get_blob("app", digest)
    assert "SeCrEt" not in str(raised.value) and "sig=" not in str(raised.value)


def test_blob_unknown(fake: FakeRegistry) -> None:
    digest = "sha256:" + "d" * 64
    body = b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}'
    fake.route("GET", f"/v2/app/blobs/{digest}", lambda seen: Reply(404, body))
    with pytest.raises(BlobUnknown) as raised:
        fake.client().get_blob("app", digest)
    assert raised.value.codes == ("BLOB_UNKNOWN",) and raised.value.status == 404


def test_error_body_is_read_only_up_to_the_cap(fake: FakeRegistry) -> None:
    fake.route("GET", "/v2/app/manifests/1.0", lambda seen: Reply(500, b"x" * (10 * 1024 * 1024), length=False))
    with pytest.raises(RegistryUnavailable):
        fake.client().get_manifest("app", "1.0")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(404, b"404 page not found"), NotARegistry),
        (Reply(200, b"<html>welcome</html>"), NotARegistry),
        (Reply(401, b"who are you"), NotARegistry),
        (Reply(503), RegistryUnavailable),
    ],
)
def test_ping_of_something_else(standin: Callable[..., StandIn], reply: Reply, error: type[Exception]) -> None:
    server = standin()
    server.route("GET", "/v2/", reply)
    with pytest.raises(error):
        RegistryClient(server.host, insecure=True, max_attempts=1).ping()


def test_tags_paged_by_n_last_and_link(fake: FakeRegistry) -> None:
    tags = [f"v{i:02d}" for i in range(7)]

    def tag_page(seen: Seen) -> Reply:
        n = int(seen.query["n"][0])
        last = seen.query.get("last", [""])[0]
        page = [t for t in tags if t > last][:n]
        headers = {}
        if page and page[-1] != tags[-1]:
            headers["Link"] = f'</v2/app/tags/list?n={n}&last={page[-1]}>; rel="next"'
        return Reply(200, json.dumps({"name": "app", "tags": page}).encode(), headers)

    fake.route("GET", "/v2/app/tags/list", tag_page)
    client = fake.client()
    assert list(client.tags("app", page_size=3)) == tags
    pages = [s for s in fake.registry.requests_to("/v2/app/tags/list") if (s.header("Authorization") or "")]
    assert [s.query.get("last") for s in pages] == [None, ["v02"], ["v05"]]


def test_acr_tags_paged_by_link(fake: FakeRegistry) -> None:
    link = '</acr/v1/app/_tags?last=v2&n=2&orderby=timedesc>; rel="next"'
    pages = {
        None: ([{"name": "v3", "digest": "sha256:" + "3" * 64}, {"name": "v2"}], link),
        "v2": ([{"name": "v1"}], None),
    }

    def tags(seen: Seen) -> Reply:
        records, link = pages[seen.query.get("last", [None])[0]]
        assert seen.query["orderby"] == ["timedesc"]
        headers = {"Link": link} if link else {}
        return Reply(200, json.dumps({"registry": fake.registry.host, "imageName": "app", "tags": records}).encode(), headers)

    fake.route("GET", "/acr/v1/app/_tags", tags, scope="repository:app:metadata_read")
    assert [t["name"] for t in fake.client().acr_tags("app", page_size=2)] == ["v3", "v2", "v1"]
    assert fake.auth.seen[0].query["scope"] == ["repository:app:metadata_read"]


def test_acr_api_absent_or_repository_absent(fake: FakeRegistry) -> None:
    fake.route("GET", "/acr/v1/_catalog", lambda seen: Reply(404, b"404 page not found"))
    with pytest.raises(NotSupported):
        list(fake.client().acr_catalog())
    body = b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}'
    fake.route("GET", "/acr/v1/gone/_tags", lambda seen: Reply(404, body))
    with pytest.raises(NameUnknown):
        list(fake.client().acr_tags("gone"))


def test_paging_link_to_another_host_is_refused(fake: FakeRegistry) -> None:
    fake.route(
        "GET",
        "/v2/_catalog",
        lambda seen: Reply(200, b'{"repositories":["a"]}', {"Link": '<https://elsewhere.example/v2/_catalog?n=1>; rel="next"'}),
    )
    names = fake.client().catalog(page_size=1)
    assert next(names) == "a"
    with pytest.raises(InvalidResponse, match="leaves the registry"):
        next(names)


def test_orderby_is_validated(fake: FakeRegistry) -> None:
    with pytest.raises(InvalidInput, match="orderby"):
        list(fake.client().acr_tags("app", orderby="name"))
    assert fake.registry.seen == []
