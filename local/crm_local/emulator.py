"""What moto's DynamoDB costs, made what the items cost: one narrow change to moto 5.2.5, shared by the local
stack, the tests and the benchmarks.

moto keeps each table in memory and answers every request in Python. A few of its habits make a big table
slow or heavy, and this module changes exactly those, leaving every rule moto applies (conditions, update
expressions, validation, paging, projections) to moto itself:

- **Transactions.** ``TransactWriteItems`` deep-copies every table it names before it starts, for its rollback:
  each transaction costs as much as the whole table. Here it keeps a copy of the items it names instead and
  puts them back if it fails (a condition fails, an item is refused part-way): the same outcome and the same
  rollback. Writes are also serialised by one lock, so a transaction is never interleaved with another write.
- **Queries.** A ``Query`` sorts every item of the table, then picks the partition it asked for; a query on
  a global secondary index walks every item. Here a table query starts from its partition's items (only
  those whose sort key passes the key condition), and an index query from the items that carry its hash key,
  kept in a map per index as items are written. moto then sorts, pages, filters and projects those as before.
- **Memory.** moto holds each item as a tree of Python objects, about 1.5 KB for a 300-byte item, and keeps
  every ``Item`` it ever made (each request's, each copy's) in a list for its dashboard. Here each table with a
  sort key keeps an item's attributes but its keys as DynamoDB JSON (bytes) under its partition (a lone item
  as a pair, more in a dict), equal items written close together share their bytes, ids are interned, and
  moto's ``Item`` is made whenever moto reads one (``UpdateItem``, which changes the item it read in place,
  writes it back). An unconditional put (BatchWriteItem, a plain PutItem) is checked with moto's own checks
  and stored as the request carries it, without making an ``Item``. No ``Item`` is listed.
- **Scans.** A ``Scan`` page sorts the whole table, then skips to its start key. Here it reads the
  partitions in the same order from the start key's (the sorted list of partition keys is kept up to date).
- **Per request.** Attribute values go out and come in as they are instead of through moto's generic walk of
  botocore's ten-member ``AttributeValue`` shape (a 100-item BatchGetItem: 210 ms to 60 ms); an item is sized
  once against the 400 KB limit instead of once per attribute; the server no longer lists moto's package
  folder and walks the responding class's methods on every request.

``install()`` applies it once per process; it refuses any other moto version, since it relies on moto's
internals (``Table.items``, ``Table.query``, ``Table.scan``, ``Table.put_item``, ``Table.all_items``, ``Item``,
``DynamoDBBackend``'s writes, the JSON serializer and parser). ``tests/integration/test_emulator.py`` checks the
changes against moto unchanged.

A ``listener`` (``set_listener``) hears of every item written or removed, with its new bytes; the local
stack's saved state (``crm_local.state``) is kept that way.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import copy
import functools
import json
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import moto
import moto.backends as moto_backends
import moto.core.responses as moto_responses
import moto.core.utils as moto_utils
import moto.dynamodb.models as moto_dynamodb
from moto.core.parse import BaseJSONParser
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.limits import HASH_KEY_MAX_LENGTH, RANGE_KEY_MAX_LENGTH
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import GlobalSecondaryIndex, Table
from moto.dynamodb.models.utilities import bytesize

MOTO_VERSION = "5.2.5"

# (table name, partition key, sort key, item as DynamoDB JSON bytes or None when removed)
Listener = Callable[[str, Any, Any, bytes | None], None]
Key = tuple[Any, Any]  # (partition key, sort key) as plain values

_write_lock = threading.RLock()
_local = threading.local()
_originals: dict[tuple[Any, str], Any] = {}
_listener: Listener | None = None


class EmulatorVersionError(RuntimeError):
    """moto is not the version this module was written against."""


def install() -> None:
    """Apply the changes to moto's DynamoDB (once per process). Tables made before this keep moto's own
    storage; make them after."""
    if _originals:
        return
    check_version(moto.__version__)
    table_init = Table.__init__
    table_query = Table.query
    table_all_items = Table.all_items
    table_scan = Table.scan
    table_put_item = Table.put_item
    transact = DynamoDBBackend.transact_write_items
    update_item = DynamoDBBackend.update_item
    put_item = DynamoDBBackend.put_item
    delete_item = DynamoDBBackend.delete_item

    def init(self: Table, *args: Any, **kwargs: Any) -> None:
        table_init(self, *args, **kwargs)
        if self.range_key_attr is not None:
            self.items = ItemStore(self)  # type: ignore[assignment]

    def query(self: Table, hash_key: Any, range_comparison: Any, range_objs: list[DynamoType], *args: Any,
              **kwargs: Any) -> Any:
        store = self.items if isinstance(self.items, ItemStore) else None
        index_name = kwargs.get("index_name", args[4] if len(args) > 4 else None)
        found = None if store is None else store.candidates(hash_key, range_comparison, range_objs, index_name,
                                                            kwargs.get("hash_key_conditions"))
        if found is None:
            return table_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        _local.candidates = (self, found)
        try:
            return table_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            _local.candidates = None

    def all_items(self: Table) -> Any:
        candidates = getattr(_local, "candidates", None)
        if candidates is not None and candidates[0] is self:
            if isinstance(candidates[1], list):
                return sorted(candidates[1],
                              key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
            return candidates[1]  # a scan's items, in moto's order from its start key, made as moto reads them
        return table_all_items(self)

    def table_put(self: Table, item_attrs: dict[str, Any], expected: Any = None, condition_expression: Any = None,
                  *args: Any, **kwargs: Any) -> Any:
        if (isinstance(self.items, ItemStore) and not expected and condition_expression is None
                and self.stream_shard is None and type(item_attrs) is dict):
            written = self.items.write_wire(item_attrs)
            if written is not None:
                return written
        return table_put_item(self, item_attrs, expected, condition_expression, *args, **kwargs)

    def scan(self: Table, filters: Any, limit: Any, exclusive_start_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[1] if len(args) > 1 else None)
        if not isinstance(self.items, ItemStore) or index_name:
            return table_scan(self, filters, limit, exclusive_start_key, *args, **kwargs)
        _local.candidates = (self, self.items.in_order(exclusive_start_key))
        try:
            return table_scan(self, filters, limit, exclusive_start_key, *args, **kwargs)
        finally:
            _local.candidates = None

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _write_lock:
            saved = [_save(self, action) for action in transact_items]
            try:
                transact(self, transact_items)
            except Exception:
                for restore in reversed(saved):
                    if restore is not None:
                        restore()
                raise

    def update(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Item:
        with _write_lock:
            item: Item = update_item(self, table_name, *args, **kwargs)
            table = self.get_table(table_name)
            if isinstance(table.items, ItemStore):
                table.items.write(item)  # moto changed the copy it read
            return item

    serialize_structure = BaseJSONSerializer._serialize_type_structure
    serialize_map = BaseJSONSerializer._serialize_type_map
    parse_structure = BaseJSONParser._parse_structure

    def write_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == ATTRIBUTE_VALUE and isinstance(value, dict):
            serialized[self.get_serialized_name(shape, key)] = _wire(value)
        else:
            serialize_structure(self, serialized, value, shape, key)

    def write_map(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if getattr(shape.value, "name", None) == ATTRIBUTE_VALUE and isinstance(value, dict):
            serialized[self.get_serialized_name(shape, key)] = {k: _wire(v) for k, v in value.items()}
        else:
            serialize_map(self, serialized, value, shape, key)

    def read_structure(self: BaseJSONParser, shape: Any, value: Any) -> Any:
        if shape.name != ATTRIBUTE_VALUE or not isinstance(value, dict):
            return parse_structure(self, shape, value)  # type: ignore[no-untyped-call]
        parsed = self.MAP_TYPE()
        members = shape.members
        for name, raw in value.items():  # one member of the union, whose JSON names are its member names
            if name in members and raw is not None:
                parsed[name] = self._parse_shape(members[name], raw)  # type: ignore[no-untyped-call]
        return parsed

    def item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = _sized(attrs)

    modules = tuple(moto_backends.list_of_moto_modules())
    method_names = functools.cache(moto_utils.method_names_from_class)

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with _write_lock:
                return method(self, *args, **kwargs)
        return call

    changes: dict[tuple[Any, str], Any] = {
        (Table, "__init__"): init, (Table, "query"): query, (Table, "all_items"): all_items, (Table, "scan"): scan,
        (Table, "put_item"): table_put,
        (DynamoDBBackend, "transact_write_items"): transact_write_items, (DynamoDBBackend, "update_item"): update,
        (DynamoDBBackend, "put_item"): locked(put_item), (DynamoDBBackend, "delete_item"): locked(delete_item),
        # moto's transaction takes ``copy.deepcopy`` of each table it names, then puts that copy back if it
        # fails; with tables passed through uncopied, that put-back is a no-op and ``_save`` does the rollback.
        (moto_dynamodb, "copy"): _TablesUncopied,
        # moto keeps every model object it ever made in a class list (for its /moto-api/data.json); for items
        # that is every item of every request and of every copy, held until moto is reset.
        (Item, "__new__"): staticmethod(_untracked),
        # moto sizes an item again for each attribute it adds (the 400 KB limit): once is enough, since the
        # size only grows as attributes are added, so it is over the limit at the end if it ever was.
        (Item, "__init__"): item_init,
        # Per request, moto's server lists its own package folder (to tell a service name from a host) and
        # walks the responding class's methods; neither changes while it runs.
        (moto_backends, "list_of_moto_modules"): lambda: modules,
        (moto_responses, "method_names_from_class"): method_names,
        # moto answers (and reads) each attribute value by walking the ten members of botocore's
        # AttributeValue shape through its generic picker (2 ms an item); moto's values are already in that
        # shape, so they go out (and come in) as they are, binary values in base64 as the model says.
        (BaseJSONSerializer, "_serialize_type_structure"): write_structure,
        (BaseJSONSerializer, "_serialize_type_map"): write_map,
        (BaseJSONParser, "_parse_structure"): read_structure,
    }
    for (owner, name), replacement in changes.items():
        _originals[(owner, name)] = getattr(owner, name)
        setattr(owner, name, replacement)


def check_version(version: str) -> None:
    if version != MOTO_VERSION:
        raise EmulatorVersionError(
            f"crm_local.emulator changes moto {MOTO_VERSION}'s DynamoDB internals, and this environment has "
            f"moto {version}. Install the pinned version (pip install -e '.[dev]'; pyproject.toml pins "
            f"moto[server]=={MOTO_VERSION}), or port crm_local/emulator.py to the new moto and run "
            "tests/integration/test_emulator.py.")


def installed() -> bool:
    return bool(_originals)


@contextlib.contextmanager
def moto_as_released() -> Iterator[None]:
    """moto without these changes for the block (tests compare the two); tables made inside keep moto's own
    storage. Not for use while other threads use moto."""
    if not _originals:
        yield
        return
    changed = {key: getattr(*key) for key in _originals}
    for (owner, name), original in _originals.items():
        setattr(owner, name, original)
    try:
        yield
    finally:
        for (owner, name), replacement in changed.items():
            setattr(owner, name, replacement)


def set_listener(listener: Listener | None) -> None:
    """Hear of every item written or removed in a table with a sort key (called under the write lock)."""
    global _listener
    _listener = listener


@contextlib.contextmanager
def writes_paused() -> Iterator[None]:
    """Hold every DynamoDB write (and transaction) until the block ends: a consistent moment to read."""
    with _write_lock:
        yield


class _CopyModule(types.ModuleType):
    """Stands in for ``copy`` in moto.dynamodb.models: tables are not copied, anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_TablesUncopied = _CopyModule("copy")


