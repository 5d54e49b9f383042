"""Diff-ID chains: keys, prefixes longest first, validation."""

from __future__ import annotations

import hashlib

import pytest

from shared.bases.chains import MAX_LAYERS, chain_key, prefix_keys, validate_chain
from shared.errors import InvalidInput


def diff_id(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def test_a_chain_key_depends_on_every_diff_id_and_their_order() -> None:
    a, b, c = diff_id(1), diff_id(2), diff_id(3)
    assert chain_key([a, b]) == chain_key([a, b])
    assert len({chain_key([a, b]), chain_key([b, a]), chain_key([a]), chain_key([a, b, c])}) == 4
    assert len(chain_key([a])) == 64 and chain_key([a]).isalnum()


def test_prefix_keys_are_the_keys_of_every_proper_prefix_longest_first() -> None:
    chain = [diff_id(n) for n in range(5)]
    assert prefix_keys(chain) == [(k, chain_key(chain[:k])) for k in (4, 3, 2, 1)]
    assert prefix_keys(chain[:1]) == []


def test_the_largest_image_costs_one_key_per_layer() -> None:
    chain = [diff_id(n) for n in range(MAX_LAYERS)]
    keys = prefix_keys(chain)
    assert len(keys) == MAX_LAYERS - 1
    assert keys[0] == (MAX_LAYERS - 1, chain_key(chain[:-1])) and keys[-1] == (1, chain_key(chain[:1]))


def test_validation_names_the_diff_id_at_fault() -> None:
    assert validate_chain([diff_id(1)]) == (diff_id(1),)
    with pytest.raises(InvalidInput, match=r"^x\[1\]: not a diff ID"):
        validate_chain([diff_id(1), "sha256:ABC"], "x")
    with pytest.raises(InvalidInput, match="at least one"):
        validate_chain([])
    with pytest.raises(InvalidInput, match="more than the 512"):
        validate_chain([diff_id(n) for n in range(MAX_LAYERS + 1)])
