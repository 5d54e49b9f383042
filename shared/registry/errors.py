"""The registry's branch of Lookout's error hierarchy.

Every failure of a registry call is a :class:`RegistryError` carrying the HTTP ``status`` (when there
was a response), the registry's own error ``codes`` (``MANIFEST_UNKNOWN``, ``DENIED``...) and the
``temporary`` flag the queue worker acts on: throttling, server errors, timeouts and unreachable
hosts are temporary; authentication, authorization, missing content and corrupt content are not.

Messages are written for the person who configured the registry. They never contain a password, a
token, or a URL's query string (pre-signed storage URLs carry credentials there).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from shared.errors import InvalidInput, LookoutError, NotFound

MAX_ERROR_BODY = 64 * 1024
"""How many bytes of an error response are read, at most, to find the registry's error codes."""

_MAX_MESSAGE_DETAIL = 200


class InvalidReference(InvalidInput):
    """A repository name, tag, digest or image reference breaks the distribution spec's grammar."""

    code = "invalid-reference"


class RegistryError(LookoutError):
    """A registry call failed.

    ``status`` is the HTTP status of the failing response (``None`` when no response arrived),
    ``codes`` the ``code`` values of the registry's JSON error body, in order.
    """

    code = "registry-error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        codes: Sequence[str] = (),
        code: str | None = None,
        temporary: bool | None = None,
    ) -> None:
        super().__init__(message, code=code, temporary=temporary)
        self.status = status
        self.codes: tuple[str, ...] = tuple(codes)


class Unauthorized(RegistryError):
    """The registry or its token service refused the credentials (or demanded some and had none)."""

    code = "unauthorized"


class Denied(RegistryError):
    """The credentials were accepted but do not grant the operation (a token without that scope)."""

    code = "denied"


class ManifestUnknown(RegistryError, NotFound):
    """The repository has no manifest with that tag or digest."""

    code = "manifest-unknown"


class BlobUnknown(RegistryError, NotFound):
    """The repository has no blob with that digest."""

    code = "blob-unknown"


class NameUnknown(RegistryError, NotFound):
    """The registry has no repository of that name."""

    code = "name-unknown"


class NotSupported(RegistryError):
    """The registry does not offer this API (for example ``/acr/v1`` on a registry that is not ACR)."""

    code = "not-supported"


class DigestMismatch(RegistryError):
    """Downloaded content does not hash (or measure) to what was asked for or announced."""

    code = "digest-mismatch"


class TooLarge(RegistryError):
    """A response is larger than the limit set for it; it was not read to the end."""

    code = "too-large"


class InvalidResponse(RegistryError):
    """The registry answered with a document that is not what the API describes."""

    code = "invalid-response"


class InvalidManifest(InvalidResponse):
    """A manifest is not valid JSON of a supported manifest type, or its descriptors are malformed."""

    code = "invalid-manifest"


class Throttled(RegistryError):
    """The registry answered 429 Too Many Requests until the retries ran out.

    ``retry_after`` is the delay in seconds the registry asked for, when it said.
    """

    code = "throttled"
    temporary = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        codes: Sequence[str] = (),
    ) -> None:
        super().__init__(message, status=status, codes=codes)
        self.retry_after = retry_after


class RegistryUnavailable(RegistryError):
    """The registry answered with a server error (5xx); the same call may succeed later."""

    code = "registry-unavailable"
    temporary = True


class RegistryUnreachable(RegistryError):
    """No answer: the connection failed or timed out; the same call may succeed later."""

    code = "registry-unreachable"
    temporary = True


class NotARegistry(RegistryError):
    """Something answered, but not like an OCI distribution registry (``GET /v2/``)."""

    code = "not-a-registry"


class TLSFailure(RegistryError):
    """The TLS handshake failed: an untrusted or mismatched certificate, or a server without TLS."""

    code = "tls-failure"


class InsecureNotAllowed(RegistryError):
    """A plain-HTTP URL (or realm, or redirect) was met by a client that only speaks HTTPS."""

    code = "insecure-not-allowed"


def parse_error_codes(body: bytes) -> tuple[tuple[str, ...], str | None]:
    """The error codes of a registry's JSON error body, and the first error's message.

    The body is ``{"errors": [{"code": ..., "message": ..., "detail": ...}]}`` by the distribution
    spec; anything else yields no codes. The message is cut to a short length.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return (), None
    if not isinstance(document, dict):
        return (), None
    errors = document.get("errors")
    if not isinstance(errors, list):
        return (), None
    codes: list[str] = []
    message: str | None = None
    for error in errors:
        if not isinstance(error, dict):
            continue
        code = error.get("code")
        if isinstance(code, str):
            codes.append(code)
        text = error.get("message")
        if message is None and isinstance(text, str) and text:
            message = text[:_MAX_MESSAGE_DETAIL]
    return tuple(codes), message


def error_for_status(
    status: int,
    body: bytes,
    *,
    what: str,
    not_found: type[RegistryError] | None = None,
    retry_after: float | None = None,
) -> RegistryError:
    """The :class:`RegistryError` for a failed response.

    ``what`` names the operation for the message (``"manifest example/app:1.0"``); it must hold no
    secret. ``not_found`` is the class raised for a 404 whose body names no known code.
    """
    codes, detail = parse_error_codes(body)
    suffix = f" ({', '.join(codes)}: {detail})" if codes and detail else (f" ({', '.join(codes)})" if codes else "")
    if status == 404:
        by_code: dict[str, type[RegistryError]] = {
            "MANIFEST_UNKNOWN": ManifestUnknown,
            "BLOB_UNKNOWN": BlobUnknown,
            "NAME_UNKNOWN": NameUnknown,
        }
        for registry_code in codes:
            if registry_code in by_code:
                return by_code[registry_code](f"{what}: not found{suffix}", status=status, codes=codes)
        return (not_found or RegistryError)(f"{what}: not found (HTTP 404){suffix}", status=status, codes=codes)
    if status == 401:
        return Unauthorized(f"{what}: the registry refused the credentials (HTTP 401){suffix}", status=status, codes=codes)
    if status == 403:
        return Denied(f"{what}: access denied (HTTP 403){suffix}", status=status, codes=codes)
    if status == 413:
        return TooLarge(f"{what}: the registry says the request is too large (HTTP 413){suffix}", status=status, codes=codes)
    if status == 429:
        wait = f"; it asked to wait {retry_after:g}s" if retry_after is not None else ""
        return Throttled(
            f"{what}: the registry is throttling requests (HTTP 429){wait}{suffix}",
            retry_after=retry_after,
            status=status,
            codes=codes,
        )
    if status >= 500:
        return RegistryUnavailable(f"{what}: the registry failed (HTTP {status}){suffix}", status=status, codes=codes)
    return RegistryError(f"{what}: unexpected HTTP {status}{suffix}", status=status, codes=codes)