ATTRIBUTE_VALUE = "AttributeValue"  # the botocore shape of one DynamoDB value


def _wire(value: dict[str, Any]) -> dict[str, Any]:
    """A value as moto's results hold it (binary as bytes, nested values as dicts) in DynamoDB's JSON."""
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "M":
            out[kind] = {k: _wire(v) for k, v in inner.items()}
        elif kind == "L":
            out[kind] = [_wire(v) for v in inner]
        elif kind == "B":
            out[kind] = _text(inner)
        elif kind == "BS":
            out[kind] = [_text(v) for v in inner]
        else:
            out[kind] = inner
    return out


SHARED_RECENT = 20_000  # equal items written within this many share their bytes
ORDER_CATCH_UP = 5000  # more partitions made or gone than this between two Scans: sort them all again
ITEM_SIZE_LIMIT = 405000  # moto's LimitedSizeDict: between the 409 and 410 KB AWS was seen to accept


def _sized(attrs: dict[str, Any]) -> LimitedSizeDict:
    """An item's attributes as moto's Item.__init__ makes them, sized once instead of once per attribute."""
    found = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(found)
    total = 0
    for name, value in attrs.items():
        typed = DynamoType(value)
        total += bytesize(name) + typed.size()
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(found, name, typed)
    return found


def _untracked(cls: type[Item], *args: Any, **kwargs: Any) -> Item:
    return object.__new__(cls)


