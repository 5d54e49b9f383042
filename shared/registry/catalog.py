"""A registry's repositories: listing them, their tags with digests, and the latest image of each.

Listing prefers ACR's ``/acr/v1/_catalog`` and falls back to ``/v2/_catalog``. The latest image of a
repository is the first tag of ACR's ``/acr/v1/<repo>/_tags?orderby=timedesc``; registries without
the ACR API are asked for every tag's config, and the newest ``created`` wins. A repository's tags
with their digests (:func:`tagged_digests`) come from the same ACR listing, which carries them, or
else from ``/v2/<repo>/tags/list`` and a manifest ``HEAD`` per tag; :func:`manifest_exists` asks
whether a manifest is still there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from shared.clock import normalize_time
from shared.errors import LookoutError
from shared.registry import mediatypes
from shared.registry.client import RegistryClient, RegistryResponse
from shared.registry.errors import InvalidReference, ManifestUnknown, NameUnknown, NotSupported
from shared.registry.model import Manifest, is_attestation
from shared.registry.reference import Digest, validate_repository, validate_tag

log = logging.getLogger(__name__)

MAX_REPOSITORIES = 10_000
"""A listing stops here; larger registries are listed partially (``truncated``)."""

MAX_TAGS_SCANNED = 200
"""Without the ACR API, at most this many tags are inspected to find the newest image."""

MAX_TAGS_LISTED = 1_000
"""The default bound of :func:`tagged_digests`: tags resolved to digests per call."""


@dataclass(frozen=True)
class LatestImage:
    """The newest tagged image of a repository: its tag and manifest digest."""

    tag: str
    digest: str


@dataclass(frozen=True)
class TaggedDigest:
    """A tag and the manifest digest it points at.

    ``updated`` is when the tag last moved (ACR's ``lastUpdateTime``, else its ``createdTime``) as a
    canonical UTC time; "" when the registry does not say (the OCI API has no times).
    """

    tag: str
    digest: str
    updated: str = ""


@dataclass(frozen=True)
class TagListing:
    """Tags of one repository with their digests.

    ``complete`` is false when the repository has more tags than were asked for; ``acr`` is true when
    they were read with ACR's ``/acr/v1`` API (false: the OCI API, the registry has no ACR API).
    """

    tags: tuple[TaggedDigest, ...]
    complete: bool
    acr: bool


def tagged_digests(client: RegistryClient, repository: str, limit: int = MAX_TAGS_LISTED, *,
                   acr: bool = True) -> TagListing:
    """At most ``limit`` tags of ``repository`` with the digests they point at.

    With ``acr`` (and a registry that has the ACR API): the newest ``limit`` tags of
    ``/acr/v1/<repo>/_tags?orderby=timedesc``, newest first, with their times, at one request per
    100 tags. Otherwise, or when the registry has no ACR API: the first ``limit`` tags of
    ``/v2/<repo>/tags/list`` in the registry's order, each resolved by a manifest ``HEAD`` (a ``GET``
    when the ``HEAD`` names no digest), at one request per tag. A repository the registry does not
    know has no tags; a tag removed between the listing and its ``HEAD`` is left out, as are records
    whose name or digest is malformed. Other failures raise :class:`~shared.registry.errors.RegistryError`.
    """
    validate_repository(repository)
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if acr:
        try:
            return _acr_tagged_digests(client, repository, limit)
        except NotSupported:
            log.debug("no ACR tags API on %s; resolving the tags of %s one by one", client.host, repository)
    tags: list[TaggedDigest] = []
    try:
        for name in client.tags(repository):
            if len(tags) >= limit:
                return TagListing(tuple(tags), complete=False, acr=False)
            digest = _tag_digest(client, repository, name)
            if digest is not None:
                tags.append(TaggedDigest(name, digest))
    except NameUnknown:
        return TagListing((), complete=True, acr=False)
    return TagListing(tuple(tags), complete=True, acr=False)


def _acr_tagged_digests(client: RegistryClient, repository: str, limit: int) -> TagListing:
    tags: list[TaggedDigest] = []
    try:
        for record in client.acr_tags(repository, orderby="timedesc"):
            name, digest = record.get("name"), record.get("digest")
            if not isinstance(name, str) or not _valid_tag(name) or not isinstance(digest, str) or not Digest.is_valid(digest):
                log.warning("a tag record of %s without a usable name or digest was skipped", repository)
                continue
            if len(tags) >= limit:
                return TagListing(tuple(tags), complete=False, acr=True)
            tags.append(TaggedDigest(name, digest, _record_time(record)))
    except NameUnknown:
        return TagListing((), complete=True, acr=True)
    return TagListing(tuple(tags), complete=True, acr=True)


def _record_time(record: dict[str, object]) -> str:
    for key in ("lastUpdateTime", "createdTime"):
        value = record.get(key)
        if isinstance(value, str) and (moment := normalize_time(value)):
            return moment
    return ""


def _tag_digest(client: RegistryClient, repository: str, tag: str) -> str | None:
    """The digest ``tag`` points at now; None when the tag is gone or malformed."""
    if not _valid_tag(tag):
        log.warning("a malformed tag of %s was skipped", repository)
        return None
    response = _head_manifest(client, repository, tag)
    if response is None:
        return None
    announced = response.headers.get("Docker-Content-Digest")
    if announced is not None and Digest.is_valid(announced):
        return announced
    try:
        return str(client.get_manifest(repository, tag).digest)
    except (ManifestUnknown, NameUnknown):
        return None


def _valid_tag(tag: str) -> bool:
    try:
        validate_tag(tag)
    except InvalidReference:
        return False
    return True


def manifest_exists(client: RegistryClient, repository: str, digest: str | Digest) -> bool:
    """Whether the registry still has the manifest ``digest`` in ``repository`` (one ``HEAD``).

    False when it answers 404 (no such manifest, or no such repository); other failures raise
    :class:`~shared.registry.errors.RegistryError`.
    """
    validate_repository(repository)
    reference = digest if isinstance(digest, Digest) else Digest(digest)
    return _head_manifest(client, repository, str(reference)) is not None


def _head_manifest(client: RegistryClient, repository: str, reference: str) -> RegistryResponse | None:
    """``HEAD /v2/<repo>/manifests/<reference>``: the answer, or None for a 404."""
    response = client.request("HEAD", f"/v2/{repository}/manifests/{reference}", scopes=(f"repository:{repository}:pull",),
                              headers={"Accept": mediatypes.ACCEPT}, ok=(200, 404))
    return None if response.status == 404 else response


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
