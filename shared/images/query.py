"""Read side of image records: resolve a tag or digest and shape the API's JSON."""

from __future__ import annotations

import re
from typing import Any

from shared.errors import InvalidInput
from shared.images.model import ImageRecord
from shared.integrations.model import normalize_registry_host
from shared.services import Services

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")


def validate_repository(value: object) -> str:
    """A repository name per the distribution spec (lower-case path components); InvalidInput otherwise."""
    if not isinstance(value, str) or not value or len(value) > 255 or not _REPOSITORY.match(value):
        raise InvalidInput(f"not a valid repository name: {value!r}")
    return value


def find_image(svc: Services, registry: object, repository: object, reference: object) -> dict[str, Any] | None:
    """The image ``registry/repository`` at tag or digest ``reference`` as API JSON; None when unknown."""
    record = find_record(svc, registry, repository, reference)
    if record is None:
        return None
    return image_json(record, svc.images.tags_of(record.registry, record.repository, record.digest))


def find_record(svc: Services, registry: object, repository: object, reference: object) -> ImageRecord | None:
    """The live record of ``registry/repository`` at tag or digest ``reference``; None when unknown.

    Raises :class:`InvalidInput` for a malformed registry, repository or reference.
    """
    host = normalize_registry_host(registry)
    repo = validate_repository(repository)
    if not isinstance(reference, str) or not reference:
        raise InvalidInput("'reference' must be a tag or a sha256 digest")
    if _DIGEST.match(reference):
        digest = reference
    elif _TAG.match(reference):
        tag = svc.images.get_tag(host, repo, reference)
        if tag is None:
            return None
        digest = tag.digest
    else:
        raise InvalidInput(f"'reference' is neither a tag nor a sha256 digest: {reference!r}")
    record = svc.images.get(host, repo, digest)
    if record is None or record.status == "deleted":
        return None
    return record


def image_json(record: ImageRecord, tags: list[str]) -> dict[str, Any]:
    """The API representation of an image record."""
    return {
        "registry": record.registry,
        "repository": record.repository,
        "digest": record.digest,
        "media_type": record.media_type,
        "size": record.size,
        "tags": tags,
        "status": record.status,
        "error": {"code": record.error_code, "message": record.error} if record.error_code else None,
        "vulnerabilities": dict(record.vulnerabilities),
        "fixable": record.fixable,
        "platforms": [p.to_json() for p in record.platforms],
        "event_time": record.event_time,
        "received": record.received,
        "analyzed": record.analyzed,
        "duration_ms": record.duration_ms,
        "attempts": record.attempts,
    }
