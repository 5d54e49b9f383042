"""Parsing OSV records from JSON or YAML into :class:`~shared.vulns.model.Advisory`, and back to JSON.

Contract:

- Input is bounded: at most :data:`MAX_RECORD_BYTES` bytes, :data:`MAX_NODES` JSON values and
  :data:`MAX_DEPTH` levels of nesting (YAML aliases cannot blow a small file up past that).
- YAML is read with PyYAML's safe loader (the libyaml one when available), with one change: floats
  and timestamps are not resolved, so an unquoted ``1.10`` stays the string ``"1.10"`` and dates stay
  strings, exactly as the same record reads from JSON.
- A record that breaks the schema raises :class:`~shared.vulns.errors.InvalidAdvisory`; callers that
  read many records turn that into a :class:`~shared.vulns.problems.Problem` and go on.
- ``digest`` is the SHA-256 of the record's canonical JSON (sorted keys, no whitespace), taken over
  the mapping as read, so the same record gives the same digest from JSON, YAML or a zip.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, cast

import yaml

from shared.vulns.errors import InvalidAdvisory
from shared.vulns.model import (
    EMPTY_OBJECT,
    EVENT_KINDS,
    RANGE_GIT,
    Advisory,
    Affected,
    Event,
    EventKind,
    OsvPackage,
    Range,
    Reference,
    Severity,
)

MAX_RECORD_BYTES = 2 * 1024 * 1024
"""The largest record accepted, in bytes of JSON or YAML."""
MAX_NODES = 250_000
"""The most JSON values (objects, arrays, scalars) one record may contain."""
MAX_DEPTH = 32
"""The deepest nesting of objects and arrays in a record."""
MAX_ID_CHARS = 128
MAX_VERSION_CHARS = 256
MAX_NAME_CHARS = 1024

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]*")
_FRACTION = re.compile(r"(\.\d{6})\d+")

try:  # pragma: no branch - which loader exists depends on how PyYAML was built
    _BaseLoader: type[yaml.SafeLoader] = cast("type[yaml.SafeLoader]", yaml.CSafeLoader)
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader


class _OsvYamlLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader without float and timestamp resolution (those stay strings)."""


_OsvYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def load_json(data: bytes, origin: str = "") -> Any:
    """The JSON value in ``data``; raises :class:`InvalidAdvisory` when too large or not JSON."""
    _check_size(data, origin)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidAdvisory(f"not valid JSON: {_short(exc)}") from None


