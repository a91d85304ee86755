"""Input a typo, a fuzzer or a hostile form sends: each answers 4xx naming what is wrong (or works), never a 500,
and nothing is stored in place of what was sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_local.template import Template
from integration.conftest import Call, Drain
from integration.test_mail import _seed


def _fields(answer: Any) -> list[str]:
    return [f["field"] for f in answer.body["error"]["fields"]]


# ---- far dates -------------------------------------------------------------------------------------------------

def test_an_invoice_due_at_the_end_of_the_calendar_can_be_refreshed(api: Call, ada: dict[str, Any]) -> None:
    added = api("POST", f"/customers/{ada['id']}/invoices",
                body={"issued_on": "2026-01-01", "due_on": "9999-12-31", "amount": "10.00"})
    assert added.status == 201
    refreshed = api("POST", f"/customers/{ada['id']}/balance/refresh")
    assert refreshed.status == 200 and refreshed.body["aging"]["current"] == "10.00"


# ---- edits that null what a record needs -----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "body", "field"), [
    ("notes", {"text": "Prefers email"}, "text"),
    ("tasks", {"title": "Call back"}, "title"),
    ("jobs", {"title": "Fit the boiler"}, "title"),
    ("deliveries", {"description": "Two boxes"}, "description"),
    ("costs", {"description": "Parts", "amount": "12.50", "incurred_on": "2026-01-05"}, "amount"),
])
def test_an_edit_may_not_null_a_required_field(api: Call, ada: dict[str, Any], kind: str, body: dict[str, Any],
                                               field: str) -> None:
    base = f"/customers/{ada['id']}/{kind}"
    record = api("POST", base, body=body).body
    answer = api("PATCH", f"{base}/{record['id']}", body={"version": 1, field: None})
    assert answer.status == 422 and _fields(answer) == [field]
    assert api("GET", base).body[0][field] == record[field]


# ---- numbers DynamoDB cannot hold, and JSON that is not JSON --------------------------------------------------

@pytest.mark.parametrize("number", ["1e200", "-1e200", "5e-324", "1" * 50, "1e999"])
def test_answers_that_dynamodb_cannot_store_are_refused(api: Call, number: str) -> None:
    raw = '{"type": "individual", "first_name": "Num", "last_name": "Ber", "answers": {"size": ' + number + "}}"
    answer = api("POST", "/customers", body=raw)
    assert answer.status == 422 and _fields(answer) == ["answers.size"], answer.body


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_nothing_is_stored_as_null(api: Call, constant: str) -> None:
    raw = '{"type": "individual", "first_name": "Not", "last_name": "Number", "answers": {"size": ' + constant + "}}"
    answer = api("POST", "/customers", body=raw)
    assert (answer.status, answer.body["error"]["code"]) == (400, "malformed")
    assert api("GET", "/customers", query={"q": "number"}).body["items"] == []


def test_numbers_dynamodb_holds_are_kept_exactly(api: Call) -> None:
    created = api("POST", "/customers", body={"type": "individual", "first_name": "Num", "last_name": "Ber",
                                               "answers": {"big": 10**37, "small": 1.5e-100, "pi": 3.14159}})
    assert created.status == 201
    assert api("GET", f"/customers/{created.body['id']}").body["answers"] == {"big": 10**37, "small": 1.5e-100,
                                                                              "pi": 3.14159}


def test_json_nested_a_thousand_deep_is_malformed(api: Call) -> None:
    deep = "[" * 1000 + "]" * 1000
    answer = api("POST", "/customers", body='{"type": "individual", "answers": ' + deep + "}")
    assert (answer.status, answer.body["error"]["code"]) == (400, "malformed")


def test_a_body_is_parsed_once(api: Call, ada: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a note sent as JSON, and every JSON parse of the process counted
    body = {"text": "Rang about the renewal"}
    parsed: list[str] = []
    loads = json.loads

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(text)
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    # When it is served (checked at the edge, validated and stored by the route)
    answer = api("POST", f"/customers/{ada['id']}/notes", body=body)
    # Then its text was parsed once
    assert answer.status == 201 and answer.body["text"] == body["text"]
    assert parsed.count(json.dumps(body)) == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415(api: Call, content_type: str) -> None:
    body = json.dumps({"type": "organization", "organization_name": "Typed Ltd"})
    answer = api("POST", "/customers", body=body, headers={"Content-Type": content_type})
    assert (answer.status, answer.body["error"]["code"]) == (415, "unsupported_media_type")
    assert api("POST", "/customers", body=body, headers={"Content-Type": "application/json; charset=utf-8"}
               ).status == 201


@pytest.mark.parametrize("version", [False, True, "1", 1.0])
def test_a_version_is_a_whole_number_not_a_truth_value(api: Call, version: Any) -> None:
    answer = api("POST", "/mail-lists", body={"name": "Patrons", "ids": [], "version": version})
    assert answer.status == 422 and _fields(answer) == ["version"]


# ---- templates that could not render --------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "Hello {{ first_name < 5 }}",
    "{% if customer_number > 100000 %}Big{% endif %}",
    "{% if 'a' in email %}A{% endif %}",
    "Hello " + "(" * 500 + "first_name" + ")" * 500,
    "Hello {{ " + "(" * 500 + "first_name" + ")" * 500 + " }}",
])
def test_a_template_that_cannot_render_for_everyone_is_refused_when_saved(api: Call, aws: Template,
                                                                          body: str) -> None:
    ids = _seed(aws, 1, opted_out=0, suppressed=0)
    for path, extra in (("/mailings", {"ids": ids}), ("/mailings/preview", {"customer_id": ids[0]})):
        answer = api("POST", path, body={"subject": "Hi", "body": body, **extra})
        assert answer.status == 422 and _fields(answer) == ["body"], (path, answer.body)


def test_a_mailing_that_fails_to_render_marks_its_recipients_failed_not_sending(
        api: Call, aws: Template, mailer: Drain) -> None:
    # Given a mailing saved before today's checks, whose body fails for every recipient
    from crm_core.wiring import mailing_service

    ids = _seed(aws, 3, opted_out=0, suppressed=0)
    mailing = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello {{ first_name }}", "ids": ids}).body
    from crm_core.aws import client
    from crm_core.config import get_settings

    client("dynamodb").update_item(
        TableName=get_settings().table_name, Key={"PK": {"S": f"MAILING#{mailing['id']}"}, "SK": {"S": "JOB"}},
        UpdateExpression="SET body = :b", ExpressionAttributeValues={":b": {"S": "Hello {{ first_name < 5 }}"}})
    mailing_service()._templates.clear()
    # When the mailer works through it
    assert mailer() == []
    # Then every recipient is failed with the reason, and the mailing completes
    done = api("GET", f"/mailings/{mailing['id']}").body
    assert done["status"] == "completed" and done["counts"]["failed"] == 3
    assert {r["status"] for r in done["recipients"]} == {"failed"}
    assert "cannot be rendered" in done["recipients"][0]["reason"]


def test_one_recipient_whose_email_fails_to_render_is_failed_and_the_others_are_sent(
        api: Call, aws: Template, mailer: Drain, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.mail import render

    ids = _seed(aws, 3, opted_out=0, suppressed=0)
    real = render.recipient_of

    def breaks_on_first1(customer: Any) -> Any:
        if customer.first_name == "First1":
            raise UnicodeError("a name that cannot be encoded")
        return real(customer)

    monkeypatch.setattr(render, "recipient_of", breaks_on_first1)
    mailing = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello {{ first_name }}", "ids": ids}).body
    assert mailer() == []
    done = api("GET", f"/mailings/{mailing['id']}").body
    assert (done["status"], done["counts"]["sent"], done["counts"]["failed"]) == ("completed", 2, 1)
    failed = [r for r in done["recipients"] if r["status"] == "failed"]
    assert [r["customer_id"] for r in failed] == [ids[1]] and "cannot be encoded" in failed[0]["reason"]


# ---- a retry of a write that already landed -------------------------------------------------------------------

def test_a_retried_write_with_an_idempotency_key_is_recognised_not_doubled(api: Call, ada: dict[str, Any]) -> None:
    # Given a note written with an Idempotency-Key, whose answer the client never saw
    base = f"/customers/{ada['id']}/notes"
    key = {"Idempotency-Key": "note-7f3a"}
    first = api("POST", base, body={"text": "Called about renewal"}, headers=key)
    # When the client sends the same request again
    retry = api("POST", base, body={"text": "Called about renewal"}, headers=key)
    # Then it gets the first answer, and there is one note
    assert first.status == retry.status == 201 and retry.body == first.body
    assert [n["text"] for n in api("GET", base).body] == ["Called about renewal"]
    # And the same key for another body is refused; another user's key is their own; a new key writes again
    reused = api("POST", base, body={"text": "Something else"}, headers=key)
    assert (reused.status, reused.body["error"]["code"]) == (422, "idempotency_key_reused")
    assert api("POST", base, body={"text": "Called about renewal"}, headers=key, user="someone-else").status == 201
    assert api("POST", base, body={"text": "Called about renewal"}, headers={"Idempotency-Key": "n2"}).status == 201
    assert len(api("GET", base).body) == 3


def test_a_refused_write_is_not_kept_under_its_key(api: Call, ada: dict[str, Any]) -> None:
    key = {"Idempotency-Key": "invoice-1"}
    base = f"/customers/{ada['id']}/invoices"
    body = {"issued_on": "2026-01-01", "due_on": "2026-02-01", "amount": "10.00", "number": "INV-X1"}
    assert api("POST", base, body={**body, "amount": "-1"}, headers=key).status == 422
    assert api("POST", base, body=body, headers={"Idempotency-Key": "invoice-2"}).status == 201
    assert api("POST", base, body=body, headers={"Idempotency-Key": "invoice-2"}).status == 201
    assert len(api("GET", base).body["items"]) == 1


# ---- one set of refusal names ---------------------------------------------------------------------------------

def test_every_domain_error_is_named_in_errors_py() -> None:
    import importlib
    import pkgutil

    import crm_core
    from crm_core.errors import DomainError

    for module in pkgutil.walk_packages(crm_core.__path__, "crm_core."):
        importlib.import_module(module.name)
    found, stack = [], [DomainError]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    assert found and [f"{c.__module__}.{c.__name__}" for c in found if c.__module__ != "crm_core.errors"] == []
    codes = [c.code for c in found]
    assert len(codes) == len(set(codes)), "one code per refusal"


def test_every_change_to_a_merged_customer_is_refused_by_one_guard(api: Call, ada: dict[str, Any]) -> None:
    source = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "Twice"}).body
    assert api("POST", f"/customers/{ada['id']}/merge", body={"source_id": source["id"]}).status == 200
    for method, path, body in [
            ("PATCH", f"/customers/{source['id']}", {"version": 2, "phone": "+44 20 7946 0001"}),
            ("POST", f"/customers/{source['id']}/notes", {"text": "Too late"}),
            ("PUT", f"/customers/{source['id']}/staff", {"staff": ["local-clerk"]}),
            ("POST", f"/customers/{source['id']}/invoices",
             {"issued_on": "2026-01-01", "due_on": "2026-02-01", "amount": "1.00"}),
            ("POST", f"/customers/{ada['id']}/relationships", {"type": "contact", "related_id": source["id"]})]:
        answer = api(method, path, body=body)
        assert (answer.status, answer.body["error"]["code"]) == (409, "customer_merged"), (path, answer.body)


def test_a_send_that_fails_unexplained_puts_the_recipient_back_and_each_is_sent_once(
        api: Call, aws: Template, mailer: Drain, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.aws import client

    ses = client("sesv2")
    real = ses.send_email
    calls = {"n": 0}

    def fails_every_third(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected"}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", fails_every_third)
    monkeypatch.setattr("crm_core.dal.dynamo.Backoff.pause", lambda self, attempt: None)
    ids = _seed(aws, 5, opted_out=0, suppressed=0)
    mailing = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello", "ids": ids}).body
    failed = mailer()
    done = api("GET", f"/mailings/{mailing['id']}").body
    assert failed and done["status"] == "completed" and done["counts"]["sent"] == 5
    assert {r["status"] for r in done["recipients"]} == {"sent"}


@pytest.mark.parametrize("path", ["/customers", "/customers/{id}/history", "/customers/{id}/invoices",
                                  "/customers/{id}/purchases", "/customers/{id}/points"])
def test_page_sizes_are_capped_at_the_edge_naming_limit(api: Call, ada: dict[str, Any], path: str) -> None:
    answer = api("GET", path.format(id=ada["id"]), query={"limit": 101})
    assert answer.status == 422 and _fields(answer) == ["limit"], answer.body
    assert api("GET", path.format(id=ada["id"]), query={"limit": 100}).status == 200
