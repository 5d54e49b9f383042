"""What the webhook must answer and queue for a delivery: an independent model, and the inputs that probe it.

The model is written from the Event Grid contract (``shared/reference/eventgrid.md``) and the grammars
of the distribution spec, not from the webhook's code: a job may only come from an
``ImagePushed``/``ImageDeleted`` event whose id is 1 to 256 printable ASCII characters, whose
``data.request.host`` is the integration's registry, whose repository, digest, tag and media type
follow their grammars, and (for a push) whose repository is activated; each event id is queued at
most once, ever. :class:`JobModel` keeps the ids already queued and predicts the exact jobs of a
delivery that was answered 200.

The strategies build deliveries from the real Event Grid samples (mutated field by field), from
JSON-ish text (deep nesting, huge numbers, duplicate keys, lone surrogates, odd unicode) and from raw
bytes, and credentials (integration id and secret) in right and wrong variants.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from shared.intake.eventgrid import MAX_DELIVERY_BYTES, MAX_EVENTS_PER_DELIVERY, MAX_NESTING
from shared.intake.jobs import Job

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "eventgrid-samples"

REGISTRY = "demo.azurecr.io"
"""The registry of the samples (``data.request.host``), and of the integration the fuzzing targets."""

ACTIVATED = ("aci-helloworld", "lookout/fuzz")
"""Repositories activated for that integration: pushes to others are dropped, not queued."""

IMAGE_PUSHED = "Microsoft.ContainerRegistry.ImagePushed"
IMAGE_DELETED = "Microsoft.ContainerRegistry.ImageDeleted"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"

_EVENT_ID = re.compile(r"[!-~]{1,256}")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
"""How every time Lookout stores looks, so that comparing times as text orders them."""
# RFC 6838 restricted-name, type "/" subtype, no parameters.
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
_MAX_TEXT = 1024
_MAX_REPOSITORY = 255

ANSWERS = frozenset({200, 400, 401, 413, 503})
"""Every status the webhook may give Event Grid (503 only while another delivery holds an event)."""

COUNTERS = ("accepted", "duplicates", "ignored", "dropped", "refused", "invalid", "in_flight", "stale")


def load_samples() -> list[dict[str, Any]]:
    """Every event of every sample file, in file order."""
    events: list[dict[str, Any]] = []
    for path in sorted(SAMPLES.glob("*.json")):
        document = json.loads(path.read_text())
        if isinstance(document, list):
            events.extend(item for item in document if isinstance(item, dict) and "id" in item)
    return events


@dataclass(frozen=True)
class ExpectedJob:
    """The job fields an event must produce."""

    kind: str
    repository: str
    digest: str
    tag: str | None
    media_type: str | None

    @staticmethod
    def of(job: Job) -> ExpectedJob:
        return ExpectedJob(job.kind, job.repository, job.digest, job.tag, job.media_type)


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_TEXT


def event_type(item: dict[str, Any]) -> object:
    """The event's type: ``eventType`` (Event Grid schema), else ``type`` (CloudEvents)."""
    return item.get("eventType", item.get("type"))


SAMPLE_EVENTS = load_samples()
IMAGE_EVENTS = [event for event in SAMPLE_EVENTS if event_type(event) in (IMAGE_PUSHED, IMAGE_DELETED)]


def grammatical_job(item: object, registry: str) -> ExpectedJob | None:
    """The job an event stands for when every field follows its grammar and it is for ``registry``; else None."""
    if not isinstance(item, dict):
        return None
    kind = {IMAGE_PUSHED: "push", IMAGE_DELETED: "delete"}.get(str(event_type(item)))
    event_id = item.get("id")
    if kind is None or not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        return None
    data = item.get("data")
    if not isinstance(data, dict):
        return None
    target, request = data.get("target"), data.get("request")
    if not isinstance(target, dict) or not isinstance(request, dict):
        return None
    host = request.get("host")
    if not _text(host) or str(host).strip().lower() != registry:
        return None
    repository, digest, tag, media_type = (target.get(k) for k in ("repository", "digest", "tag", "mediaType"))
    if not isinstance(repository, str) or len(repository) > _MAX_REPOSITORY or not _REPOSITORY.fullmatch(repository):
        return None
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        return None
    if tag is not None and not isinstance(tag, str):
        return None
    if kind == "push" and tag and not _TAG.fullmatch(tag):
        return None
    if media_type is not None and not (isinstance(media_type, str) and _MEDIA_TYPE.fullmatch(media_type)):
        return None
    return ExpectedJob(kind, repository, digest, tag if kind == "push" and tag else None, media_type)


