"""The local stack's saved state: what users make on it outlives a restart.

Everything a user makes lives in the emulator: DynamoDB items (customers and everything on them, import and
export jobs, mail lists, mailings, preferences), S3 objects (uploaded workbooks, import reports, exports,
accounting files, every version in a versioned bucket), SQS messages not yet consumed (a job half-way
through goes on after a restart), and the emails SES sent (the outbox). They are saved in one SQLite file
in the state folder (``.local-stack/`` in the checkout by default):

- DynamoDB items as they are written: the emulator tells ``SavedState`` of each item written or removed
  (``crm_local.emulator.set_listener``), and a saver thread writes what changed every couple of seconds,
  then once more when the stack stops. S3, SQS and SES are compared with what was saved at the same moments.
- Each save is one SQLite transaction in WAL mode with full syncs: a crash or a kill mid-save leaves the
  last committed save whole (SQLite's own journal does the write-new, fsync, switch-over).
- A folder the stack cannot read (not SQLite, another format, damaged) is never wiped: ``StateError`` says
  what is wrong and how to go on (move it aside, or start fresh with ``crm serve --fresh``).
- One stack at a time: the folder is locked while a stack uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crm_local import emulator
from crm_local.stack import LOCAL_ENV

DATABASE = "state.sqlite3"
LOCK = "lock"
FORMAT = "crm-local-state/2"
ACCOUNT = "123456789012"  # moto's default account, which the local stack's credentials map to
REGION = LOCAL_ENV["AWS_REGION"]
SAVE_EVERY = 2.0  # seconds between saves while the stack runs

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tables (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS items (tbl INTEGER NOT NULL, pk NOT NULL, sk NOT NULL, doc BLOB NOT NULL,
                                  PRIMARY KEY (tbl, pk, sk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (bucket TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL,
                                    position INTEGER NOT NULL, meta TEXT NOT NULL, data BLOB,
                                    PRIMARY KEY (bucket, key, version));
CREATE TABLE IF NOT EXISTS messages (queue TEXT NOT NULL, position INTEGER NOT NULL, doc TEXT NOT NULL,
                                     PRIMARY KEY (queue, position));
CREATE TABLE IF NOT EXISTS outbox (position INTEGER PRIMARY KEY, doc TEXT NOT NULL);
"""
Progress = Callable[[str], None]


class StateError(Exception):
    """The state folder cannot be used; the message says why and what to do."""


@dataclass
class Restored:
    items: int = 0
    objects: int = 0
    messages: int = 0
    emails: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # saved things the stack no longer has a place for

    def summary(self) -> str:
        return (f"{self.items:,} items, {self.objects:,} objects, {self.messages:,} queued messages, "
                f"{self.emails:,} sent emails")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob(f"{DATABASE}*") if p.is_file())


def remove(folder: Path) -> bool:
    """Delete the saved state in ``folder`` (refused while a stack uses it); whether there was one."""
    if not folder.exists():
        return False
    with _locked(folder):
        pass  # raises StateError when a running stack holds it
    shutil.rmtree(folder)
    return True


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[int]:
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "another process"
            raise StateError(f"{folder} is in use by another local stack (pid {holder}). Stop that one first "
                             "(Ctrl-C where it runs), or give this one its own folder with --state DIR.") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield handle
    finally:
        os.close(handle)  # closing releases the lock


