"""The public bases document of ``lookout bases import``: accepted as documented, refused with the field at fault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.bases.public import MAX_DOCUMENT_BYTES, parse_document
from shared.errors import InvalidInput

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
DIGEST = "sha256:" + "a" * 64


def document(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"bases": list(entries)}).encode()


def entry(**changes: Any) -> dict[str, Any]:
    return {"name": "library/debian", "tag": "bookworm", "digest": DIGEST, "diff_ids": [D1, D2], **changes}


def test_a_document_gives_its_bases() -> None:
    (debian, dotnet) = parse_document(document(entry(), entry(name="mcr.microsoft.com/dotnet/runtime", tag="8.0",
                                                              platform="linux/arm64/v8", diff_ids=[D1])))
    assert (debian.name, debian.tag, debian.digest, debian.diff_ids, debian.platform) == (
        "library/debian", "bookworm", DIGEST, (D1, D2), "")
    assert (dotnet.name, dotnet.platform, dotnet.diff_ids) == ("mcr.microsoft.com/dotnet/runtime", "linux/arm64/v8", (D1,))


@pytest.mark.parametrize(("data", "message"), [
    (b"{", r"not JSON: line 1 column 2"),
    (b"[]", r'a "bases" list'),
    (document(entry(tag="-bad")), r"^bases\[0\]\.tag: invalid tag"),
    (document(entry(), entry(name="Library/Debian")), r"^bases\[1\]\.name: invalid repository name"),
    (document(entry(digest="sha256:12")), r"^bases\[0\]\.digest: malformed digest"),
    (document(entry(diff_ids=[D1, "nope"])), r"^bases\[0\]\.diff_ids\[1\]: not a diff ID"),
    (document(entry(diff_ids=D1)), r"^bases\[0\]\.diff_ids: must be a list"),
    (document(entry(diff_ids=[])), r"^bases\[0\]\.diff_ids: at least one"),
    (document({"name": "library/debian", "tag": "12", "digest": DIGEST}), r"^bases\[0\]\.diff_ids: required"),
    (document(entry(size=3)), r"^bases\[0\]\.size: unknown field"),
    (document(entry(platform="linux")), r"^bases\[0\]\.platform: expected os/architecture"),
    (document(entry(), entry()), r"^bases\[1\]: library/debian:bookworm is already bases\[0\]"),
    (document(entry(name=7)), r"^bases\[0\]\.name: must be a string"),
    (b"\xff", "not UTF-8"),
])  # fmt: skip
def test_a_wrong_document_is_refused_naming_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_document(data)


def test_the_document_size_is_bounded() -> None:
    with pytest.raises(InvalidInput, match="larger than"):
        parse_document(b" " * (MAX_DOCUMENT_BYTES + 1))
