"""PATCH /customers/{id}: optimistic locking, immutable username, claims and index kept in step."""

from __future__ import annotations

from typing import Any

import pytest

from crm_core.wiring import customer_service
from integration.conftest import ADA, Call


def _patch(api: Call, customer: dict[str, Any], user: str = "test-staff", **changes: Any) -> Any:
    return api("PATCH", f"/customers/{customer['id']}", body={"version": customer["version"], **changes}, user=user)


def test_edit_bumps_version_and_records_who_what_old_and_new(api: Call, ada: dict[str, Any]) -> None:
    # Given Ada at version 1
    # When a staff user changes her phone and postcode
    answer = _patch(api, ada, user="mjones", phone="+44 1632 960000", address={"postcode": "SW1A 1AA"})
    # Then she is at version 2 with the change, the rest of the address kept
    assert answer.status == 200, answer.body
    assert answer.body["version"] == 2 and answer.body["updated_by"] == "mjones"
    assert answer.body["address"] == {**ada["address"], "postcode": "SW1A 1AA"}
    # And the history shows the change first, field by field
    history = api("GET", f"/customers/{ada['id']}/history").body["items"]
    assert history[0]["by"] == "mjones" and history[0]["action"] == "updated"
    assert history[0]["changes"] == [
        {"field": "phone", "old": "+44 20 7946 0000", "new": "+44 1632 960000"},
        {"field": "address.postcode", "old": "N1 9GU", "new": "SW1A 1AA"},
    ]
    assert history[1]["action"] == "created"


def test_stale_version_is_409_with_the_current_version(api: Call, ada: dict[str, Any]) -> None:
    # Given two staff read Ada at version 1 and the first saves
    assert _patch(api, ada, phone="01632 960001").status == 200
    # When the second saves with the version they read
    answer = _patch(api, ada, phone="01632 960002")
    # Then it is refused with the current version, and the first edit stands
    assert answer.status == 409
    assert answer.body["error"]["code"] == "version_conflict"
    assert answer.body["error"]["current_version"] == 2
    assert api("GET", f"/customers/{ada['id']}").body["phone"] == "01632 960001"


def test_concurrent_write_after_the_read_is_refused(api: Call, ada: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an edit that read version 1, and another edit that lands before it writes
    service = customer_service()
    repo = service._repo
    stale = repo.get(ada["id"])
    assert _patch(api, ada, phone="01632 960003").status == 200
    reads = iter([stale])
    real_get = repo.get
    monkeypatch.setattr(repo, "get", lambda customer_id, consistent=False: next(reads, None) or real_get(customer_id))
    # When the first edit writes
    answer = _patch(api, ada, phone="01632 960004")
    # Then the conditional write refuses it (409, version 2), nothing overwritten
    assert answer.status == 409
    assert answer.body["error"]["current_version"] == 2
    monkeypatch.undo()
    assert api("GET", f"/customers/{ada['id']}").body["phone"] == "01632 960003"


def test_edit_without_changes_writes_nothing(api: Call, ada: dict[str, Any]) -> None:
    answer = _patch(api, ada, first_name="Ada")
    assert answer.status == 200 and answer.body["version"] == 1
    assert len(api("GET", f"/customers/{ada['id']}/history").body["items"]) == 1


def test_username_cannot_change_or_be_removed(api: Call, ada: dict[str, Any]) -> None:
    changed = _patch(api, ada, username="ada2")
    removed = _patch(api, ada, username=None)
    assert changed.status == removed.status == 422
    assert changed.body["error"]["fields"] == [{"field": "username", "message": "cannot be changed once saved"}]


def test_username_can_be_set_once_and_is_then_claimed(api: Call) -> None:
    bob = api("POST", "/customers", body={"type": "individual", "first_name": "Bob", "last_name": "Hope"}).body
    assert _patch(api, bob, username="bhope").status == 200
    other = api("POST", "/customers", body={"type": "individual", "first_name": "B", "last_name": "H",
                                            "username": "bhope"})
    assert other.status == 409 and other.body["error"]["code"] == "username_taken"


def test_taking_a_username_in_an_edit_is_409(api: Call, ada: dict[str, Any]) -> None:
    bob = api("POST", "/customers", body={"type": "individual", "first_name": "Bob", "last_name": "Hope"}).body
    answer = _patch(api, bob, username="alovelace")
    assert answer.status == 409 and answer.body["error"]["code"] == "username_taken"
    assert api("GET", f"/customers/{bob['id']}").body["version"] == 1


def test_fields_of_another_type_or_required_ones_cleared_are_refused(api: Call, ada: dict[str, Any]) -> None:
    org = api("POST", "/customers", body={"type": "organization", "organization_name": "Trust"}).body
    assert _patch(api, org, first_name="X").body["error"]["fields"][0]["field"] == "first_name"
    assert _patch(api, ada, last_name=None).status == 422
    assert _patch(api, ada, type="organization").status == 422


def test_changing_email_moves_its_claim(api: Call, ada: dict[str, Any]) -> None:
    # Given Ada changes her email
    assert _patch(api, ada, email="ada@new.example").status == 200
    # Then her old email is free for another customer without a warning
    free = api("POST", "/customers", body={"type": "individual", "first_name": "C", "last_name": "D",
                                           "email": ADA["email"]})
    assert free.status == 201
    # And the new one warns
    taken = api("POST", "/customers", body={"type": "individual", "first_name": "E", "last_name": "F",
                                            "email": "ada@new.example"})
    assert taken.status == 409 and taken.body["error"]["duplicates"][0]["id"] == ada["id"]


def test_edit_to_another_customers_email_warns_unless_confirmed(api: Call, ada: dict[str, Any]) -> None:
    bob = api("POST", "/customers", body={"type": "individual", "first_name": "Bob", "last_name": "Hope"}).body
    assert _patch(api, bob, email=ADA["email"]).status == 409
    assert _patch(api, bob, email=ADA["email"], confirm_duplicate=True).status == 200


def test_edit_keeps_search_in_step(api: Call, ada: dict[str, Any]) -> None:
    # Given Ada moves to a new postcode
    assert _patch(api, ada, address={"postcode": "EH2 1JX"}).status == 200
    # Then she is found by the new one and no longer by the old one
    assert [c["id"] for c in api("GET", "/customers", query={"q": "EH2 1JX"}).body["items"]] == [ada["id"]]
    assert api("GET", "/customers", query={"q": "N1 9GU"}).body["items"] == []


def test_history_pages_newest_first(api: Call, ada: dict[str, Any]) -> None:
    current = ada
    for n in range(4):
        current = _patch(api, current, phone=f"01632 96010{n}").body
    first = api("GET", f"/customers/{ada['id']}/history", query={"limit": 2}).body
    second = api("GET", f"/customers/{ada['id']}/history",
                 query={"limit": 2, "cursor": first["next_cursor"]}).body
    third = api("GET", f"/customers/{ada['id']}/history",
                query={"limit": 2, "cursor": second["next_cursor"]}).body
    phones = [e["changes"][0]["new"] for e in first["items"] + second["items"] if e["action"] == "updated"]
    assert phones == ["01632 960103", "01632 960102", "01632 960101", "01632 960100"]
    assert [e["action"] for e in third["items"]] == ["created"]
    assert api("GET", f"/customers/{ada['id']}/history", query={"limit": 1000}).status == 422