class SavedState:
    """The state folder of one running local stack: restore at start, save as it runs, save at stop."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / DATABASE
        self._lock_context: contextlib.AbstractContextManager[int] | None = None
        self._db: sqlite3.Connection | None = None
        self._guard = threading.Lock()  # one save at a time
        self._pending_lock = threading.Lock()
        self._pending: dict[tuple[str, Any, Any], bytes | None] = {}
        self._objects: dict[tuple[str, str, str], str] = {}  # saved object versions → their signature
        self._messages: dict[str, list[str]] = {}  # queue → the saved messages (docs)
        self._emails = 0
        self._table_numbers: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.saves = 0
        self.last_save_seconds = 0.0

    # ---- opening ----

    def open(self) -> bool:
        """Lock the folder and open its state (made empty when there is none); whether one was there."""
        self._lock_context = _locked(self.folder)
        self._lock_context.__enter__()
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            found: dict[str, str] = {}
            if existed:  # read before anything is written: a file of someone else's is left as it is
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "meta" not in tables:
                    db.close()
                    self.close()
                    raise self._unreadable(f"{self.path.name} is an SQLite file, but not one this stack saved")
                found = dict(db.execute("SELECT name, value FROM meta").fetchall())
                if found.get("format") != FORMAT:
                    db.close()
                    self.close()
                    raise self._unreadable(f"it was saved in format {found.get('format')!r}; this stack reads "
                                           f"{FORMAT!r}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            self.close()
            raise self._unreadable(f"{self.path.name} is not a state file this stack can read ({error})") from None
        if not found:
            db.execute("INSERT INTO meta VALUES ('format', ?), ('created', ?)", (FORMAT, _now()))
        self._db = db
        return existed

    def _unreadable(self, reason: str) -> StateError:
        return StateError(
            f"the saved state in {self.folder} cannot be read: {reason}. Nothing has been changed or deleted. "
            f"To keep it, move it aside (mv {self.folder} {self.folder}.unreadable) and start again; to start "
            "fresh, run `crm serve --fresh` (or `make reset-data`), which deletes it.")

    def close(self) -> None:
        """Let go of the folder without saving again (``stop`` saves)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        emulator.set_listener(None)
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_context is not None:
            self._lock_context.__exit__(None, None, None)
            self._lock_context = None

    # ---- restoring ----

    def restore(self, progress: Progress | None = None) -> Restored:
        """Put the saved state into this process's emulator (its resources made already)."""
        assert self._db is not None
        started = time.perf_counter()
        done = Restored()
        try:
            self._restore_items(done, progress)
            self._restore_objects(done)
            self._restore_messages(done)
            self._restore_outbox(done)
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as error:
            raise self._unreadable(f"part of it is damaged ({type(error).__name__}: {error})") from None
        done.seconds = time.perf_counter() - started
        return done

    def _restore_items(self, done: Restored, progress: Progress | None) -> None:
        from moto.dynamodb.models import dynamodb_backends

        assert self._db is not None
        backend = dynamodb_backends[ACCOUNT][REGION]
        total = self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        step = max(total // 10, 50_000)
        tables: dict[str, Any] = {}
        query = "SELECT name, pk, sk, doc FROM items JOIN tables ON tables.id = items.tbl"
        for n, (name, pk, sk, doc) in enumerate(self._db.execute(query), start=1):
            if name not in tables:
                tables[name] = backend.tables.get(name)
                if tables[name] is None:
                    done.skipped.append(f"items of table {name}, which template.yaml no longer has")
            table = tables[name]
            if table is None or not isinstance(table.items, emulator.ItemStore):
                continue
            table.items.load(_key_value(pk, table.hash_key_type), _key_value(sk, table.range_key_type), bytes(doc))
            done.items += 1
            if progress is not None and n % step == 0:
                progress(f"restoring saved state: {n:,} of {total:,} items ({n * 100 // total}%)")

    def _restore_objects(self, done: Restored) -> None:
        from moto.s3.models import FakeDeleteMarker, FakeKey, s3_backends
        from moto.utilities.utils import LowercaseDict

        assert self._db is not None
        backend = s3_backends[ACCOUNT]["aws"]
        versions: dict[tuple[str, str], list[tuple[str, dict[str, Any], bytes | None]]] = {}
        for bucket, key, version, meta, data in self._db.execute(
                "SELECT bucket, key, version, meta, data FROM objects ORDER BY bucket, key, position"):
            versions.setdefault((bucket, key), []).append((version, json.loads(meta), data))
        for (bucket_name, key_name), saved in versions.items():
            bucket = backend.buckets.get(bucket_name)
            if bucket is None:
                done.skipped.append(f"objects of bucket {bucket_name}, which template.yaml no longer has")
                continue
            restored: list[Any] = []
            for version, meta, data in saved:
                if meta.get("delete_marker"):
                    marker = object.__new__(FakeDeleteMarker)
                    marker.key = restored[-1] if restored else None  # type: ignore[assignment]
                    marker.name = key_name
                    marker.last_modified = datetime.fromisoformat(meta["last_modified"])
                    marker._version_id = version
                    restored.append(marker)
                    self._objects[(bucket_name, key_name, version)] = _signature(marker)
                    continue
                fake = FakeKey(name=key_name, value=bytes(data or b""), account_id=ACCOUNT, region_name=REGION,
                               storage=meta.get("storage"), etag=meta.get("etag"), is_versioned=bucket.is_versioned,
                               version_id=version, bucket_name=bucket_name, encryption=meta.get("encryption"),
                               kms_key_id=meta.get("kms_key_id"), checksum_value=meta.get("checksum_value"))
                fake.last_modified = datetime.fromisoformat(meta["last_modified"])
                fake._metadata = LowercaseDict(meta.get("metadata") or {})
                fake.checksum_algorithm = meta.get("checksum_algorithm")
                restored.append(fake)
                self._objects[(bucket_name, key_name, version)] = _signature(fake)
                done.objects += 1
            bucket.keys.setlist(key_name, restored)

    def _restore_messages(self, done: Restored) -> None:
        from moto.sqs.models import Message, sqs_backends

        assert self._db is not None
        backend = sqs_backends[ACCOUNT][REGION]
        saved: dict[str, list[str]] = {}
        for queue_name, doc in self._db.execute("SELECT queue, doc FROM messages ORDER BY queue, position"):
            saved.setdefault(queue_name, []).append(doc)
        for queue_name, docs in saved.items():
            queue = backend.queues.get(queue_name)
            if queue is None:
                done.skipped.append(f"messages of queue {queue_name}, which template.yaml no longer has")
                continue
            queue._messages.clear()  # what making the stack sent (S3's test event) gives way to the saved
            for doc in docs:
                fields = json.loads(doc)
                message = Message(fields["id"], fields["body"], fields.get("system_attributes") or {})
                message.message_attributes = fields.get("message_attributes") or {}
                message.sent_timestamp = fields.get("sent_timestamp")
                message.approximate_receive_count = fields.get("receive_count", 0)
                message.approximate_first_receive_timestamp = fields.get("first_receive")
                message.group_id = fields.get("group_id")
                message.deduplication_id = fields.get("deduplication_id")
                message.sequence_number = fields.get("sequence_number")
                queue._messages.append(message)
                done.messages += 1
            self._messages[queue_name] = docs

    def _restore_outbox(self, done: Restored) -> None:
        from moto.ses.models import Message, RawMessage, ses_backends

        assert self._db is not None
        for (doc,) in self._db.execute("SELECT doc FROM outbox ORDER BY position"):
            fields = json.loads(doc)
            backend = ses_backends[ACCOUNT][fields["region"]]
            if "raw_data" in fields:
                sent: Any = RawMessage(fields["id"], fields["source"], fields["destinations"], fields["raw_data"])
            else:
                sent = Message(fields["id"], fields["source"], fields["subject"], fields["body"],
                               fields["destinations"])
            backend.sent_messages.append(sent)
            done.emails += 1
        self._emails = done.emails

    # ---- saving ----

    def hear(self, table: str, pk: Any, sk: Any, blob: bytes | None) -> None:
        """The emulator's listener: an item written (or removed, ``blob`` None)."""
        with self._pending_lock:
            self._pending[(table, pk, sk)] = blob

    @staticmethod
    def unkept() -> list[str]:
        """Tables whose items are not kept: those without a sort key (the emulator keeps and reports the
        items of tables with one; every table of template.yaml has one)."""
        from moto.dynamodb.models import dynamodb_backends

        return sorted(name for name, table in dynamodb_backends[ACCOUNT][REGION].tables.items()
                      if not isinstance(table.items, emulator.ItemStore))

    def start(self, every: float = SAVE_EVERY) -> None:
        """Hear the emulator's writes and save what changed every ``every`` seconds, in a thread."""
        emulator.set_listener(self.hear)
        self._thread = threading.Thread(target=self._run, args=(every,), name="local-state-saver", daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.save()
            except Exception as error:  # noqa: BLE001 -- the stack goes on; the next save tries again
                print(f"crm serve: saving the state failed ({type(error).__name__}: {error}); trying again",
                      flush=True)

    def stop(self) -> float:
        """Stop the saver thread and save once more, writes held meanwhile; the seconds the save took."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        started = time.perf_counter()
        with emulator.writes_paused():
            self.save()
            emulator.set_listener(None)
        return time.perf_counter() - started

    def save(self) -> int:
        """Write what changed since the last save in one transaction; the number of rows written."""
        with self._guard:
            db = self._db
            if db is None:
                return 0
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            started = time.perf_counter()
            objects, gone = self._changed_objects()
            messages = self._changed_messages()
            emails = self._new_emails()
            written = len(pending) + len(objects) + len(gone) + len(messages) + len(emails)
            if not written:
                return 0
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("DELETE FROM items WHERE tbl = ? AND pk = ? AND sk = ?",
                               [self._row_key(k) for k, blob in pending.items() if blob is None])
                db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)",
                               [(*self._row_key(k), blob) for k, blob in pending.items() if blob is not None])
                db.executemany("DELETE FROM objects WHERE bucket = ? AND key = ? AND version = ?", gone)
                db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                               [row[:6] for row in objects])
                for queue_name, docs in messages.items():
                    db.execute("DELETE FROM messages WHERE queue = ?", (queue_name,))
                    db.executemany("INSERT INTO messages VALUES (?, ?, ?)",
                                   [(queue_name, n, doc) for n, doc in enumerate(docs)])
                db.executemany("INSERT OR REPLACE INTO outbox VALUES (?, ?)", emails)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('saved', ?)", (_now(),))
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                self._table_numbers.clear()  # a table numbered in this transaction is numbered again
                with self._pending_lock:  # not saved: keep them for the next try (newer writes win)
                    self._pending = {**pending, **self._pending}
                raise
            for bucket, key, version, *_, signature in objects:
                self._objects[(bucket, key, version)] = signature
            for bucket, key, version in gone:
                self._objects.pop((bucket, key, version), None)
            self._messages.update(messages)
            self._emails += len(emails)
            self.saves += 1
            self.last_save_seconds = time.perf_counter() - started
            return written

    def _row_key(self, key: tuple[str, Any, Any]) -> tuple[int, Any, Any]:
        """An item's key as a row's: the table by its number (in ``tables``), the keys as SQLite holds them."""
        assert self._db is not None
        table, pk, sk = key
        number = self._table_numbers.get(table)
        if number is None:
            self._db.execute("INSERT OR IGNORE INTO tables (name) VALUES (?)", (table,))
            number = self._table_numbers[table] = self._db.execute("SELECT id FROM tables WHERE name = ?",
                                                                   (table,)).fetchone()[0]
        return number, _plain(pk), _plain(sk)

    def _changed_objects(self) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, str]]]:
        from moto.s3.models import FakeDeleteMarker, s3_backends

        backend = s3_backends[ACCOUNT]["aws"]
        seen: set[tuple[str, str, str]] = set()
        changed: list[tuple[Any, ...]] = []
        for bucket_name, bucket in list(backend.buckets.items()):
            for key_name, versions in list(dict.items(bucket.keys)):
                for position, version in enumerate(list(versions)):
                    ident = (bucket_name, key_name, version.version_id)
                    seen.add(ident)
                    signature = _signature(version)
                    if self._objects.get(ident) == signature:
                        continue
                    if isinstance(version, FakeDeleteMarker):
                        meta: dict[str, Any] = {"delete_marker": True,
                                                "last_modified": version.last_modified.isoformat()}
                        data = None
                    else:
                        try:
                            data = version.value
                        except ValueError:  # replaced and closed meanwhile: the next save has its successor
                            continue
                        meta = {"last_modified": version.last_modified.isoformat(), "etag": version.etag.strip('"'),
                                "storage": version.storage_class, "metadata": dict(version.metadata),
                                "encryption": version.encryption, "kms_key_id": version.kms_key_id,
                                "checksum_algorithm": version.checksum_algorithm,
                                "checksum_value": version.checksum_value, "size": len(data)}
                    changed.append((*ident, position, json.dumps(meta), data, signature))
        gone = [ident for ident in self._objects if ident not in seen]
        return changed, gone

    def _changed_messages(self) -> dict[str, list[str]]:
        from moto.sqs.models import sqs_backends

        changed = {}
        for queue_name, queue in list(sqs_backends[ACCOUNT][REGION].queues.items()):
            docs = [json.dumps({"id": m.id, "body": m.body, "message_attributes": m.message_attributes,
                                "system_attributes": m.system_attributes, "sent_timestamp": m.sent_timestamp,
                                "receive_count": m.approximate_receive_count,
                                "first_receive": m.approximate_first_receive_timestamp, "group_id": m.group_id,
                                "deduplication_id": m.deduplication_id, "sequence_number": m.sequence_number},
                               default=str)
                    for m in list(queue._messages)]
            if docs != self._messages.get(queue_name, []):
                changed[queue_name] = docs
        return changed

    def _new_emails(self) -> list[tuple[int, str]]:
        from moto.ses.models import ses_backends

        sent: list[tuple[str, Any]] = []
        for region, backend in ses_backends[ACCOUNT].items():
            sent += [(region, m) for m in list(backend.sent_messages)]
        new = []
        for position, (region, message) in enumerate(sent[self._emails:], start=self._emails):
            fields: dict[str, Any] = {"region": region, "id": message.id, "source": message.source,
                                      "destinations": message.destinations}
            if hasattr(message, "raw_data"):
                fields["raw_data"] = message.raw_data
            elif hasattr(message, "body"):
                fields.update(subject=message.subject, body=message.body)
            else:
                continue  # templated sends: nothing of the local stack sends them
            new.append((position, json.dumps(fields)))
        return new


def _signature(version: Any) -> str:
    if not hasattr(version, "etag"):
        return f"marker {version.last_modified.isoformat()}"
    return f"{version.last_modified.isoformat()} {version.etag.strip(chr(34))} {len(version.metadata)}"




def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _key_value(value: Any, kind: str | None) -> Any:
    return Decimal(value) if kind == "N" else value


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