def _save(backend: DynamoDBBackend, action: dict[str, Any]) -> Callable[[], None] | None:
    """What puts back the item one transaction action names, as it is now; None when it names none that
    moto could write (a missing table or key: moto refuses the action without writing)."""
    try:
        _, op = next(iter(action.items()))
        table = backend.get_table(op["TableName"])
        source = op["Item"] if "Item" in op else op["Key"]
        hash_key = DynamoType(source[table.hash_key_attr])
        range_key = DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
    except Exception:  # noqa: BLE001 -- moto answers a malformed action itself
        return None
    store = table.items
    if isinstance(store, ItemStore):
        try:
            key = store.key_of(hash_key, range_key)
        except KeyError:
            return None
        blob = store.blob(key)
        return lambda: store.restore(key, blob)
    before = copy.deepcopy(table.get_item(hash_key, range_key))

    def restore() -> None:
        table.delete_item(hash_key, range_key)
        if before is not None:
            table.items[hash_key] = before  # type: ignore[assignment]  # a table without a sort key: moto's dict

    return restore


# ---- items as bytes -----------------------------------------------------------------------------------

BINARY = b"\x00"  # the first byte of an item that holds binary values (JSON never starts with it)


def _plain(value: DynamoType, binary: list[bool]) -> dict[str, Any]:
    kind = value.type
    if kind == "L":
        return {"L": [_plain(v, binary) if isinstance(v, DynamoType) else v for v in value.value]}
    if kind == "M":
        return {"M": {k: _plain(v, binary) if isinstance(v, DynamoType) else v for k, v in value.value.items()}}
    if kind == "B":
        binary.append(True)
        return {"B": _text(value.value)}
    if kind == "BS":
        binary.append(True)
        return {"BS": [_text(v) for v in value.value]}
    return {kind: value.value}


