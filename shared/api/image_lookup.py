"""Read side of image records: resolve a tag or digest and shape the API's JSON."""

from __future__ import annotations

from typing import Any

from shared.errors import InvalidInput
from shared.images.model import ImageRecord
from shared.integrations.model import normalize_registry_host
from shared.records import ImageRecords
from shared.registry.reference import Digest, parse_tag_or_digest, validate_repository


def find_image(images: ImageRecords, registry: object, repository: object, reference: object) -> dict[str, Any] | None:
    """The image ``registry/repository`` at tag or digest ``reference`` as API JSON; None when unknown."""
    record = find_record(images, registry, repository, reference)
    if record is None:
        return None
    return image_json(record, images.tags_of(record.registry, record.repository, record.digest))


def find_record(images: ImageRecords, registry: object, repository: object, reference: object) -> ImageRecord | None:
    """The live record of ``registry/repository`` at tag or digest ``reference``; None when unknown.

    Raises :class:`InvalidInput` for a malformed registry, repository or reference.
    """
    host = normalize_registry_host(registry)
    if not isinstance(repository, str) or not isinstance(reference, str) or not reference:
        raise InvalidInput("'repository' and 'reference' (a tag or a sha256 digest) are required")
    repo = validate_repository(repository)
    parsed = parse_tag_or_digest(reference)
    if isinstance(parsed, Digest):
        digest = str(parsed)
    else:
        tag = images.get_tag(host, repo, parsed)
        if tag is None:
            return None
        digest = tag.digest
    record = images.get(host, repo, digest)
    if record is None or record.status == "deleted":
        return None
    return record


def image_json(record: ImageRecord, tags: list[str]) -> dict[str, Any]:
    """The API representation of an image record; ``warnings`` are its platforms' coverage warnings, each once
    (packages the advisory snapshot held nothing for: their zero is not a clean bill)."""
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
        "policy": dict(record.policy),
        "attestations": list(record.attestations) if record.attestations is not None else None,
        "warnings": list(dict.fromkeys(w for p in record.platforms for w in p.advisory_warnings)),
        "platforms": [p.to_json() for p in record.platforms],
        "event_time": record.event_time,
        "received": record.received,
        "analyzed": record.analyzed,
        "duration_ms": record.duration_ms,
        "attempts": record.attempts,
    }
