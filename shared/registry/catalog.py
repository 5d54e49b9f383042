"""A registry's repositories: listing them, and finding the latest image of each.

Listing prefers ACR's ``/acr/v1/_catalog`` and falls back to ``/v2/_catalog``. The latest image of a
repository is the first tag of ACR's ``/acr/v1/<repo>/_tags?orderby=timedesc``; registries without
the ACR API are asked for every tag's config, and the newest ``created`` wins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from shared.clock import normalize_time
from shared.errors import LookoutError
from shared.registry.client import RegistryClient
from shared.registry.errors import NotSupported
from shared.registry.model import Manifest, is_attestation

log = logging.getLogger(__name__)

MAX_REPOSITORIES = 10_000
"""A listing stops here; larger registries are listed partially (``truncated``)."""

MAX_TAGS_SCANNED = 200
"""Without the ACR API, at most this many tags are inspected to find the newest image."""


@dataclass(frozen=True)
class LatestImage:
    """The newest tagged image of a repository: its tag and manifest digest."""

    tag: str
    digest: str


def list_repositories(client: RegistryClient) -> tuple[list[str], bool]:
    """Every repository of the registry, sorted, and whether the listing was truncated."""
    names: list[str] = []
    for name in _catalog(client):
        if len(names) >= MAX_REPOSITORIES:
            return sorted(names), True
        names.append(name)
    return sorted(names), False


def _catalog(client: RegistryClient) -> Iterator[str]:
    try:
        yield from client.acr_catalog()
        return
    except NotSupported:
        log.debug("no ACR catalog API; using /v2/_catalog")
    yield from client.catalog()


def latest_image(client: RegistryClient, repository: str) -> LatestImage | None:
    """The repository's most recently pushed tag, or None when it has no tags."""
    try:
        for record in client.acr_tags(repository, orderby="timedesc"):
            name, digest = record.get("name"), record.get("digest")
            if isinstance(name, str) and isinstance(digest, str):
                return LatestImage(tag=name, digest=digest)
        return None
    except NotSupported:
        log.debug("no ACR tags API; comparing the configs of %s's tags", repository)
    newest: tuple[str, LatestImage] | None = None
    for count, tag in enumerate(client.tags(repository)):
        if count >= MAX_TAGS_SCANNED:
            log.warning("%s has more than %d tags; the newest among the first %d is used", repository,
                        MAX_TAGS_SCANNED, MAX_TAGS_SCANNED)
            break
        try:
            manifest = client.get_manifest(repository, tag)
            created = _created(client, repository, manifest)
        except LookoutError as exc:
            if exc.temporary:
                raise
            log.warning("tag %s of %s skipped: %s", tag, repository, exc.code)
            continue
        if newest is None or created > newest[0]:
            newest = (created, LatestImage(tag=tag, digest=str(manifest.digest)))
    return newest[1] if newest else None


def _created(client: RegistryClient, repository: str, manifest: Manifest) -> str:
    """The ``created`` time of the image's config (for an index: its first platform's); "" when absent."""
    if manifest.is_index:
        children = [c for c in manifest.children() if not is_attestation(c)]
        if not children:
            return ""
        manifest = client.get_manifest(repository, children[0].digest)
    config = manifest.config
    if config is None:
        return ""
    try:
        document = json.loads(client.get_blob(repository, config.digest, max_bytes=4 * 1024 * 1024))
    except ValueError:
        return ""
    created = document.get("created") if isinstance(document, dict) else None
    return normalize_time(created) if isinstance(created, str) else ""