def strict_json(body: bytes) -> tuple[bool, Any]:
    """``(True, document)`` when ``body`` is strict JSON (UTF-8, no duplicate keys, no NaN/Infinity)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in items}) != len(items):
            raise ValueError("duplicate key")
        return dict(items)

    def constant(name: str) -> Any:
        raise ValueError(name)

    try:
        return True, json.loads(body.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


def nesting(document: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON document (0 for a scalar)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


def predicted_status(body: bytes) -> int:
    """The status the Event Grid contract gives a delivery from an authenticated caller with storage up.

    400 for what is not a delivery (not strict JSON, or nested deeper than the webhook's documented
    limit), 413 for one over the size or batch limits, 200 otherwise (a notification batch or a
    well-formed subscription handshake).
    """
    if len(body) > MAX_DELIVERY_BYTES:
        return 413
    parsed, document = strict_json(body)
    if not parsed or nesting(document) > MAX_NESTING:
        return 400
    if isinstance(document, dict):
        if "specversion" not in document:
            return 400
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        return 400
    if not items:
        return 400
    if len(items) > MAX_EVENTS_PER_DELIVERY:
        return 413
    if not all(isinstance(i, dict) and _text(event_type(i)) and isinstance(i.get("id"), str) for i in items):
        return 400
    if event_type(items[0]) == VALIDATION:
        data = items[0].get("data")
        code = data.get("validationCode") if isinstance(data, dict) else None
        return 200 if len(items) == 1 and _text(code) else 400
    return 200


def delivery_items(body: bytes) -> list[Any]:
    """The events of a delivery the webhook accepted (a batch, or one CloudEvents object)."""
    document = json.loads(body)
    return document if isinstance(document, list) else [document]


@dataclass
class JobModel:
    """The jobs deliveries to one integration must queue, given the event ids queued before."""

    registry: str = REGISTRY
    activated: frozenset[str] = frozenset(ACTIVATED)
    queued_ids: set[str] = field(default_factory=set)

    def expect(self, items: list[Any]) -> dict[str, ExpectedJob]:
        """Event id → job for the events of an accepted notification batch that must be queued now."""
        expected: dict[str, ExpectedJob] = {}
        for item in items:
            job = grammatical_job(item, self.registry)
            if job is None or (job.kind == "push" and job.repository not in self.activated):
                continue
            event_id = item["id"]
            if event_id in expected or event_id in self.queued_ids:
                continue
            expected[event_id] = job
        return expected

    def note(self, queued: dict[str, ExpectedJob]) -> None:
        self.queued_ids.update(queued)


def check_reply(status: int, body: bytes, method: str) -> dict[str, Any] | None:
    """Assert the shape every webhook answer must have; return its JSON body (None for an empty 200 handshake)."""
    assert status in ANSWERS, (status, body[:300])
    if method == "OPTIONS" and status == 200 and not body:
        return None
    reply = json.loads(body)
    assert isinstance(reply, dict), reply
    if status in (400, 401, 413):
        error = reply["error"]
        assert isinstance(error["code"], str) and error["code"], reply
        assert isinstance(error["message"], str) and error["message"].strip(), reply
    elif status == 503:
        assert reply.get("in_flight", 0) >= 1, reply
        assert reply["error"]["message"], reply
    elif "validationResponse" not in reply:
        assert all(isinstance(reply.get(name), int) and reply[name] >= 0 for name in COUNTERS), reply
        if reply["invalid"]:
            assert reply["reasons"] and all(r["reason"] for r in reply["reasons"]), reply
    return reply


# -- strategies ------------------------------------------------------------------------------------

_ODD_STRINGS = [
    "", " ", "\x00", "\t\n", "../../etc/passwd", "/abs/path", "a" * 300, "€" * 100, "\u202e", "\ufeff",
    "\ufb00", "\u0130", "\u212b", "\u0663\u0664", "\U0001d7d8\U0001d7d9", "\U0001f600", "DEMO.AZURECR.IO",
    " demo.azurecr.io ", "demo.azurecr.io:443",
    "sha256:" + "A" * 64, "sha256:" + "0" * 63, "sha512:" + "0" * 128, "sha256:" + "0" * 64 + "\n",
    "v1\n", "-tag", ".tag", "t" * 129, "aci-helloworld/", "Aci-helloworld", "a__b", "a___b", "a--b", "a-",
    "application/vnd.oci.image.index.v1+json", "text/html; charset=utf-8", "x/" + "y" * 200,
    IMAGE_PUSHED, IMAGE_DELETED, VALIDATION, "Microsoft.ContainerRegistry.ImagePushed ",
]

odd_text = st.one_of(st.sampled_from(_ODD_STRINGS), st.text(max_size=40), st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc", "Cf", "Mn")), max_size=60))
"""Strings that test grammars: near misses, unicode look-alikes, control and format characters."""

_DIGESTS = st.one_of(st.just("sha256:213bbc182920ab41e18edc2001e06abcca6735d87782d9cef68abd83941cf0e5"),
                     st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()))
_REPOSITORIES = st.one_of(st.sampled_from(ACTIVATED), st.from_regex(_REPOSITORY, fullmatch=True).filter(
    lambda r: len(r) <= 300))
_TAGS = st.one_of(st.just("v1"), st.from_regex(_TAG, fullmatch=True), st.none())
_TIMES = st.one_of(
    st.sampled_from(["2018-04-25T21:39:47.6549614Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                     "0009-01-01T00:00:00Z", "2018-04-25", "2018-04-25T21:39:47", "25/04/2018", "now"]),
    st.builds(lambda moment, offset: moment.isoformat() + offset, st.datetimes(),
              st.sampled_from(["", "Z", "+14:00", "-14:00", "+05:30", "-23:59"])),
)
_MEDIA_TYPES = st.one_of(st.just("application/vnd.docker.distribution.manifest.v2+json"),
                         st.from_regex(_MEDIA_TYPE, fullmatch=True), st.none())

odd_values: st.SearchStrategy[Any] = st.one_of(
    odd_text, st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(odd_text, max_size=3), st.dictionaries(odd_text, odd_text, max_size=3), _DIGESTS, _REPOSITORIES, _TAGS,
)
"""Any JSON value a field might hold instead of the right one (or one that is right by chance)."""

event_ids = st.one_of(
    st.uuids().map(str),
    st.from_regex(_EVENT_ID, fullmatch=True),
    st.sampled_from(["", " ", "a b", "x" * 256, "x" * 257, "%" * 256, "é", "id\n", "\x7f", "831e1650"]),
    st.text(max_size=20),
)

_sometimes = st.sampled_from([False, False, False, True])
_rarely = st.sampled_from([False] * 15 + [True])

_FIELDS: list[tuple[str, ...]] = [
    ("id",), ("eventType",), ("type",), ("specversion",), ("eventTime",), ("time",), ("data",),
    ("data", "target"), ("data", "request"), ("data", "request", "host"),
    ("data", "target", "repository"), ("data", "target", "digest"), ("data", "target", "tag"),
    ("data", "target", "mediaType"), ("data", "validationCode"), ("data", "validationUrl"),
]

_GOOD_FIELD_VALUES: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("data", "target", "repository"): _REPOSITORIES,
    ("data", "target", "digest"): _DIGESTS,
    ("data", "target", "tag"): _TAGS,
    ("data", "target", "mediaType"): _MEDIA_TYPES,
    ("id",): event_ids,
    ("eventTime",): _TIMES,
    ("time",): _TIMES,
}


def _set(event: dict[str, Any], path: tuple[str, ...], value: Any, delete: bool) -> None:
    node: Any = event
    for key in path[:-1]:
        if not isinstance(node, dict):
            return
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if not isinstance(node, dict):
        return
    if delete:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A real sample event with a fresh id, perhaps another time, and up to four fields replaced or removed."""
    event: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(IMAGE_EVENTS * 3 + SAMPLE_EVENTS)))
    event["id"] = draw(st.uuids().map(str))
    if draw(_sometimes):
        event["time" if "specversion" in event else "eventTime"] = draw(_TIMES)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3, 4]))):
        path = draw(st.sampled_from(_FIELDS))
        good = _GOOD_FIELD_VALUES.get(path)
        value = draw(good if good is not None and draw(st.booleans()) else odd_values)
        _set(event, path, value, delete=draw(_rarely))
    return event


