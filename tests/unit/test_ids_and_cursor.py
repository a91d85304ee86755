"""Ids sort by time; cursors are signed, scoped and expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.cursor import CursorCodec
from crm_core.errors import InvalidCursor
from crm_core.ids import id_time, min_id_at, new_id


def test_ids_sort_by_creation_time_and_carry_it() -> None:
    earlier = new_id(now_ms=1_700_000_000_000)
    later = new_id(now_ms=1_700_000_000_001)
    assert len(earlier) == 26 and earlier < later
    assert id_time(earlier) == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_min_id_at_bounds_ids_made_from_that_moment() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    assert new_id(now_ms=ms - 1) < min_id_at(moment) <= new_id(now_ms=ms)
    assert id_time(min_id_at(moment + timedelta(days=1))) == moment + timedelta(days=1)


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec("a-signing-key-of-some-length", ttl_seconds=60)


def test_cursor_round_trips_within_its_scope(codec: CursorCodec) -> None:
    cursor = codec.encode("scope-a", {"after": "01ABC"}, now=1000)
    assert codec.decode(cursor, "scope-a", now=1059) == {"after": "01ABC"}


@pytest.mark.parametrize("tamper", ["garbage", "", "%%%", "AAAA"])
def test_garbage_cursor_is_refused(codec: CursorCodec, tamper: str) -> None:
    with pytest.raises(InvalidCursor, match="not a cursor this API issued"):
        codec.decode(tamper, "scope-a")


def test_edited_cursor_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode("scope-a", "01ABC")
    edited = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    with pytest.raises(InvalidCursor):
        codec.decode(edited, "scope-a")


def test_cursor_from_another_query_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode("scope-a", "01ABC", now=1000)
    with pytest.raises(InvalidCursor, match="different query"):
        codec.decode(cursor, "scope-b", now=1000)


def test_expired_cursor_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode("scope-a", "01ABC", now=1000)
    with pytest.raises(InvalidCursor, match="expired"):
        codec.decode(cursor, "scope-a", now=1061)


def test_cursor_signed_with_another_key_is_refused(codec: CursorCodec) -> None:
    foreign = CursorCodec("another-key-entirely-different", 60).encode("scope-a", "01ABC")
    with pytest.raises(InvalidCursor):
        codec.decode(foreign, "scope-a")