def load_yaml(data: bytes, origin: str = "") -> Any:
    """The YAML document in ``data`` (safe loading, see the module notes); raises :class:`InvalidAdvisory`."""
    _check_size(data, origin)
    try:
        return yaml.load(data, Loader=_OsvYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InvalidAdvisory(f"not valid YAML: {_short(exc)}") from None


def parse_advisory(value: Any, *, digest: str | None = None) -> Advisory:
    """Build an :class:`Advisory` from a decoded OSV record.

    ``digest`` is computed from ``value`` unless given (a stored record keeps the digest it was
    imported with). Raises :class:`InvalidAdvisory` naming the offending field.
    """
    _check_shape(value)
    if not isinstance(value, Mapping):
        raise InvalidAdvisory("an OSV record must be a JSON object")
    record_id = _string(value, "id", required=True, limit=MAX_ID_CHARS)
    if not _ID.fullmatch(record_id):
        raise InvalidAdvisory(f"id {record_id!r} is not a valid OSV id")
    modified = _time(value, "modified", required=True)
    assert modified is not None
    try:
        return Advisory(
            id=record_id,
            modified=modified,
            digest=digest or digest_of(value),
            published=_time(value, "published"),
            withdrawn=_time(value, "withdrawn"),
            aliases=_ids(value, "aliases"),
            related=_ids(value, "related"),
            upstream=_ids(value, "upstream"),
            summary=_string(value, "summary"),
            details=_string(value, "details"),
            severity=_severities(value),
            affected=tuple(_affected(item, index) for index, item in enumerate(_list(value, "affected"))),
            references=tuple(_reference(item) for item in _list(value, "references")),
            schema_version=_string(value, "schema_version"),
            database_specific=_object(value, "database_specific"),
        )
    except InvalidAdvisory as exc:
        raise InvalidAdvisory(f"{record_id}: {exc.message}") from None


def digest_of(value: Any) -> str:
    """The SHA-256 (hex) of ``value``'s canonical JSON: sorted keys, no whitespace, UTF-8."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_osv_dict(advisory: Advisory) -> dict[str, Any]:
    """The record as an OSV JSON object (the fields this model keeps; empty ones left out)."""
    out: dict[str, Any] = {"id": advisory.id, "modified": format_time(advisory.modified)}
    if advisory.schema_version:
        out["schema_version"] = advisory.schema_version
    if advisory.published is not None:
        out["published"] = format_time(advisory.published)
    if advisory.withdrawn is not None:
        out["withdrawn"] = format_time(advisory.withdrawn)
    for name in ("aliases", "related", "upstream"):
        if getattr(advisory, name):
            out[name] = list(getattr(advisory, name))
    if advisory.summary:
        out["summary"] = advisory.summary
    if advisory.details:
        out["details"] = advisory.details
    if advisory.severity:
        out["severity"] = [{"type": s.type, "score": s.score} for s in advisory.severity]
    if advisory.affected:
        out["affected"] = [_affected_dict(a) for a in advisory.affected]
    if advisory.references:
        out["references"] = [{"type": r.type, "url": r.url} for r in advisory.references]
    if advisory.database_specific:
        out["database_specific"] = thaw(advisory.database_specific)
    return out


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as OSV writes timestamps."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An aware UTC datetime from an RFC 3339 timestamp (``Z`` or offset; naive means UTC).

    Raises ``ValueError`` when ``text`` is not a timestamp.
    """
    cleaned = _FRACTION.sub(r"\1", text.strip())
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    value = datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def thaw(value: Any) -> Any:
    """Plain ``dict``/``list`` copies of the read-only JSON values kept in the model."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def _affected_dict(affected: Affected) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if affected.package is not None:
        package = {"ecosystem": affected.package.ecosystem, "name": affected.package.name}
        if affected.package.purl:
            package["purl"] = affected.package.purl
        out["package"] = package
    if affected.severity:
        out["severity"] = [{"type": s.type, "score": s.score} for s in affected.severity]
    if affected.ranges:
        ranges = []
        for r in affected.ranges:
            item: dict[str, Any] = {"type": r.type, "events": [{e.kind: e.version} for e in r.events]}
            if r.repo:
                item["repo"] = r.repo
            if r.database_specific:
                item["database_specific"] = thaw(r.database_specific)
            ranges.append(item)
        out["ranges"] = ranges
    if affected.versions:
        out["versions"] = list(affected.versions)
    if affected.ecosystem_specific:
        out["ecosystem_specific"] = thaw(affected.ecosystem_specific)
    if affected.database_specific:
        out["database_specific"] = thaw(affected.database_specific)
    return out


def _check_size(data: bytes, origin: str) -> None:
    if len(data) > MAX_RECORD_BYTES:
        where = f" {origin}" if origin else ""
        raise InvalidAdvisory(f"record{where} is {len(data)} bytes, more than the {MAX_RECORD_BYTES} accepted")


def _check_shape(value: Any) -> None:
    """Walk ``value`` with a budget of :data:`MAX_NODES` values and :data:`MAX_DEPTH` levels."""
    budget = MAX_NODES
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise InvalidAdvisory(f"record has more than {MAX_NODES} values")
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        elif item is None or isinstance(item, (str, int, float, bool)):
            continue
        else:
            raise InvalidAdvisory(f"record holds a {type(item).__name__}, which JSON cannot")
        if depth >= MAX_DEPTH:
            raise InvalidAdvisory(f"record is nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in children)


def _string(obj: Mapping[str, Any], key: str, *, required: bool = False, limit: int | None = None) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidAdvisory(f"{key} is missing")
        return ""
    if not isinstance(value, str):
        raise InvalidAdvisory(f"{key} must be a string")
    if required and not value:
        raise InvalidAdvisory(f"{key} is empty")
    if limit is not None and len(value) > limit:
        raise InvalidAdvisory(f"{key} is longer than {limit} characters")
    return value


def _time(obj: Mapping[str, Any], key: str, *, required: bool = False) -> datetime | None:
    text = _string(obj, key, required=required)
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise InvalidAdvisory(f"{key} {text[:40]!r} is not an RFC 3339 timestamp") from None


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidAdvisory(f"{key} must be an array")
    return value


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return EMPTY_OBJECT
    if not isinstance(value, Mapping):
        raise InvalidAdvisory(f"{key} must be an object")
    frozen: Mapping[str, Any] = _freeze(value)
    return frozen


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _ids(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in _list(obj, key):
        if not isinstance(item, str) or not item or len(item) > MAX_ID_CHARS:
            raise InvalidAdvisory(f"{key} must hold ids (non-empty strings)")
        if item not in out:
            out.append(item)
    return tuple(out)


def _severities(obj: Mapping[str, Any]) -> tuple[Severity, ...]:
    out = []
    for item in _list(obj, "severity"):
        if not isinstance(item, Mapping):
            raise InvalidAdvisory("severity entries must be objects")
        out.append(Severity(type=_string(item, "type", required=True), score=_string(item, "score", required=True)))
    return tuple(out)


def _reference(item: Any) -> Reference:
    if not isinstance(item, Mapping):
        raise InvalidAdvisory("references must be objects")
    return Reference(type=_string(item, "type"), url=_string(item, "url", required=True))


def _affected(item: Any, index: int) -> Affected:
    if not isinstance(item, Mapping):
        raise InvalidAdvisory(f"affected[{index}] must be an object")
    package = None
    raw_package = item.get("package")
    if raw_package is not None:
        if not isinstance(raw_package, Mapping):
            raise InvalidAdvisory(f"affected[{index}].package must be an object")
        package = OsvPackage(
            ecosystem=_string(raw_package, "ecosystem", required=True, limit=MAX_NAME_CHARS),
            name=_string(raw_package, "name", required=True, limit=MAX_NAME_CHARS),
            purl=_string(raw_package, "purl", limit=MAX_NAME_CHARS),
        )
    versions = []
    for version in _list(item, "versions"):
        versions.append(_version(version, f"affected[{index}].versions"))
    return Affected(
        package=package,
        ranges=tuple(_range(r, f"affected[{index}].ranges[{n}]") for n, r in enumerate(_list(item, "ranges"))),
        versions=tuple(versions),
        severity=_severities(item),
        ecosystem_specific=_object(item, "ecosystem_specific"),
        database_specific=_object(item, "database_specific"),
    )


def _range(item: Any, where: str) -> Range:
    if not isinstance(item, Mapping):
        raise InvalidAdvisory(f"{where} must be an object")
    range_type = _string(item, "type", required=True)
    events = []
    for n, raw in enumerate(_list(item, "events")):
        if not isinstance(raw, Mapping) or len(raw) != 1:
            raise InvalidAdvisory(f"{where}.events[{n}] must be an object with exactly one event")
        ((kind, version),) = raw.items()
        if kind not in EVENT_KINDS:
            raise InvalidAdvisory(f"{where}.events[{n}] has unknown event {str(kind)[:40]!r}")
        events.append(Event(kind=cast("EventKind", kind), version=_version(version, f"{where}.events[{n}]")))
    if not events:
        raise InvalidAdvisory(f"{where} has no events")
    if range_type != RANGE_GIT and not any(e.kind == "introduced" for e in events):
        raise InvalidAdvisory(f"{where} has no introduced event")
    return Range(
        type=range_type,
        events=tuple(events),
        repo=_string(item, "repo"),
        database_specific=_object(item, "database_specific"),
    )


def _version(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidAdvisory(f"{where} holds a {type(value).__name__} where a version string belongs")
    text = str(value)
    if not text or len(text) > MAX_VERSION_CHARS:
        raise InvalidAdvisory(f"{where} holds an empty or overlong version")
    return text


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def json_kind(value: Any) -> str:
    """The JSON kind of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__
