"""POST /customers/{id}/merge: everything of the source moves to the target, relationships are
re-pointed, the source is left merged and pointing at the target; an interrupted merge is finished by
running it again."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from crm_core.clock import utcnow
from crm_core.dal.dynamo import batch_write, to_item
from crm_core.dal.merge import MergeRepository
from crm_core.ids import new_id
from crm_core.models.points import PointsEntry
from crm_core.models.records import Note
from crm_core.wiring import merge_service
from crm_local.template import Template
from integration.conftest import Call


def _individual(api: Call, first: str, last: str, **more: Any) -> dict[str, Any]:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": first, "last_name": last,
                                             "confirm_duplicate": True, **more})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def _fill(api: Call, template: Template, customer: dict[str, Any], notes: int, points: int,
          links: list[dict[str, Any]]) -> None:
    """Notes and points entries written as the services write them (in one batch, to keep the test fast),
    relationships through the API."""
    base = f"/customers/{customer['id']}"
    api("POST", f"{base}/status", body={"action": "enroll"})
    now = utcnow()
    stamp = {"version": 1, "created_at": now, "created_by": "t", "updated_at": now, "updated_by": "t"}
    items = [{**Note(id=new_id(), text=f"{customer['first_name']} note {n}", **stamp).model_dump(mode="json"),
              "SK": f"NOTE#{new_id()}"} for n in range(notes)]
    balance = 0
    for n in range(points):
        balance += n + 1
        entry = PointsEntry(id=new_id(), amount=n + 1, type="loyalty", reason="r", balance_after=balance, at=now,
                            by="t")
        items.append({**entry.model_dump(mode="json"), "SK": f"PTS#{entry.id}"})
    items.append({"SK": "POINTS", "balance": balance, "version": points})
    requests = [{"PutRequest": {"Item": to_item({**i, "PK": f"CUST#{customer['id']}"})}} for i in items]
    batch_write(boto3.client("dynamodb"), template.physical_name("CustomersTable"), requests)
    for other in links:
        assert api("POST", f"{base}/relationships", body={"type": "contact", "related_id": other["id"]}).status == 201


def _partition(template: Template, customer_id: str) -> list[str]:
    items = boto3.client("dynamodb").query(
        TableName=template.physical_name("CustomersTable"), KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CUST#{customer_id}"}})["Items"]
    return sorted(i["SK"]["S"] for i in items)


def _pair(api: Call, template: Template, notes: int, points: int,
          links: int) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Two customers with that many notes, points entries and relationships each."""
    target = _individual(api, "Target", "Person", username="target1", email="target@example.org")
    source = _individual(api, "Source", "Person", username="source1", email="source@example.org")
    contacts = [_individual(api, f"Contact{n}", "Person") for n in range(2 * links)]
    _fill(api, template, target, notes, points, contacts[:links])
    _fill(api, template, source, notes, points, contacts[links:])
    return target, source, contacts


def _points(api: Call, customer: dict[str, Any]) -> dict[str, Any]:
    return dict(api("GET", f"/customers/{customer['id']}/points", query={"limit": 100}).body)


