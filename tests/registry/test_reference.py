"""Parsing and validation of references, repository names, tags and digests."""

from __future__ import annotations

import hashlib

import pytest

from shared.errors import InvalidInput
from shared.registry import Digest, InvalidReference, Reference
from shared.registry.reference import parse_tag_or_digest, validate_repository, validate_tag

HEX = "a" * 64
DIGEST = f"sha256:{HEX}"


def test_full_reference() -> None:
    ref = Reference.parse(f"myreg.azurecr.io/team/app:1.0@{DIGEST}")
    assert ref == Reference("myreg.azurecr.io", "team/app", "1.0", Digest(DIGEST))
    assert ref.identifier == DIGEST
    assert ref.name == "myreg.azurecr.io/team/app"
    assert str(ref) == f"myreg.azurecr.io/team/app:1.0@{DIGEST}"


def test_host_with_port_and_no_tag_means_latest() -> None:
    ref = Reference.parse("127.0.0.1:5000/app")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("127.0.0.1:5000", "app", None, None)
    assert ref.identifier == "latest"


def test_tag_after_port() -> None:
    ref = Reference.parse("localhost:5000/a/b/c:v1.2-rc_3")
    assert (ref.registry, ref.repository, ref.tag) == ("localhost:5000", "a/b/c", "v1.2-rc_3")


def test_localhost_is_a_registry() -> None:
    assert Reference.parse("localhost/app").registry == "localhost"


def test_digest_only() -> None:
    ref = Reference.parse(f"r.example/app@{DIGEST}")
    assert ref.tag is None and ref.digest == Digest(DIGEST)


def test_no_registry_is_rejected_unless_defaulted() -> None:
    with pytest.raises(InvalidReference, match="names no registry"):
        Reference.parse("library/alpine:3")
    assert Reference.parse("library/alpine:3", default_registry="r.example").name == "r.example/library/alpine"


def test_invalid_reference_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as raised:
        Reference.parse("r.example/App:1")
    assert raised.value.code == "invalid-reference"
    assert not raised.value.temporary


@pytest.mark.parametrize("name", ["app", "a/b/c", "a.b", "a_b", "a__b", "a-b", "a--b", "a0/b1.c2"])
def test_valid_repository_names(name: str) -> None:
    assert validate_repository(name) == name


@pytest.mark.parametrize("name", ["", "App", "a//b", "/a", "a/", "-a", "a-", "a..b", "a___b", "a b", "a:b", "a" * 256])
def test_invalid_repository_names(name: str) -> None:
    with pytest.raises(InvalidReference):
        validate_repository(name)


@pytest.mark.parametrize("tag", [".x", "-x", "", "a" * 129, "a/b", "a:b"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(InvalidReference, match="invalid tag"):
        validate_tag(tag)


def test_valid_tags() -> None:
    assert validate_tag("A_1.0-x") == "A_1.0-x"
    assert validate_tag("a" * 128) == "a" * 128


def test_digest_of_bytes() -> None:
    digest = Digest.of(b"hello")
    assert digest.value == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert digest.hex == hashlib.sha256(b"hello").hexdigest()
    assert digest.algorithm == "sha256"
    assert str(digest) == digest.value
    assert Digest.from_hex(digest.hex) == digest


def test_unsupported_digest_algorithm_is_named() -> None:
    with pytest.raises(InvalidReference, match="unsupported digest algorithm 'sha512'"):
        Digest("sha512:" + "a" * 128)


@pytest.mark.parametrize(
    "text", ["sha256:" + "A" * 64, "sha256:" + "a" * 63, "sha256:" + "a" * 65, "sha256:" + "g" * 64, HEX, "sha256:"]
)
def test_malformed_digests(text: str) -> None:
    with pytest.raises(InvalidReference, match="malformed digest"):
        Digest(text)
    assert not Digest.is_valid(text)


def test_tag_or_digest() -> None:
    assert parse_tag_or_digest("1.0") == "1.0"
    assert parse_tag_or_digest(DIGEST) == Digest(DIGEST)
    with pytest.raises(InvalidReference):
        parse_tag_or_digest("md5:abc")


def test_reference_with_digest() -> None:
    ref = Reference.parse("r.example/app:1").with_digest(Digest(DIGEST))
    assert str(ref) == f"r.example/app:1@{DIGEST}"
