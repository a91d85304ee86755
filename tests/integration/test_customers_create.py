"""POST /customers and GET /customers/{id} through the API function, against moto."""

from __future__ import annotations

from typing import Any

import pytest

from integration.conftest import ADA, Call


def test_create_individual_assigns_number_status_and_version(api: Call) -> None:
    # Given a valid individual
    # When staff create it
    answer = api("POST", "/customers", body=ADA, user="jsmith")
    # Then it is stored with a short number, active, at version 1, and who made it
    assert answer.status == 201
    body = answer.body
    assert body["customer_number"] == "100001"
    assert body["status"] == "active" and body["version"] == 1
    assert body["created_by"] == body["updated_by"] == "jsmith"
    assert api("GET", f"/customers/{body['id']}").body == {**body, "operator_notices": []}


def test_create_organization_and_numbers_increase(api: Call, ada: dict[str, Any]) -> None:
    answer = api("POST", "/customers", body={"type": "organization", "organization_name": "Northern Arts Trust"})
    assert answer.status == 201
    assert answer.body["type"] == "organization"
    assert int(answer.body["customer_number"]) == int(ada["customer_number"]) + 1


def test_missing_customer_is_404(api: Call) -> None:
    answer = api("GET", "/customers/01M84C74A9P5N5ACTCTPRJECSQ")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"


def test_malformed_id_is_named(api: Call) -> None:
    answer = api("GET", "/customers/not-an-id")
    assert answer.status == 422
    assert answer.body["error"]["fields"][0]["field"] == "customer_id"


def test_invalid_body_names_every_field(api: Call) -> None:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": 7, "surname": "x",
                                             "email": "nope"})
    assert answer.status == 422
    fields = {f["field"] for f in answer.body["error"]["fields"]}
    assert fields == {"first_name", "last_name", "surname", "email"}


def test_malformed_json_is_400(api: Call) -> None:
    answer = api("POST", "/customers", body="{not json")
    assert answer.status == 400
    assert answer.body["error"]["code"] == "malformed"


def test_taken_username_is_409_and_original_untouched(api: Call, ada: dict[str, Any]) -> None:
    # Given Ada holds the username alovelace
    # When another customer is created with it (different email and postcode)
    answer = api("POST", "/customers", body={**ADA, "first_name": "Augusta", "email": "augusta@example.org",
                                             "address": {"postcode": "SW1A 1AA"}})
    # Then it is refused and Ada is unchanged
    assert answer.status == 409
    assert answer.body["error"]["code"] == "username_taken"
    assert answer.body["error"]["fields"] == [{"field": "username", "message": "is taken by another customer"}]
    assert api("GET", f"/customers/{ada['id']}").body == {**ada, "operator_notices": []}
    assert api("GET", "/customers", query={"q": "augusta"}).body["items"] == []


def test_username_is_unique_whatever_its_case(api: Call, ada: dict[str, Any]) -> None:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": "A", "last_name": "B",
                                             "username": "ALoveLace"})
    assert answer.status == 409


def test_same_email_warns_unless_confirmed(api: Call, ada: dict[str, Any]) -> None:
    # Given Ada exists
    twin = {"type": "individual", "first_name": "Ada", "last_name": "King", "email": "ADA.LOVELACE@example.org"}
    # When a customer with the same email is created
    warned = api("POST", "/customers", body=twin)
    # Then staff are warned with the existing customer
    assert warned.status == 409
    assert warned.body["error"]["code"] == "possible_duplicate"
    assert warned.body["error"]["duplicates"] == [
        {"id": ada["id"], "customer_number": ada["customer_number"], "name": "Ada Lovelace", "reason": "same_email"}]
    # And confirming creates it
    assert api("POST", "/customers", body={**twin, "confirm_duplicate": True}).status == 201


def test_same_name_and_postcode_warns(api: Call, ada: dict[str, Any]) -> None:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": "ADA", "last_name": "lovelace",
                                             "address": {"postcode": "n19gu"}})
    assert answer.status == 409
    assert answer.body["error"]["duplicates"][0]["reason"] == "same_name_and_postcode"


def test_the_record_is_found_by_its_number_and_history_starts_with_creation(api: Call, ada: dict[str, Any]) -> None:
    found = api("GET", "/customers", query={"q": ada["customer_number"], "fields": "customer_number"})
    assert [c["id"] for c in found.body["items"]] == [ada["id"]]
    history = api("GET", f"/customers/{ada['id']}/history").body["items"]
    assert [h["action"] for h in history] == ["created"]
    assert {"field": "last_name", "old": None, "new": "Lovelace"} in history[0]["changes"]


def test_a_refusal_is_logged_by_its_code_and_fields_never_by_what_was_sent(
        api: Call, caplog: pytest.LogCaptureFixture) -> None:
    # Given a customer holding a username
    body = {"type": "individual", "first_name": "Ada", "last_name": "L", "username": "ada.private"}
    assert api("POST", "/customers", body=body).status == 201
    caplog.clear()
    # When another asks for it, and the refusal's message quotes it
    refused = api("POST", "/customers", body={**body, "first_name": "Other"})
    assert refused.status == 409 and "ada.private" in refused.body["error"]["message"]
    # Then the log says which refusal it was and the field it names, and nothing that was sent
    (line,) = [r for r in caplog.records if r.getMessage() == "request refused"]
    assert (line.code, line.fields) == ("username_taken", ["username"])  # type: ignore[attr-defined]
    assert not any("ada.private" in str(r.__dict__) for r in caplog.records)