def test_a_merge_moves_everything_and_leaves_the_source_pointing_at_the_target(api: Call, aws: Template) -> None:
    target, source, contacts = _pair(api, aws, notes=3, points=2, links=2)
    # When the source is merged into the target
    answer = api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]}, user="mjones")
    # Then its notes, points and relationships are on the target
    assert answer.status == 200, answer.body
    assert {k: answer.body["moved"][k] for k in ("notes", "points_entries", "relationships")} == \
        {"notes": 3, "points_entries": 2, "relationships": 2}
    assert answer.body["resumed"] is False
    assert len(api("GET", f"/customers/{target['id']}/notes").body) == 6
    assert _points(api, target)["balance"] == 6
    # And the source's contacts now see the target
    seen = api("GET", f"/customers/{contacts[3]['id']}/relationships").body
    assert [(r["type"], r["related_id"]) for r in seen] == [("business", target["id"])]
    # And the source is merged, points at the target, and keeps only its profile and last history entry
    merged = api("GET", f"/customers/{source['id']}").body
    assert (merged["status"], merged["merged_into"]) == ("merged", target["id"])
    left = _partition(aws, source["id"])
    assert len(left) == 2 and left[0].startswith("HIST#") and left[1] == "PROFILE"
    # And both histories record the merge; the target's history holds the source's too
    assert api("GET", f"/customers/{source['id']}/history").body["items"][0]["action"] == "merged_into"
    target_history = api("GET", f"/customers/{target['id']}/history", query={"limit": 100}).body["items"]
    assert target_history[0]["action"] == "merged_from" and target_history[0]["by"] == "mjones"
    created = [e for e in target_history if e["action"] == "created"]
    assert sorted(next(c["new"] for c in e["changes"] if c["field"] == "first_name") for e in created) == \
        ["Source", "Target"]
    # And the source takes no edits or records, is found no more, and its username is free
    assert api("PATCH", f"/customers/{source['id']}", body={"version": merged["version"], "phone": "0161 496 0000"}) \
        .status == 409
    assert api("POST", f"/customers/{source['id']}/notes", body={"text": "late"}).status == 409
    assert api("GET", "/customers", query={"q": "source"}).body["items"] == []
    assert _individual(api, "New", "Owner", username="source1").get("username") == "source1"


def test_a_merge_of_50_notes_20_points_and_10_links_cut_off_half_way_is_finished_by_running_it_again(
        api: Call, aws: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    target, source, contacts = _pair(api, aws, notes=50, points=20, links=10)
    # Given the connection dies after the first transaction of the move
    real = MergeRepository.transact
    calls = {"n": 0}

    def dies_after_one(self: MergeRepository, actions: list[dict[str, Any]]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("connection reset")
        real(self, actions)

    monkeypatch.setattr(MergeRepository, "transact", dies_after_one)
    with pytest.raises(ConnectionError):
        merge_service().merge(target["id"], source["id"], "mjones")
    monkeypatch.undo()
    # Then the source is frozen (merged) with part of its items still on it
    assert api("GET", f"/customers/{source['id']}").body["status"] == "merged"
    assert any(sk.startswith("NOTE#") for sk in _partition(aws, source["id"]))
    assert api("POST", f"/customers/{source['id']}/points",
               body={"amount": 1, "type": "loyalty", "reason": "x"}).status == 409
    # When the merge is run again
    again = api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]})
    # Then it carries on and every item ends on the target
    assert again.status == 200 and again.body["resumed"] is True
    assert len(api("GET", f"/customers/{target['id']}/notes").body) == 100
    statement = _points(api, target)
    assert len(statement["entries"]) == 40 and statement["balance"] == 2 * sum(range(1, 21))
    links = api("GET", f"/customers/{target['id']}/relationships").body
    assert sorted(r["related_id"] for r in links) == sorted(c["id"] for c in contacts)
    assert len(_partition(aws, source["id"])) == 2
    # And running it a third time changes nothing
    third = api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]})
    assert third.status == 200 and third.body["moved"] == {}
    assert len(api("GET", f"/customers/{target['id']}/notes").body) == 100


def test_links_between_the_two_or_already_on_the_target_are_not_doubled(api: Call) -> None:
    target = _individual(api, "T", "One")
    source = _individual(api, "S", "Two")
    shared = _individual(api, "Shared", "Contact")
    for customer in (target, source):
        api("POST", f"/customers/{customer['id']}/relationships", body={"type": "contact", "related_id": shared["id"]})
    api("POST", f"/customers/{source['id']}/relationships", body={"type": "business", "related_id": target["id"]})
    assert api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]}).status == 200
    assert [r["related_id"] for r in api("GET", f"/customers/{target['id']}/relationships").body] == [shared["id"]]
    assert [r["related_id"] for r in api("GET", f"/customers/{shared['id']}/relationships").body] == [target["id"]]


