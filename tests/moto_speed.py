"""moto made fast enough for tests and benchmarks that write thousands of items through transactions."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any
from unittest import mock

import moto.dynamodb.models as moto_dynamodb
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table


class _TablesNotCopied:
    """Stands in for the ``copy`` module inside moto.dynamodb.models while one transaction runs."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


@contextlib.contextmanager
def transactions_copy_their_items() -> Iterator[None]:
    """moto's TransactWriteItems deep-copies every table it touches, for its rollback, on every call: each
    transaction costs as much as the whole table (200 rows took 66 s, most of it in ``copy.deepcopy``). While
    this is on, a transaction keeps a copy of the items it names instead, and puts them back if it fails:
    the same outcome and the same rollback, at a cost that does not grow with the table."""
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        try:
            saved = []
            for action in transact_items:
                _, op = next(iter(action.items()))
                table = self.get_table(op["TableName"])
                if "Item" in op:
                    names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
                    item_key = {n: op["Item"][n] for n in names}
                else:
                    item_key = op["Key"]
                before = self.get_item(op["TableName"], item_key)
                saved.append((op["TableName"], item_key, copy.deepcopy(before.to_json()["Attributes"])
                              if before else None))
        except Exception:  # noqa: BLE001 -- a request moto refuses: let moto answer it its own way
            original(self, transact_items)
            return
        try:
            with mock.patch.object(moto_dynamodb, "copy", _TablesNotCopied):
                original(self, transact_items)
        except Exception:
            for table_name, item_key, attrs in reversed(saved):
                if attrs is None:
                    self.delete_item(table_name, item_key)
                else:
                    self.put_item(table_name, attrs)
            raise

    with mock.patch.object(DynamoDBBackend, "transact_write_items", transact_write_items):
        yield
