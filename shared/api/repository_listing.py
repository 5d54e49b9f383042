"""The repositories of one integration (or of all), with their newest image: ``GET /api/repositories``.

Also the one way the summaries it reads are kept: :func:`refresh_repository`, which the worker calls
whenever an image record or tag of a repository changes, the re-match after an advisory update, and
the integration use cases when a repository is activated or deactivated.
"""

from __future__ import annotations

import json
from typing import Any

from shared.api.paging import Continuations, parse_limit
from shared.errors import InvalidContinuation, InvalidInput, NotFound
from shared.images.listing import LatestImage, RepositorySummary
from shared.integrations.model import Integration
from shared.records import ImageRecords, IntegrationRecords, RepositorySummaries

COUNTED_LEVELS = ("critical", "high", "medium", "low", "none", "unknown")
"""The severity levels a repository's newest image shows counts for (absent ones count 0)."""

MAX_INTEGRATION_ID = 64


def refresh_repository(images: ImageRecords, summaries: RepositorySummaries, registry: str, repository: str,
                       enabled: bool | None = None) -> RepositorySummary | None:
    """Recompute the summary of ``registry/repository`` from its image records; set its activation to ``enabled``
    when given (a repository first seen through an image counts as activated: only those get images).

    A repository that is neither activated nor has a live image loses its summary. Concurrent
    refreshes are safe: each reads the images after the summary it replaces.
    """

    def change(current: RepositorySummary | None) -> RepositorySummary | None:
        on = enabled if enabled is not None else (current.enabled if current is not None else True)
        count = images.count_live(registry, repository)
        if count == 0 and not on:
            return None
        newest = images.list_pushed(registry, repository, 1).items
        latest = None
        if newest:
            latest = LatestImage.of(newest[0], images.tags_for(registry, repository, [newest[0].digest])[newest[0].digest])
        return RepositorySummary(registry=registry, repository=repository, enabled=on, images=count, latest=latest)

    return summaries.update(registry, repository, change)


def repository_json(integration_id: str, summary: RepositorySummary) -> dict[str, Any]:
    """The API representation of a repository summary."""
    latest = summary.latest
    return {
        "integration": integration_id,
        "registry": summary.registry,
        "repository": summary.repository,
        "enabled": summary.enabled,
        "images": summary.images,
        "last_push": summary.last_push,
        "latest": None if latest is None else {
            "digest": latest.digest,
            "tags": list(latest.tags),
            "status": latest.status,
            "vulnerabilities": {level: int(latest.vulnerabilities.get(level, 0)) for level in COUNTED_LEVELS},
            "fixable": latest.fixable,
        },
    }


def list_repositories(integrations: IntegrationRecords, summaries: RepositorySummaries, continuations: Continuations,
                      integration_id: object = None, limit: object = None, continuation: object = None) -> dict[str, Any]:
    """``{"repositories": [...], "continuation"}``: the repositories of integration ``integration_id`` (of every
    integration, by registry, when None), activated ones first, each group by name.

    Reads the integration's registry partition of the summaries. Raises :class:`NotFound` for an
    unknown integration and :class:`InvalidInput` for a malformed id or limit.
    """
    size = parse_limit(limit)
    if integration_id is None or integration_id == "":
        chosen = sorted(integrations.list(), key=lambda i: i.registry)
        scope: tuple[str, ...] = ("repositories", "*")
    else:
        if not isinstance(integration_id, str) or len(integration_id) > MAX_INTEGRATION_ID:
            raise InvalidInput("'integration' must be an integration id")
        found = integrations.get(integration_id)
        if found is None:
            raise NotFound(f"no integration {integration_id!r}")
        chosen, scope = [found], ("repositories", found.id)
    start, store_cursor = _resume(continuations.open(continuation, scope), chosen)
    rows: list[dict[str, Any]] = []
    for position in range(start, len(chosen)):
        integration = chosen[position]
        page = summaries.list(integration.registry, size - len(rows), store_cursor if position == start else None)
        rows.extend(repository_json(integration.id, summary) for summary in page.items)
        if page.cursor is not None:
            return {"repositories": rows, "continuation": continuations.seal(
                json.dumps([integration.registry, page.cursor]), scope)}
        if len(rows) == size and position + 1 < len(chosen):
            return {"repositories": rows, "continuation": continuations.seal(
                json.dumps([chosen[position + 1].registry, None]), scope)}
    return {"repositories": rows, "continuation": None}


def _resume(cursor: str | None, chosen: list[Integration]) -> tuple[int, str | None]:
    """(position in ``chosen`` to start at, the store's cursor there) of a listing cursor ``[registry, cursor]``.

    An integration removed since the previous page is skipped: the listing goes on with the next registry.
    """
    if cursor is None:
        return 0, None
    registry, store_cursor = json.loads(cursor)
    if not isinstance(registry, str) or not (store_cursor is None or isinstance(store_cursor, str)):
        raise InvalidContinuation("the continuation token is not one this listing handed out")
    for position, integration in enumerate(chosen):
        if integration.registry == registry:
            return position, store_cursor
        if integration.registry > registry:
            return position, None
    return len(chosen), None
