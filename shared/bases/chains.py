"""Layer diff-ID chains and the keys they are filed under.

An image's *chain* is the ordered list of its layers' diff IDs (the sha256 of each uncompressed tar, as
the config's ``rootfs.diff_ids`` lists them). Image B is a base of image A when B's chain is a proper
prefix of A's. Every known image is filed under :func:`chain_key` of its whole chain; finding A's base is
then one point read per prefix of A's chain (:func:`prefix_keys`, longest first), which stays bounded
because an image has at most :data:`MAX_LAYERS` layers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from shared.errors import InvalidInput
from shared.registry.image import MAX_LAYERS

DIFF_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
"""The shape of a diff ID Lookout accepts."""

__all__ = ["DIFF_ID", "MAX_LAYERS", "chain_key", "is_diff_id", "prefix_keys", "validate_chain"]


def is_diff_id(value: object) -> bool:
    """Whether ``value`` is a ``sha256:`` digest of 64 lowercase hex digits."""
    return isinstance(value, str) and DIFF_ID.match(value) is not None


def validate_chain(diff_ids: Sequence[object], where: str = "diff_ids") -> tuple[str, ...]:
    """``diff_ids`` as a chain; raises :class:`InvalidInput` naming ``where`` (and the index at fault) when it is
    empty, longer than :data:`MAX_LAYERS` or holds something that is not a diff ID."""
    if not diff_ids:
        raise InvalidInput(f"{where}: at least one diff ID is required")
    if len(diff_ids) > MAX_LAYERS:
        raise InvalidInput(f"{where}: {len(diff_ids)} diff IDs, more than the {MAX_LAYERS} layers an image may have")
    for index, value in enumerate(diff_ids):
        if not is_diff_id(value):
            raise InvalidInput(f"{where}[{index}]: not a diff ID (sha256: and 64 lowercase hex digits)")
    return tuple(str(value) for value in diff_ids)


def chain_key(diff_ids: Sequence[str]) -> str:
    """The key of a chain: the hex sha256 of its diff IDs joined by newlines (64 characters, Table-key safe).

    Two chains have the same key exactly when they list the same diff IDs in the same order.
    """
    if not diff_ids:
        raise ValueError("an empty chain has no key")
    return hashlib.sha256("\n".join(diff_ids).encode("ascii")).hexdigest()


def prefix_keys(diff_ids: Sequence[str]) -> list[tuple[int, str]]:
    """``(k, chain_key(diff_ids[:k]))`` for every proper prefix, longest first (``k`` = n-1 down to 1).

    Computed incrementally: one hash update per layer, not one hash per prefix.
    """
    keys: list[tuple[int, str]] = []
    digest = hashlib.sha256()
    for k, diff_id in enumerate(diff_ids[:-1], 1):
        if k > 1:
            digest.update(b"\n")
        digest.update(diff_id.encode("ascii"))
        keys.append((k, digest.copy().hexdigest()))
    keys.reverse()
    return keys
