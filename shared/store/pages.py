"""Reading a table a page at a time over one or more key ranges, with cursors the stores hand out.

A listing reads its :class:`Segment` s in order (a partition, a RowKey range in it, an optional plain
filter), each in RowKey order. A cursor names the segment and the RowKey of the last row returned (or
examined, when the read stopped at its budget); reading again from it continues right after that row.
Cursors are JSON text: ``[segment name, RowKey]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.data.tables import TableClient

from shared.errors import InvalidContinuation
from shared.store.azure import storage_errors
from shared.store.keys import MAX_KEY_CHARS

SCAN_BUDGET = 5000
"""The most rows one listing call examines; a filtered listing may return a short page with a cursor."""

MAX_SERVER_PAGE = 1000
"""Table storage returns at most this many entities per request."""


@dataclass(frozen=True)
class Segment:
    """One stretch of a listing: the rows of ``partition`` with ``low <= RowKey < high`` (either bound
    optional) that match ``where`` (plain property comparisons, with ``parameters``)."""

    name: str
    partition: str
    low: str | None = None
    high: str | None = None
    where: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


def read_page(table: TableClient, segments: Sequence[Segment], cursor: str | None, limit: int, *,
              keep: Callable[[dict[str, Any]], bool] | None = None, select: list[str] | None = None,
              budget: int = SCAN_BUDGET, action: str = "read a listing") -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` rows of ``segments`` that ``keep`` accepts, in order, from ``cursor``; and the cursor
    of what follows (None when nothing does).

    Reads one row past the page to tell whether anything follows, and at most ``budget`` rows in all.
    Raises :class:`InvalidContinuation` for a cursor that names no segment of ``segments``.
    """
    start, after = _parse(cursor, segments)
    rows: list[dict[str, Any]] = []
    examined = 0
    last: tuple[str, str] | None = None
    per_request = MAX_SERVER_PAGE if keep is not None else min(MAX_SERVER_PAGE, limit + 1)
    with storage_errors(action):
        for segment in segments[start:]:
            query, parameters = _query(segment, after)
            for entity in table.query_entities(query, parameters=parameters, select=select,
                                               results_per_page=per_request):
                wanted = keep is None or keep(entity)
                if wanted and len(rows) == limit:
                    return rows, _cursor(last)
                examined += 1
                last = (segment.name, entity["RowKey"])
                if wanted:
                    rows.append(entity)
                if examined >= budget:
                    return rows, _cursor(last)
            after = None
    return rows, None


def _query(segment: Segment, after: str | None) -> tuple[str, dict[str, Any]]:
    clauses = ["PartitionKey eq @pk"]
    parameters: dict[str, Any] = {"pk": segment.partition, **segment.parameters}
    if after is not None:
        clauses.append("RowKey gt @after")
        parameters["after"] = after
    if segment.low is not None:
        clauses.append("RowKey ge @low")
        parameters["low"] = segment.low
    if segment.high is not None:
        clauses.append("RowKey lt @high")
        parameters["high"] = segment.high
    if segment.where:
        clauses.append(segment.where)
    return " and ".join(clauses), parameters


def _cursor(position: tuple[str, str] | None) -> str | None:
    return json.dumps(list(position), separators=(",", ":")) if position is not None else None


def _parse(cursor: str | None, segments: Sequence[Segment]) -> tuple[int, str | None]:
    """(index of the segment to start in, RowKey to start after) of ``cursor``."""
    if cursor is None:
        return 0, None
    try:
        name, after = json.loads(cursor)
    except (TypeError, ValueError):
        raise InvalidContinuation("the continuation token is not one this listing handed out") from None
    names = [s.name for s in segments]
    if not isinstance(name, str) or not isinstance(after, str) or name not in names \
            or len(after) > MAX_KEY_CHARS:
        raise InvalidContinuation("the continuation token is not one this listing handed out")
    return names.index(name), after
