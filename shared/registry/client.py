"""The registry API: ping, credentials check, manifests, blobs, catalog and tags (OCI and ACR).

:class:`RegistryClient` verifies what it returns: a manifest fetched by digest hashes to that
digest, an announced ``Docker-Content-Digest`` matches the bytes, and blobs are checked by size and
sha256 as they stream. Manifests are capped at 4 MiB while reading, whatever ``Content-Length``
says. Every call goes through :class:`~shared.registry.transport.Transport` (timeouts, retries,
HTTPS-only unless insecure, no ``Authorization`` across hosts) and an
:class:`~shared.registry.auth.Authenticator` (Bearer tokens taken from the registry's challenge).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from shared.errors import InvalidInput
from shared.registry import mediatypes
from shared.registry.auth import (
    Authenticator,
    Authorization,
    Challenge,
    ChallengeAuthenticator,
    Credentials,
    parse_www_authenticate,
)
from shared.registry.errors import (
    BlobUnknown,
    Denied,
    DigestMismatch,
    InsecureNotAllowed,
    InvalidResponse,
    ManifestUnknown,
    NameUnknown,
    NotARegistry,
    NotSupported,
    RegistryError,
    RegistryUnreachable,
    TooLarge,
    Unauthorized,
    error_for_status,
    parse_error_codes,
)
from shared.registry.model import Manifest
from shared.registry.reference import Digest, parse_tag_or_digest, validate_registry, validate_repository
from shared.registry.transport import (
    CHUNK_SIZE,
    RetryPolicy,
    Timeout,
    Transport,
    origin,
    parse_retry_after,
    read_error_body,
    read_limited,
    redact,
)

logger = logging.getLogger(__name__)

MAX_MANIFEST_SIZE = 4 * 1024 * 1024
"""The largest manifest read (ACR's and the distribution spec's limit): 4 MiB."""

DEFAULT_BLOB_LIMIT = 16 * 1024 * 1024
"""The default cap of :meth:`RegistryClient.get_blob`, meant for configs, not layers."""

MAX_PAGE_SIZE = 8 * 1024 * 1024
"""The largest catalog or tag page read."""

MAX_PAGES = 100_000
"""A bound on pages followed by one listing, against registries whose ``Link`` never ends."""

ORDERBY = frozenset({"timedesc", "timeasc", "none"})

_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*?\brel="?next"?', re.IGNORECASE)


@dataclass(frozen=True)
class RegistryResponse:
    """A complete (bounded) registry response: status, headers (case-insensitive) and body."""

    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The body parsed as JSON; :class:`InvalidResponse` when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidResponse(f"expected JSON, got {len(self.body)} bytes of something else") from None


class BlobReader(io.RawIOBase):
    """A readable stream of one blob that verifies its size and sha256 as it is read.

    Reading to the end checks the byte count (against ``expected_size`` when given, else the
    ``Content-Length``) and the digest, raising :class:`DigestMismatch` instead of returning the
    final empty read when either is wrong; reading more bytes than expected fails at once. A
    consumer that stops early (a tar reader at its end-of-archive marker) calls :meth:`finish` to
    read and verify the rest. Memory use is one network chunk.
    """

    def __init__(
        self,
        response: requests.Response,
        digest: Digest,
        expected_size: int | None,
        what: str,
        declared_size: int | None = None,
    ) -> None:
        super().__init__()
        self.what = what
        """Names the blob in messages (registry, repository and digest)."""
        self.declared_size = declared_size
        """The response's ``Content-Length``, when it had one."""
        self._response = response
        self._chunks = response.iter_content(CHUNK_SIZE)
        self._digest = digest
        self._expected = expected_size
        self._what = what
        self._hash = hashlib.sha256()
        self._buffer = memoryview(b"")
        self._read = 0
        self._verified = False
        self._eof = False

    @property
    def digest(self) -> Digest:
        """The digest the content must have."""
        return self._digest

    @property
    def bytes_read(self) -> int:
        """Bytes received from the network so far (compressed, as stored)."""
        return self._read

    @property
    def verified(self) -> bool:
        """Whether the whole blob was read and matched its digest and size."""
        return self._verified

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with the next bytes; 0 only at a verified end."""
        target = memoryview(buffer).cast("B")
        if not self._buffer:
            if self._eof:
                return 0
            chunk = self._next_chunk()
            if chunk is None:
                self._verify()
                return 0
            self._buffer = memoryview(chunk)
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count

    def finish(self) -> None:
        """Read and verify whatever is left; raises :class:`DigestMismatch` when the blob is wrong."""
        self._buffer = memoryview(b"")
        while not self._eof:
            if self._next_chunk() is None:
                self._verify()

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()

    def _next_chunk(self) -> bytes | None:
        try:
            chunk: bytes = next(self._chunks)
        except StopIteration:
            self._eof = True
            return None
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(
                f"{self._what}: the download failed after {self._read} bytes ({type(error).__name__})"
            ) from None
        self._read += len(chunk)
        if self._expected is not None and self._read > self._expected:
            raise DigestMismatch(f"{self._what}: more than the expected {self._expected} bytes")
        self._hash.update(chunk)
        return chunk

    def _verify(self) -> None:
        if self._expected is not None and self._read != self._expected:
            raise DigestMismatch(f"{self._what}: got {self._read} bytes, expected {self._expected}")
        actual = "sha256:" + self._hash.hexdigest()
        if actual != self._digest.value:
            raise DigestMismatch(f"{self._what}: the content hashes to {actual}, not to the digest asked for")
        self._verified = True


class RegistryClient:
    """A client of one registry, ``host`` being ``name[:port]`` (or ``https://name[:port]``).

    HTTPS is always used unless ``insecure`` is true; then ``host`` without a scheme means plain
    HTTP, and TLS certificates are not verified. A ``http://`` host on a client that is not insecure
    raises :class:`InsecureNotAllowed`. ``credentials`` are sent only to the token service the
    registry's challenge names (or as Basic when the registry asks for Basic). ``timeout`` is
    seconds (one number for connect and read) or a :class:`Timeout`; ``max_attempts`` bounds the
    tries of each request (it overrides ``retry.max_attempts``); ``min_interval`` paces requests at
    least that many seconds apart (see :class:`~shared.registry.transport.Transport`).

    Thread-safe for concurrent calls when the ``session`` is.
    """

    def __init__(
        self,
        host: str,
        credentials: Credentials | None = None,
        *,
        insecure: bool = False,
        timeout: float | Timeout | None = None,
        max_attempts: int | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        authenticator: Authenticator | None = None,
        min_interval: float = 0.0,
    ) -> None:
        scheme, _, bare = host.rstrip("/").rpartition("://")
        scheme = scheme.lower() or ("http" if insecure else "https")
        if scheme not in ("http", "https"):
            raise InvalidInput(f"registry {host!r}: unsupported scheme {scheme!r}")
        if scheme == "http" and not insecure:
            raise InsecureNotAllowed(f"registry {bare!r} is given with http://, but it is not configured as insecure")
        self.host = validate_registry(bare)
        self.base_url = f"{scheme}://{self.host}"
        self.insecure = insecure
        if isinstance(timeout, (int, float)):
            timeout = Timeout(float(timeout), float(timeout))
        retry = retry or RetryPolicy()
        if max_attempts is not None:
            retry = replace(retry, max_attempts=max_attempts)
        self.transport = Transport(insecure=insecure, timeout=timeout, retry=retry, session=session,
                                   min_interval=min_interval)
        self.credentials = credentials
        self.authenticator: Authenticator = authenticator or ChallengeAuthenticator(credentials, self.transport)

    def __repr__(self) -> str:
        who = self.credentials.username if self.credentials else "anonymous"
        return f"RegistryClient({self.base_url!r}, user={who!r}, insecure={self.insecure})"

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections (when the client created its session)."""
        self.transport.close()

    @property
    def request_count(self) -> int:
        """HTTP requests this client sent so far (redirect hops, retries and token requests included)."""
        return self.transport.request_count

    # -- the API ---------------------------------------------------------------------------------

    def ping(self) -> Challenge | None:
        """Check that ``host`` is a registry: ``GET /v2/`` unauthenticated.

        Returns the authentication challenge (and teaches it to the authenticator), or ``None`` when
        the registry is open. Raises :class:`NotARegistry` for any other answer (temporary errors
        for 429 and 5xx), :class:`RegistryUnreachable` or :class:`TLSFailure` when nothing sensible
        answers.
        """
        response = self.transport.send("GET", self._url("/v2/"))
        what = f"registry {self.host}"
        status = response.status_code
        if status == 401:
            challenges = parse_www_authenticate(response.headers.get("WWW-Authenticate"))
            read_error_body(response)
            usable = [c for c in challenges if c.scheme in ("bearer", "basic")]
            if not usable:
                raise NotARegistry(f"{what}: GET /v2/ answered 401 without a Bearer or Basic challenge", status=status)
            self.authenticator.challenged(challenges, frozenset(), None)
            return next((c for c in usable if c.scheme == "bearer"), usable[0])
        if status == 200:
            api_version = response.headers.get("Docker-Distribution-API-Version", "")
            body = read_error_body(response)
            if api_version.startswith("registry/2.0"):
                return None
            try:
                document = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                document = None
            if isinstance(document, dict):
                return None
            raise NotARegistry(f"{what}: GET /v2/ answered 200, but not like a registry", status=status)
        if status == 429 or status >= 500:
            raise error_for_status(
                status, read_error_body(response), what=what, retry_after=parse_retry_after(response.headers.get("Retry-After"))
            )
        read_error_body(response)
        raise NotARegistry(f"{what}: GET /v2/ answered HTTP {status}; this is not an OCI registry", status=status)

    def check_credentials(self, repository: str | None = None) -> None:
        """Check that the credentials are accepted, by getting a token for the catalog or ``repository``.

        Raises :class:`Unauthorized` when the token service (or, for Basic, the registry) refuses
        them. A token without rights passes: rights show up on the calls that need them.
        """
        scope = f"repository:{validate_repository(repository)}:pull" if repository else "registry:catalog:*"
        self.request("GET", "/v2/", scopes=(scope,), max_body=64 * 1024)

    def get_manifest(self, repository: str, reference: str | Digest) -> Manifest:
        """Fetch a manifest (image manifest or index) by tag or digest, verified.

        Raises :class:`ManifestUnknown` (or :class:`NameUnknown`) when absent, :class:`TooLarge`
        beyond 4 MiB, :class:`DigestMismatch` when the bytes do not hash to the digest asked for or
        to the ``Docker-Content-Digest`` announced, :class:`InvalidManifest` when they do not parse.
        """
        validate_repository(repository)
        ref = reference if isinstance(reference, Digest) else parse_tag_or_digest(reference)
        what = f"manifest {self.host}/{repository}" + (f"@{ref}" if isinstance(ref, Digest) else f":{ref}")
        response = self._open(
            "GET", f"/v2/{repository}/manifests/{ref}", scopes=_pull(repository), headers={"Accept": mediatypes.ACCEPT}, what=what
        )
        self._raise_for_status(response, what, not_found=ManifestUnknown)
        raw = read_limited(response, MAX_MANIFEST_SIZE, what=what)
        computed = Digest.of(raw)
        if isinstance(ref, Digest) and computed != ref:
            raise DigestMismatch(f"{what}: the registry's manifest hashes to {computed}")
        announced = response.headers.get("Docker-Content-Digest")
        if announced is not None and announced.startswith("sha256:") and announced != computed.value:
            raise DigestMismatch(f"{what}: the registry announced {announced[:80]} but the manifest hashes to {computed}")
        return Manifest.parse(raw, content_type=response.headers.get("Content-Type"), digest=computed)

    def get_blob(
        self, repository: str, digest: str | Digest, max_bytes: int = DEFAULT_BLOB_LIMIT, *, expected_size: int | None = None
    ) -> bytes:
        """Download a small blob (a config) whole, verified by sha256 (and ``expected_size`` if given).

        Raises :class:`TooLarge` beyond ``max_bytes`` and :class:`DigestMismatch` on wrong content.
        """
        with self.open_blob(repository, digest, expected_size) as reader:
            declared = reader.declared_size
            if declared is not None and declared > max_bytes:
                raise TooLarge(f"{reader.what}: {declared} bytes is more than the {max_bytes} allowed")
            data = bytearray()
            while chunk := reader.read(CHUNK_SIZE):
                data += chunk
                if len(data) > max_bytes:
                    raise TooLarge(f"{reader.what}: more than the {max_bytes} bytes allowed")
            return bytes(data)

    @contextmanager
    def open_blob(self, repository: str, digest: str | Digest, expected_size: int | None = None) -> Iterator[BlobReader]:
        """Stream a blob (a layer of any size) as a verifying file-like :class:`BlobReader`.

        ``expected_size`` is the descriptor's size; without it the ``Content-Length`` is checked.
        Redirects to storage are followed without the registry's ``Authorization``. Raises
        :class:`BlobUnknown` when absent; the reader raises :class:`DigestMismatch` at the end when
        the content is wrong.
        """
        validate_repository(repository)
        blob = digest if isinstance(digest, Digest) else Digest(digest)
        what = f"blob {self.host}/{repository}@{blob}"
        response = self._open("GET", f"/v2/{repository}/blobs/{blob}", scopes=_pull(repository), what=what)
        self._raise_for_status(response, what, not_found=BlobUnknown)
        header = response.headers.get("Content-Length")
        declared = int(header) if header is not None and header.isdigit() else None
        if expected_size is not None and declared is not None and declared != expected_size:
            response.close()
            raise DigestMismatch(f"{what}: the server announces {declared} bytes, the descriptor says {expected_size}")
        reader = BlobReader(response, blob, expected_size if expected_size is not None else declared, what, declared)
        try:
            yield reader
        finally:
            reader.close()

    def catalog(self, page_size: int = 100) -> Iterator[str]:
        """Every repository name, across all pages of ``GET /v2/_catalog`` (in the registry's order)."""
        for page in self._pages("/v2/_catalog", page_size, ("registry:catalog:*",), f"catalog of {self.host}"):
            yield from _strings(page.get("repositories"), f"catalog of {self.host}")

    def tags(self, repository: str, page_size: int = 100) -> Iterator[str]:
        """Every tag of ``repository``, across all pages of ``GET /v2/<name>/tags/list``."""
        validate_repository(repository)
        what = f"tags of {self.host}/{repository}"
        for page in self._pages(f"/v2/{repository}/tags/list", page_size, _pull(repository), what, not_found=NameUnknown):
            yield from _strings(page.get("tags"), what)

    def acr_catalog(self, page_size: int = 100) -> Iterator[str]:
        """Every repository name from ACR's ``GET /acr/v1/_catalog``; :class:`NotSupported` elsewhere."""
        what = f"ACR catalog of {self.host}"
        for page in self._pages("/acr/v1/_catalog", page_size, ("registry:catalog:*",), what, acr=True):
            yield from _strings(page.get("repositories"), what)

    def acr_tags(self, repository: str, orderby: str = "timedesc", page_size: int = 100) -> Iterator[dict[str, Any]]:
        """The tag records of ACR's ``GET /acr/v1/<name>/_tags`` (``name``, ``digest``, ``createdTime``...).

        ``orderby`` is ``timedesc``, ``timeasc`` or ``none``. Raises :class:`NotSupported` when the
        registry has no ACR API, :class:`NameUnknown` when the repository does not exist.
        """
        yield from self._acr_records(repository, "_tags", "tags", orderby, page_size)

    def acr_manifests(self, repository: str, orderby: str = "timedesc", page_size: int = 100) -> Iterator[dict[str, Any]]:
        """The manifest records of ACR's ``GET /acr/v1/<name>/_manifests`` (``digest``, ``tags``, ``os``...)."""
        yield from self._acr_records(repository, "_manifests", "manifests", orderby, page_size)

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Collection[str] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | None = None,
        ok: Collection[int] = (200,),
        max_body: int = MAX_MANIFEST_SIZE,
    ) -> RegistryResponse:
        """Send an authenticated request to this registry and read its (bounded) answer.

        ``path`` is ``/v2/...`` or an absolute URL on the registry's own origin (an upload
        ``Location``); ``scopes`` are the token scopes it needs. A status outside ``ok`` raises the
        matching :class:`RegistryError`.
        """
        what = f"{method} {self.host}{urlsplit(path).path}"
        response = self._open(method, path, scopes=frozenset(scopes), headers=headers, params=params, data=data, what=what)
        if response.status_code not in ok:
            self._raise_for_status(response, what)
        body = read_limited(response, max_body, what=what)
        return RegistryResponse(response.status_code, CaseInsensitiveDict(response.headers), body)

    # -- plumbing --------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        url = urljoin(self.base_url + "/", path)
        if origin(url) != origin(self.base_url):
            raise RegistryError(f"refusing to send a request for {self.host} to {redact(url)}")
        return url

    def _open(
        self,
        method: str,
        path: str,
        *,
        scopes: Collection[str],
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send with authentication; return the first response that is not 401 (left unread)."""
        url = self._url(path)
        wanted = frozenset(scopes)
        sent = self.authenticator.authorization(wanted)
        for _ in range(3):
            request_headers = dict(headers or {})
            if sent is not None:
                request_headers["Authorization"] = sent.header
            response = self.transport.send(method, url, headers=request_headers, params=params, data=data)
            if response.status_code != 401:
                return response
            challenges = parse_www_authenticate(response.headers.get("WWW-Authenticate"))
            body = read_error_body(response)
            if not self.authenticator.challenged(challenges, wanted, sent):
                raise self._auth_failure(sent, body, what, wanted)
            sent = self.authenticator.authorization(wanted)
        raise self._auth_failure(sent, b"", what, wanted)

    def _auth_failure(self, sent: Authorization | None, body: bytes, what: str, scopes: frozenset[str]) -> RegistryError:
        codes, _ = parse_error_codes(body)
        user = self.credentials.username if self.credentials else None
        if sent is None:
            if user is None:
                return Unauthorized(f"{what}: the registry requires credentials and none are configured", status=401, codes=codes)
            return Unauthorized(
                f"{what}: the registry refused the request and offered no usable challenge", status=401, codes=codes
            )
        if sent.scheme == "basic":
            return Unauthorized(f"{what}: the registry refused the credentials of {user!r}", status=401, codes=codes)
        wanted = ", ".join(sorted(scopes)) or "access"
        if user is None:
            return Unauthorized(
                f"{what}: anonymous access does not grant {wanted}; credentials are needed", status=401, codes=codes
            )
        return Denied(f"{what}: {user!r} authenticated, but the token does not grant {wanted}", status=401, codes=codes)

    def _raise_for_status(self, response: requests.Response, what: str, *, not_found: type[RegistryError] | None = None) -> None:
        if response.status_code == 200:
            return
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise error_for_status(
            response.status_code, read_error_body(response), what=what, not_found=not_found, retry_after=retry_after
        )

    def _pages(
        self,
        path: str,
        page_size: int,
        scopes: Collection[str],
        what: str,
        *,
        not_found: type[RegistryError] | None = None,
        acr: bool = False,
        params: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The JSON pages of a listing, following ``Link: <...>; rel="next"`` on the same origin."""
        if page_size < 1:
            raise InvalidInput("page_size must be at least 1")
        url: str | None = self._url(path)
        query: dict[str, str | list[str]] | None = {"n": str(page_size), **(params or {})}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._open("GET", url, scopes=scopes, params=query, what=what)
            if acr and response.status_code == 404:
                codes, _ = parse_error_codes(read_error_body(response))
                if "NAME_UNKNOWN" in codes:
                    raise NameUnknown(f"{what}: not found", status=404, codes=codes)
                raise NotSupported(f"{what}: the registry has no ACR API (/acr/v1 answered 404)", status=404, codes=codes)
            self._raise_for_status(response, what, not_found=not_found)
            link = response.headers.get("Link")
            current = response.url or url
            document = RegistryResponse(200, {}, read_limited(response, MAX_PAGE_SIZE, what=what)).json()
            if not isinstance(document, dict):
                raise InvalidResponse(f"{what}: a page is not a JSON object")
            yield document
            match = _LINK_NEXT.search(link or "")
            if match is None:
                return
            url = urljoin(current, match.group(1))
            if origin(url) != origin(self.base_url):
                raise InvalidResponse(f"{what}: the next page link leaves the registry ({redact(url)})")
            if url in seen:
                raise InvalidResponse(f"{what}: the next page link repeats a page already read")
            seen.add(url)
            query = None
        raise InvalidResponse(f"{what}: more than {MAX_PAGES} pages")

    def _acr_records(self, repository: str, endpoint: str, key: str, orderby: str, page_size: int) -> Iterator[dict[str, Any]]:
        validate_repository(repository)
        if orderby not in ORDERBY:
            raise InvalidInput(f"orderby must be one of {', '.join(sorted(ORDERBY))}, not {orderby!r}")
        what = f"ACR {endpoint} of {self.host}/{repository}"
        scopes = (f"repository:{repository}:metadata_read",)
        pages = self._pages(f"/acr/v1/{repository}/{endpoint}", page_size, scopes, what, acr=True, params={"orderby": orderby})
        for page in pages:
            records = page.get(key)
            if records is None:
                continue
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise InvalidResponse(f"{what}: {key!r} is not a list of objects")
            yield from records


def _pull(repository: str) -> tuple[str]:
    return (f"repository:{repository}:pull",)


def _strings(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidResponse(f"{what}: expected a list of names")
    return value
