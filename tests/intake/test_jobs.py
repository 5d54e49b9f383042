"""Job documents: round trip and refusal of anything that is not a job."""

from __future__ import annotations

import json

import pytest

from shared.intake.jobs import InvalidJob, Job, decode_job, encode_job

DIGEST = "sha256:" + "a" * 64


def job(**changes: object) -> Job:
    values: dict[str, object] = {"kind": "push", "integration_id": "abc", "registry": "r.azurecr.io",
                                 "repository": "team/app", "digest": DIGEST, "tag": "1.0", "event_time": "t"}
    values.update(changes)
    return Job(**values)  # type: ignore[arg-type]


def test_round_trip() -> None:
    original = job()
    text = encode_job(original)
    assert json.loads(text)["v"] == 1
    assert decode_job(text) == original
    assert decode_job(text.encode()) == original
    assert original.key == f"r.azurecr.io/team/app@{DIGEST}"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"v": 2, "kind": "push"}),
        encode_job(job()).replace('"push"', '"explode"'),
        encode_job(job()).replace(DIGEST, "sha256:short"),
        json.dumps({**json.loads(encode_job(job())), "extra": 1}),
        json.dumps({k: v for k, v in json.loads(encode_job(job())).items() if k != "repository"}),
        json.dumps({**json.loads(encode_job(job())), "tag": 5}),
        "x" * 20000,
    ],
)
def test_refuses_non_jobs(text: str) -> None:
    with pytest.raises(InvalidJob):
        decode_job(text)
