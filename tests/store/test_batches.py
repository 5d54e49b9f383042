"""Table transactions written directly (shared.store.batches.transact) against Azurite, beside the SDK's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.data.tables import (
    EdmType,
    EntityProperty,
    TableClient,
    TableTransactionError,
    TransactionOperation,
    UpdateMode,
)

from shared.store.azure import storage_errors, table_service
from shared.store.batches import (
    TRANSACTION_BYTES,
    TRANSACTION_ROWS,
    _transactions,
    delete_rows,
    rows_by_key,
    transact,
    upsert_rows,
    weight,
)
from shared.wiring import Services


@pytest.fixture
def table(svc: Services) -> Iterator[TableClient]:
    service = table_service(svc.settings.storage)
    name = f"batch{uuid.uuid4().hex[:12]}"
    service.create_table(name)
    yield service.get_table_client(name)
    service.delete_table(name)


def rows(table: TableClient) -> dict[str, dict[str, object]]:
    return {row["RowKey"]: dict(row) for row in table.list_entities()}


def test_a_transaction_applies_every_operation_with_the_sdks_serialization(table: TableClient) -> None:
    when = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    table.create_entity({"PartitionKey": "p'1", "RowKey": "gone"})
    table.create_entity({"PartitionKey": "p'1", "RowKey": "replaced", "old": "x"})
    transact(table, [
        (TransactionOperation.CREATE, {"PartitionKey": "p'1", "RowKey": "new", "text": "é ü 漢", "n": 7, "flag": True,
                                       "big": EntityProperty(2**40, EdmType.INT64), "when": when}),
        (TransactionOperation.UPSERT, {"PartitionKey": "p'1", "RowKey": "replaced", "new": 1}, {"mode": UpdateMode.REPLACE}),
        (TransactionOperation.UPSERT, {"PartitionKey": "p'1", "RowKey": "merged", "a": 1}, {"mode": UpdateMode.MERGE}),
        (TransactionOperation.DELETE, {"PartitionKey": "p'1", "RowKey": "gone"}),
    ])
    found = rows(table)
    assert set(found) == {"new", "replaced", "merged"}
    assert (found["new"]["text"], found["new"]["n"], found["new"]["flag"]) == ("é ü 漢", 7, True)
    assert found["new"]["big"] == EntityProperty(2**40, EdmType.INT64)
    assert found["new"]["when"] == when
    assert "old" not in found["replaced"] and found["replaced"]["new"] == 1


def test_a_transaction_meeting_an_existing_row_writes_nothing_and_says_409_and_which(table: TableClient) -> None:
    table.create_entity({"PartitionKey": "p", "RowKey": "taken"})
    ops = [(TransactionOperation.CREATE, {"PartitionKey": "p", "RowKey": f"r{n}"}) for n in range(3)]
    with pytest.raises(TableTransactionError) as raised:
        transact(table, [*ops, (TransactionOperation.CREATE, {"PartitionKey": "p", "RowKey": "taken"})])
    assert raised.value.status_code == 409
    assert raised.value.index == 3
    assert raised.value.error_code == "EntityAlreadyExists"  # type: ignore[attr-defined]
    assert set(rows(table)) == {"taken"}


def test_a_transaction_deleting_a_missing_row_says_404_and_keeps_the_rest(table: TableClient) -> None:
    table.create_entity({"PartitionKey": "p", "RowKey": "kept"})
    with pytest.raises(TableTransactionError) as raised:
        transact(table, [(TransactionOperation.DELETE, {"PartitionKey": "p", "RowKey": "kept"}),
                         (TransactionOperation.DELETE, {"PartitionKey": "p", "RowKey": "missing"})])
    assert raised.value.status_code == 404
    assert set(rows(table)) == {"kept"}


def test_a_transaction_on_a_missing_table_raises_as_the_sdk_does(table: TableClient, svc: Services) -> None:
    missing = table_service(svc.settings.storage).get_table_client("nosuchtable" + uuid.uuid4().hex[:8])
    operations = [(TransactionOperation.CREATE, {"PartitionKey": "p", "RowKey": "r"})]
    with pytest.raises(TableTransactionError) as ours:
        transact(missing, operations)
    with pytest.raises(TableTransactionError) as sdks:
        missing.submit_transaction(operations)
    assert (ours.value.status_code, ours.value.error_code) == (404, "TableNotFound")  # type: ignore[attr-defined]
    assert (sdks.value.status_code, sdks.value.error_code) == (404, "TableNotFound")  # type: ignore[attr-defined]


def test_a_hundred_rows_in_one_transaction_and_helpers_use_it(table: TableClient) -> None:
    transact(table, [(TransactionOperation.CREATE, {"PartitionKey": "p", "RowKey": f"r{n:03d}", "n": n})
                     for n in range(100)])
    assert len(rows(table)) == 100
    upsert_rows(table, ({"PartitionKey": "p", "RowKey": f"r{n:03d}", "n": -n} for n in range(150)), "upsert rows")
    assert sorted(row["n"] for row in rows(table).values()) == sorted(-n for n in range(150))  # type: ignore[type-var]
    delete_rows(table, (("p", f"r{n:03d}") for n in range(0, 200, 2)), "delete rows")  # half of them never existed
    assert len(rows(table)) == 75


def test_an_empty_transaction_sends_nothing(table: TableClient) -> None:
    transact(table, [])
    assert rows(table) == {}


def test_storage_down_is_temporary(svc: Services) -> None:
    from shared.errors import StorageUnavailable
    from shared.settings import StorageConfig, azurite_connection_string
    from testkit.processes import free_port

    port = free_port()
    down = table_service(StorageConfig(connection_string=azurite_connection_string(blob=port, queue=port, table=port)))
    client = down.get_table_client("anytable")
    with pytest.raises(StorageUnavailable), storage_errors("write rows"):
        transact(client, [(TransactionOperation.CREATE, {"PartitionKey": "p", "RowKey": "r"})])


def test_rows_by_key_reads_the_named_rows_of_a_partition_a_few_per_query(table: TableClient) -> None:
    for number in range(40):
        table.create_entity({"PartitionKey": "p'1" if number % 2 else "p2", "RowKey": f"r{number:02d}", "n": number})
    wanted = [f"r{number:02d}" for number in range(0, 40, 3)] + ["absent", "r03"]  # 30 keys, some twice or absent
    found = rows_by_key(table, "p'1", wanted * 2, "read rows")
    assert sorted(found) == sorted({f"r{n:02d}" for n in range(0, 40, 3) if n % 2})
    assert all(found[key]["n"] == int(key[1:]) for key in found)
    assert rows_by_key(table, "p'1", [], "read rows") == {}
    narrow = rows_by_key(table, "p2", ["r00", "r02"], "read rows", select=["RowKey"])
    assert sorted(narrow) == ["r00", "r02"] and "n" not in narrow["r00"]


def test_heavy_rows_are_upserted_in_several_transactions_within_the_body_limit(table: TableClient) -> None:
    heavy = [{"PartitionKey": "p", "RowKey": f"r{n:02d}", **{f"blob{k}": bytes([n]) * 60_000 for k in range(10)}}
             for n in range(12)]  # rows of 600 KB, as compressed values split over properties
    light = [{"PartitionKey": "p", "RowKey": f"s{n:03d}", "v": "x"} for n in range(150)]
    chunks = list(_transactions([*heavy, *light]))
    assert all(sum(weight(e) for e in chunk) <= TRANSACTION_BYTES or len(chunk) == 1 for chunk in chunks)
    assert all(len(chunk) <= TRANSACTION_ROWS for chunk in chunks)
    assert [e for chunk in chunks for e in chunk] == [*heavy, *light] and len(chunks) >= 5
    assert weight(heavy[0]) > 600_000 * 4 // 3  # base64 of the binary value at least
    upsert_rows(table, [*heavy, *light], "save rows")
    stored = rows(table)
    assert len(stored) == 162 and bytes(stored["r05"]["blob9"]) == bytes([5]) * 60_000  # type: ignore[call-overload]