def _text(value: bytes | str) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _bytes(value: DynamoType) -> None:
    """Binary values back as moto holds them (bytes), in place."""
    if value.type == "B" and isinstance(value.value, str):
        value.value = base64.b64decode(value.value)
    elif value.type == "BS":
        value.value = [base64.b64decode(v) if isinstance(v, str) else v for v in value.value]
    elif value.type == "L":
        for child in value.value:
            _bytes(child)
    elif value.type == "M":
        for child in value.value.values():
            _bytes(child)


def encode(item: Item, keys: tuple[str, str]) -> bytes:
    """An item's attributes but its keys (kept apart) as DynamoDB JSON (binary values in base64)."""
    binary: list[bool] = []
    text = json.dumps({name: _plain(value, binary) for name, value in item.attrs.items() if name not in keys},
                      ensure_ascii=False, separators=(",", ":")).encode()
    return BINARY + text if binary else text


def encode_wire(attrs: dict[str, Any], keys: tuple[str, str]) -> bytes:
    """The same bytes as ``encode`` for an item as moto's request parser hands it (binary values as bytes)."""
    binary: list[bool] = []

    def base64_text(value: Any) -> str:
        if isinstance(value, bytes | bytearray):
            binary.append(True)
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"{type(value).__name__} is not an attribute value")

    text = json.dumps({name: value for name, value in attrs.items() if name not in keys}, ensure_ascii=False,
                      separators=(",", ":"), default=base64_text).encode()
    return BINARY + text if binary else text


def attributes(blob: bytes) -> dict[str, Any]:
    """The DynamoDB JSON of an item's stored attributes (not its keys; binary values in base64)."""
    found: dict[str, Any] = json.loads(blob[1:] if blob[:1] == BINARY else blob)
    return found


def _key_type(kind: str, value: Any) -> DynamoType:
    """A key attribute back as moto holds it, from its plain value (a number's Decimal keeps its digits)."""
    return DynamoType({kind: str(value) if kind == "N" else value})


