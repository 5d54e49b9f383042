"""The images of one repository, newest push first: the answer to ``GET /api/images`` without a reference."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.api.image_lookup import image_json
from shared.api.paging import Continuations, parse_limit
from shared.errors import InvalidInput
from shared.integrations.model import normalize_registry_host
from shared.records import ImageRecords
from shared.registry.reference import validate_repository


def list_images(images: ImageRecords, continuations: Continuations, registry: object, repository: object,
                limit: object = None, continuation: object = None) -> dict[str, Any]:
    """``{"images": [image JSON with tags...], "continuation"}``: the repository's live images, newest push first.

    Reads one key range of the repository's push order and the tags of the images listed. Raises
    :class:`InvalidInput` for a malformed registry, repository or limit, and
    :class:`~shared.errors.InvalidContinuation` for a token not handed out for this repository.
    """
    host = normalize_registry_host(registry)
    if not isinstance(repository, str):
        raise InvalidInput("'repository' is required")
    name = validate_repository(repository)
    size = parse_limit(limit)
    scope = ("images", host, name)
    page = images.list_pushed(host, name, size, continuations.open(continuation, scope))
    tags = images.tags_for(host, name, [record.digest for record in page.items])
    return {"images": [image_json(record, tags.get(record.digest, [])) for record in page.items],
            "continuation": continuations.seal(page.cursor, scope)}


def tags_by_image(images: ImageRecords, wanted: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], list[str]]:
    """The tags of each (registry, repository, digest) of ``wanted``, asked once per repository."""
    by_repository: dict[tuple[str, str], list[str]] = {}
    for registry, repository, digest in wanted:
        by_repository.setdefault((registry, repository), []).append(digest)
    return {(registry, repository, digest): tags
            for (registry, repository), digests in by_repository.items()
            for digest, tags in images.tags_for(registry, repository, digests).items()}