def test_membership_moves_unless_the_target_has_one(api: Call, aws: Template) -> None:
    target, source = _individual(api, "T", "One"), _individual(api, "S", "Two")
    api("PUT", f"/customers/{source['id']}/membership", body={"programme": "Friends"})
    api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]})
    assert api("GET", f"/customers/{target['id']}/membership").body["programme"] == "Friends"
    other, third = _individual(api, "O", "Three"), _individual(api, "Q", "Four")
    api("PUT", f"/customers/{other['id']}/membership", body={"programme": "Patrons"})
    api("PUT", f"/customers/{third['id']}/membership", body={"programme": "Friends"})
    api("POST", f"/customers/{other['id']}/merge", body={"source_id": third["id"]})
    assert api("GET", f"/customers/{other['id']}/membership").body["programme"] == "Patrons"
    assert f"MEMBERSHIP#{third['id']}" in _partition(aws, other["id"])


@pytest.mark.parametrize(("case", "status", "field"), [
    ("itself", 422, "source_id"), ("missing", 422, "source_id"), ("bad id", 422, "source_id"),
])
def test_a_merge_of_itself_or_of_a_missing_customer_is_refused(api: Call, case: str, status: int,
                                                                 field: str) -> None:
    target = _individual(api, "T", "One")
    source_id = {"itself": target["id"], "missing": "01M84C74A9P5N5ACTCTPRJECSQ", "bad id": "x"}[case]
    answer = api("POST", f"/customers/{target['id']}/merge", body={"source_id": source_id})
    assert answer.status == status and answer.body["error"]["fields"][0]["field"] == field


def test_merging_into_a_merged_customer_or_twice_elsewhere_is_refused(api: Call) -> None:
    a, b, c = _individual(api, "A", "One"), _individual(api, "B", "Two"), _individual(api, "C", "Three")
    assert api("POST", f"/customers/{a['id']}/merge", body={"source_id": b["id"]}).status == 200
    assert api("POST", f"/customers/{b['id']}/merge", body={"source_id": c["id"]}).status == 409
    assert api("POST", f"/customers/{c['id']}/merge", body={"source_id": b["id"]}).status == 409


def test_a_preview_counts_what_would_move_as_the_merge_then_does_and_writes_nothing(api: Call,
                                                                                    aws: Template) -> None:
    # Given two customers with notes, points and links, one of the source's links also on the target
    target, source, contacts = _pair(api, aws, notes=3, points=2, links=2)
    assert api("POST", f"/customers/{source['id']}/relationships",
               body={"type": "contact", "related_id": contacts[0]["id"]}).status == 201
    before = _partition(aws, source["id"])
    # When staff preview merging the source into the target
    preview = api("POST", f"/customers/{target['id']}/merge/preview", body={"source_id": source["id"]})
    # Then they see what moves, the points that add up and the claims released; nothing changed
    assert preview.status == 200, preview.body
    assert preview.body["source"]["id"] == source["id"] and preview.body["target"]["id"] == target["id"]
    assert preview.body["points"] == {"source": 3, "target": 3, "after": 6}
    assert preview.body["released"] == {"username": "source1", "email": "source@example.org"}
    assert _partition(aws, source["id"]) == before
    # And the merge moves exactly what the preview counted
    merged = api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]})
    assert merged.body["moved"] == preview.body["moves"]
    assert preview.body["moves"]["notes"] == 3 and preview.body["moves"]["relationships"] == 2
    assert preview.body["moves"]["relationships_dropped"] == 1
    # And a merged source cannot be previewed again, nor a customer into itself
    again = api("POST", f"/customers/{target['id']}/merge/preview", body={"source_id": source["id"]})
    assert again.status == 409
    itself = api("POST", f"/customers/{target['id']}/merge/preview", body={"source_id": target["id"]})
    assert itself.status == 422 and itself.body["error"]["fields"][0]["field"] == "source_id"