def _item(table: Table, hash_value: Any, range_value: Any, blob: bytes) -> Item:
    """moto's Item for a stored item, built as moto's own deepcopy builds one (no size check again)."""
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    hash_key = _key_type(table.hash_key_type, hash_value)
    range_key = _key_type(table.range_key_type, range_value)  # type: ignore[arg-type]
    dict.__setitem__(attrs, table.hash_key_attr, hash_key)
    dict.__setitem__(attrs, str(table.range_key_attr), range_key)
    binary = blob[:1] == BINARY
    for name, value in json.loads(blob[1:] if binary else blob).items():
        typed = DynamoType(value)
        if binary:
            _bytes(typed)
        dict.__setitem__(attrs, name, typed)
    item: Item = object.__new__(Item)
    item.attrs = attrs
    item.hash_key = hash_key
    item.range_key = range_key
    return item


class _Written:
    """What moto's put_item returns for an item stored without making it: made only if asked for."""

    __slots__ = ("_blob", "_key", "_store")

    def __init__(self, store: ItemStore, key: Key, blob: bytes) -> None:
        self._store, self._key, self._blob = store, key, blob

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store.item(self._key[0], self._key[1], self._blob), name)


def _plain_key(value: DynamoType) -> Any:
    """A key attribute as a dict key that matches exactly when moto's DynamoType equality does."""
    return value.cast_value


class Partition:
    """One partition key's items as moto's ``Table.items[hash]`` dict sees them: a view made when moto asks,
    over what the store keeps."""

    __slots__ = ("_hash", "_store")

    def __init__(self, store: ItemStore, hash_value: Any) -> None:
        self._store = store
        self._hash = hash_value

    def __getitem__(self, range_key: DynamoType) -> Item:
        value = self._store.range_value(range_key)
        blob = self._store.blob((self._hash, value))
        if blob is None:
            raise KeyError(range_key)
        return self._store.item(self._hash, value, blob)

    def __setitem__(self, range_key: DynamoType, item: Item) -> None:
        self._store.put((self._hash, self._store.range_value(range_key)), encode(item, self._store.keys))

    def __contains__(self, range_key: object) -> bool:
        try:
            return self._store.blob((self._hash, self._store.range_value(range_key))) is not None  # type: ignore[arg-type]
        except KeyError:
            return False

    def __len__(self) -> int:
        return len(self._store.pairs(self._hash))

    def pop(self, range_key: DynamoType) -> Item:
        key = (self._hash, self._store.range_value(range_key))
        blob = self._store.blob(key)
        if blob is None:
            raise KeyError(range_key)
        self._store.put(key, None)
        return self._store.item(*key, blob)

    def values(self) -> list[Item]:
        return [self._store.item(self._hash, value, blob) for value, blob in self._store.pairs(self._hash)]