@st.composite
def sample_deliveries(draw: st.DrawFn) -> bytes:
    """A delivery built from mutated samples: a batch (with repeats), or one CloudEvents object; sometimes too large."""
    events = draw(st.lists(mutated_events(), min_size=1, max_size=6))
    if draw(_sometimes):
        events.append(copy.deepcopy(draw(st.sampled_from(events))))  # an event delivered twice in one batch
    document: Any = events
    if draw(_sometimes):
        document = events[0]
    elif draw(_rarely):
        document = events * (MAX_EVENTS_PER_DELIVERY // len(events) + 1)
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([None, (",", ":")])))
    body = text.encode("utf-8")
    if draw(_rarely):
        body = body[:-1] + b" " * (MAX_DELIVERY_BYTES - len(body) + draw(st.integers(-2, 2))) + body[-1:]
    return body


@st.composite
def byte_mutations(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    """A body from ``bodies`` with a few bytes flipped, inserted, deleted or the body cut short."""
    data = bytearray(draw(bodies))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete" and data:
            del data[at]
        elif action == "cut":
            del data[at:]
    return bytes(data)


_KEYS = ["id", "eventType", "type", "specversion", "data", "target", "request", "host", "repository", "digest",
         "tag", "mediaType", "validationCode"]
_SCALARS = st.one_of(
    st.sampled_from(["null", "true", "false", "NaN", "Infinity", "-Infinity", "-0", "1e999", "-1e-999", "0.0",
                     '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\u202e"', '"\\/"', f'"{IMAGE_PUSHED}"',
                     f'"{VALIDATION}"', '"sha256:' + "0" * 64 + '"', f'"{REGISTRY}"']),
    st.integers().map(str),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.text(max_size=20).map(json.dumps),
    st.text(max_size=20).map(lambda s: json.dumps(s, ensure_ascii=False)),
)


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"


json_ish_text: st.SearchStrategy[str] = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(_array),
        st.lists(st.tuples(st.one_of(st.sampled_from(_KEYS), st.text(max_size=8)).map(json.dumps), inner),
                 max_size=6).map(_object),
    ),
    max_leaves=25,
)
"""JSON text with duplicate keys, non-finite and huge numbers, lone surrogates, event-like keys."""


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    """Arrays or objects nested up to 200,000 deep, balanced or not."""
    depth = draw(st.one_of(st.integers(1, 100), st.integers(MAX_NESTING - 2, MAX_NESTING + 2), st.integers(900, 1100),
                           st.integers(10_000, 200_000)))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'[{"id":"x","eventType":"y","d":', b"}]")]))
    core = draw(st.sampled_from([b"1", b"[]", b"{}", b'"x"', b""]))
    balance = draw(st.sampled_from([0, 0, 1, -1]))
    return opener * depth + core + closer * max(depth + balance, 0)