class ItemStore:
    """Stands in for moto's ``Table.items`` (``defaultdict(dict)``: partition key → sort key → Item) in a
    table with a sort key. Items are kept as bytes; GSI hash keys are mapped to the items that carry them."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._parts: dict[Any, tuple[Any, bytes] | dict[Any, bytes]] = {}
        self._recent: dict[bytes, bytes] = {}
        self._key_names_of: Any = None
        self._key_name_lists: tuple[tuple[list[str], int], tuple[list[str], int]] = (([], 0), ([], 0))
        self._order: list[Any] | None = None  # partition keys sorted, made at the first Scan
        self._added: set[Any] = set()
        self._removed: set[Any] = set()
        self._index_signature: tuple[tuple[str, str], ...] = ()
        self._index_names: list[bytes] = []
        self._index_on_keys = False
        self._index: dict[str, dict[Any, dict[Key, None]]] = {}
        self._indexed: dict[Key, tuple[Any, ...]] = {}  # item → its value of each index's hash key (or None)
        self._rebuild_index()

    # -- moto's view: Table.items[hash] and Table.items.values() --

    def __getitem__(self, hash_key: DynamoType) -> Partition:
        return Partition(self, self.hash_value(hash_key))

    def __contains__(self, hash_key: object) -> bool:
        try:
            return self.hash_value(hash_key) in self._parts  # type: ignore[arg-type]
        except KeyError:
            return False

    def __len__(self) -> int:
        return len(self._parts)

    def values(self) -> list[Partition]:
        return [Partition(self, value) for value in list(self._parts)]

    def __deepcopy__(self, memo: dict[int, Any]) -> ItemStore:
        """A backup (moto's RestoredTable): the same bytes, its own dicts."""
        twin = ItemStore(self._table)
        for (hash_value, range_value), blob in self.blobs():
            twin.load(hash_value, range_value, blob)
        return twin

    # -- keys --

    def hash_value(self, key: DynamoType) -> Any:
        if key.type != self._table.hash_key_type:
            raise KeyError(key)
        return _plain_key(key)

    def range_value(self, key: DynamoType) -> Any:
        if key.type != self._table.range_key_type:
            raise KeyError(key)
        return _plain_key(key)

    def key_of(self, hash_key: DynamoType, range_key: DynamoType | None) -> Key:
        if range_key is None:
            raise KeyError("no sort key")
        return self.hash_value(hash_key), self.range_value(range_key)

    # -- bytes --

    @property
    def keys(self) -> tuple[str, str]:
        """The names of the key attributes, which stored items leave out."""
        return self._table.hash_key_attr, self._table.range_key_attr  # type: ignore[return-value]

    def item(self, hash_value: Any, range_value: Any, blob: bytes) -> Item:
        return _item(self._table, hash_value, range_value, blob)

    def attributes(self, key: Key, blob: bytes) -> dict[str, Any]:
        """An item's DynamoDB JSON, keys included."""
        found = attributes(blob)
        found[self._table.hash_key_attr] = _key_type(self._table.hash_key_type, key[0]).to_json()
        found[str(self._table.range_key_attr)] = _key_type(str(self._table.range_key_type), key[1]).to_json()
        return found

    def blob(self, key: Key) -> bytes | None:
        kept = self._parts.get(key[0])
        if type(kept) is tuple:
            return kept[1] if kept[0] == key[1] else None
        return None if kept is None else kept.get(key[1])  # type: ignore[union-attr]

    def pairs(self, hash_value: Any) -> list[tuple[Any, bytes]]:
        """A partition's (sort key, bytes), as they are now."""
        kept = self._parts.get(hash_value)
        if kept is None:
            return []
        return [kept] if type(kept) is tuple else list(kept.items())  # type: ignore[union-attr]

    def blobs(self) -> Iterator[tuple[Key, bytes]]:
        for hash_value in list(self._parts):
            for range_value, blob in self.pairs(hash_value):
                yield (hash_value, range_value), blob

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._parts))

    # -- writes --

    def write(self, item: Item) -> None:
        """Store an item moto changed in place (UpdateItem)."""
        self.put(self.key_of(item.hash_key, item.range_key), encode(item, self.keys))

    def write_wire(self, attrs: dict[str, Any]) -> _Written | None:
        """Store an item as a request carries it, without a condition (BatchWriteItem, a plain PutItem),
        checked as moto checks it; None to leave it to moto (anything unusual, or big enough to need sizing)."""
        table = self._table
        hash_wire, range_wire = attrs.get(table.hash_key_attr), attrs.get(str(table.range_key_attr))
        if not (isinstance(hash_wire, dict) and isinstance(range_wire, dict)
                and list(hash_wire) == [table.hash_key_type] and list(range_wire) == [table.range_key_type]):
            return None
        table._validate_item_types(attrs)
        self._check_key_sizes(attrs)
        try:
            blob = encode_wire(attrs, self.keys)
        except (TypeError, ValueError):
            return None
        if len(blob) > ITEM_SIZE_LIMIT // 2:  # moto's size never exceeds the JSON's length: below this, no check
            return None
        key = (_plain_key(DynamoType(hash_wire)), _plain_key(DynamoType(range_wire)))
        self.put(key, blob)
        return _Written(self, key, blob)

    def _check_key_sizes(self, attrs: dict[str, Any]) -> None:
        """moto's key size check (the table's and its indexes' keys), left out for absent keys and for string
        keys too short to fail (at most 4 bytes a character)."""
        for names, limit in self._key_names():
            for name in names:
                value = attrs.get(name)
                if not value:
                    continue
                if isinstance(value, dict) and len(value) == 1:
                    text = value.get("S")
                    if isinstance(text, str) and len(text) * 4 <= limit:
                        continue
                self._table._validate_key_sizes(attrs)
                return

    def _key_names(self) -> tuple[tuple[list[str], int], tuple[list[str], int]]:
        indexes = self._table.global_indexes  # moto puts a new list there when the indexes change
        if indexes is not self._key_names_of:
            self._key_names_of = indexes
            self._key_name_lists = ((self._table.hash_key_names, HASH_KEY_MAX_LENGTH),
                                    (self._table.range_key_names, RANGE_KEY_MAX_LENGTH))
        return self._key_name_lists

    def restore(self, key: Key, blob: bytes | None) -> None:
        """Put an item back as it was (a transaction's rollback); an item left as it was stays untouched."""
        if self.blob(key) != blob:
            self.put(key, blob)

    def put(self, key: Key, blob: bytes | None) -> None:
        """Set (or, with None, remove) one item, keeping the index maps and telling the listener."""
        with _write_lock:
            hash_value, range_value = (sys.intern(k) if type(k) is str else k for k in key)  # one copy of an id
            key = (hash_value, range_value)
            if blob is None:
                if not self._remove(hash_value, range_value):
                    return
            else:
                blob = self._shared(blob)
                self._keep(hash_value, range_value, blob)
            self._reindex(key, blob)
            if _listener is not None:
                _listener(self._table.name, hash_value, range_value, blob)

    def load(self, hash_value: Any, range_value: Any, blob: bytes) -> None:
        """Put an item back from saved state (no listener: it is already saved)."""
        if type(hash_value) is str:
            hash_value = sys.intern(hash_value)
        if type(range_value) is str:
            range_value = sys.intern(range_value)
        blob = self._shared(blob)
        self._keep(hash_value, range_value, blob)
        self._reindex((hash_value, range_value), blob)

    # -- how partitions are kept: one item as a (sort key, bytes) pair, more in a dict --

    def _keep(self, hash_value: Any, range_value: Any, blob: bytes) -> None:
        kept = self._parts.get(hash_value)
        if kept is None:
            self._parts[hash_value] = (range_value, blob)
            self._reorder(hash_value, added=True)
        elif type(kept) is tuple:
            if kept[0] == range_value:
                self._parts[hash_value] = (range_value, blob)
            else:
                self._parts[hash_value] = {kept[0]: kept[1], range_value: blob}
        else:
            kept[range_value] = blob  # type: ignore[index]

    def _remove(self, hash_value: Any, range_value: Any) -> bool:
        kept = self._parts.get(hash_value)
        if kept is None:
            return False
        if type(kept) is tuple:
            if kept[0] != range_value:
                return False
            del self._parts[hash_value]
            self._reorder(hash_value, added=False)
            return True
        if kept.pop(range_value, None) is None:  # type: ignore[union-attr]
            return False
        if len(kept) == 1:
            self._parts[hash_value] = next(iter(kept.items()))
        return True

    def _shared(self, blob: bytes) -> bytes:
        """The same bytes object for equal items written close together (a customer's search items for the
        prefixes of one word are the same but for their keys)."""
        shared = self._recent.setdefault(blob, blob)
        if len(self._recent) > SHARED_RECENT:
            self._recent.clear()
        return shared

    # -- the order a Scan reads in: partition keys sorted, sort keys sorted (moto's order) --

    def _reorder(self, hash_value: Any, added: bool) -> None:
        """Note a partition made or gone; the sorted list of partitions catches up at the next Scan."""
        if self._order is None:
            return
        (self._added if added else self._removed).add(hash_value)
        if len(self._added) + len(self._removed) > ORDER_CATCH_UP:
            self._order = None  # sorted again from scratch when a Scan needs it

    def _sorted_partitions(self) -> list[Any]:
        with _write_lock:
            if self._order is None:
                self._order = sorted(self._parts)
            else:
                for value in self._removed:
                    at = bisect.bisect_left(self._order, value)
                    if at < len(self._order) and self._order[at] == value and value not in self._parts:
                        del self._order[at]
                for value in self._added:
                    at = bisect.bisect_left(self._order, value)
                    if (at == len(self._order) or self._order[at] != value) and value in self._parts:
                        self._order.insert(at, value)
            self._added.clear()
            self._removed.clear()
            return list(self._order)  # a Scan's own copy, whatever is written meanwhile

    def in_order(self, exclusive_start_key: dict[str, Any] | None) -> Iterator[Item]:
        """Every item, from the partition of ``exclusive_start_key`` on (moto skips what comes before the key
        in it), made as moto reads them."""
        order = self._sorted_partitions()
        at = 0
        if exclusive_start_key and self._table.hash_key_attr in exclusive_start_key:
            try:
                start = self.hash_value(DynamoType(exclusive_start_key[self._table.hash_key_attr]))
            except KeyError:
                start = None
            if start is not None:
                at = bisect.bisect_left(order, start)
        for n in range(at, len(order)):
            if n >= len(order):
                return
            for range_value, blob in sorted(self.pairs(order[n]), key=lambda pair: pair[0]):
                yield self.item(order[n], range_value, blob)

    # -- the index maps --

    def _signature(self) -> tuple[tuple[str, str], ...]:
        found = []
        for index in self._table.global_indexes or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if len(hashes) == 1:
                found.append((index.name, hashes[0]))
        return tuple(found)

    def _rebuild_index(self) -> None:
        self._index_signature = self._signature()
        self._index_names = [json.dumps(attr).encode() for _, attr in self._index_signature]  # '"GSI1PK"'
        self._index_on_keys = any(attr in self.keys for _, attr in self._index_signature)
        self._index = {name: {} for name, _ in self._index_signature}
        self._indexed = {}
        for key, blob in list(self.blobs()):
            self._reindex(key, blob)

    def _reindex(self, key: Key, blob: bytes | None) -> None:
        if not self._index_signature:
            return
        old = self._indexed.pop(key, None)
        if old is not None:
            for (name, _), value in zip(self._index_signature, old, strict=True):
                if value is not None:
                    members = self._index[name].get(value)
                    if members is not None:
                        members.pop(key, None)
                        if not members:
                            del self._index[name][value]
        if blob is None or not (self._index_on_keys or any(name in blob for name in self._index_names)):
            return  # (most items carry no index key: their JSON is not parsed)
        attrs = self.attributes(key, blob) if self._index_on_keys else attributes(blob)
        values = tuple(_index_value(attrs.get(attr)) for _, attr in self._index_signature)
        if any(v is not None for v in values):
            self._indexed[key] = values
            for (name, _), value in zip(self._index_signature, values, strict=True):
                if value is not None:
                    self._index[name].setdefault(value, {})[key] = None

    # -- queries --

    def candidates(self, hash_key: DynamoType | None, range_comparison: str | None,
                   range_objs: list[DynamoType], index_name: str | None,
                   hash_key_conditions: list[tuple[str, DynamoType]] | None) -> list[Item] | None:
        """The items a query can match (moto checks each again), or None to let moto walk the table."""
        if index_name is None:
            if hash_key is None:
                return None
            try:
                hash_value = self.hash_value(hash_key)
            except KeyError:
                return []
            pairs: Iterable[tuple[Any, bytes]] = self.pairs(hash_value)
            if range_comparison:
                kind = str(self._table.range_key_type)
                pairs = [(r, b) for r, b in pairs
                         if DynamoType({kind: r if kind != "N" else str(r)}).compare(range_comparison, range_objs)]
            return [self.item(hash_value, r, blob) for r, blob in pairs]
        if self._signature() != self._index_signature:
            with _write_lock:
                self._rebuild_index()
        attr = dict(self._index_signature).get(index_name)
        index = next((i for i in self._table.global_indexes or [] if i.name == index_name), None)
        if attr is None or not isinstance(index, GlobalSecondaryIndex):
            return None
        wanted = next((value for name, value in hash_key_conditions or [] if name == attr), None)
        if wanted is None:
            return None
        try:
            keys = list(self._index[index_name].get(_plain_key(wanted), {}))
        except TypeError:
            return None
        found = []
        for key in keys:
            blob = self.blob(key)
            if blob is not None:
                found.append(self.item(key[0], key[1], blob))
        return found


def _index_value(value: dict[str, Any] | None) -> Any:
    if value is None:
        return None
    try:
        plain = _plain_key(DynamoType(value))
        hash(plain)
    except (TypeError, ValueError, ArithmeticError):
        return None
    return plain