json_ish_bodies = st.one_of(
    json_ish_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.lists(json_ish_text, min_size=1, max_size=4).map(lambda items: _array(items).encode("utf-8", "surrogatepass")),
    deep_nesting(),
)

raw_bodies = st.one_of(
    st.binary(max_size=2048),
    st.sampled_from([b"", b"[]", b"{}", b"null", b"\xef\xbb\xbf[]", b"\xff\xfe[\x00]\x00", b"[" + b" " * 2000 + b"]"]),
)


@dataclass(frozen=True)
class Credentials:
    """The query parameters of a delivery and whether they name the integration with its secret."""

    params: dict[str, str]
    valid: bool


@st.composite
def credentials(draw: st.DrawFn, integration_id: str, secret: str) -> Credentials:
    """The ``integration`` and ``secret`` parameters, right (most often) or wrong in one of many ways."""
    ids = {
        "right": integration_id, "wrong": "f" * len(integration_id), "upper": integration_id.upper(),
        "longer": integration_id + "0", "unicode": integration_id[:-1] + "٣", "quote": integration_id + "'",
        "slash": integration_id + "/x", "hash": "#" + integration_id, "control": integration_id + "\x01",
        "empty": "", "odd": draw(odd_text),
    }
    secrets = {
        "right": secret, "wrong": secret[:-1] + ("A" if secret[-1] != "A" else "B"), "prefix": secret[:-1],
        "suffix": secret + "x", "long": secret * 10, "case": secret.swapcase(), "empty": "", "odd": draw(odd_text),
        "spaced": f" {secret} ",
    }
    which = draw(st.integers(0, 9))  # mostly right, so that bodies get parsed; else a wrong id, secret, or both
    id_choice = "right" if which < 7 or which == 8 else draw(st.sampled_from([*ids, "missing"]))
    secret_choice = "right" if which < 8 else draw(st.sampled_from([*secrets, "missing"]))
    params: dict[str, str] = {}
    if id_choice != "missing":
        params["integration"] = ids[id_choice]
    if secret_choice != "missing":
        params["secret"] = secrets[secret_choice]
    valid = params.get("integration") == integration_id and params.get("secret") == secret
    return Credentials(params, valid)


headers = st.fixed_dictionaries({}, optional={
    "aeg-event-type": st.sampled_from(["Notification", "SubscriptionValidation", "SubscriptionDeletion", "", "x"]),
    "Content-Type": st.sampled_from(["application/json", "application/cloudevents-batch+json; charset=utf-8",
                                     "text/plain", "multipart/form-data; boundary=x"]),
    "WebHook-Request-Origin": st.sampled_from(["eventgrid.azure.net", "", "x" * 300]),
})
"""Delivery headers Event Grid sends (and some it does not); the webhook must not depend on them."""
