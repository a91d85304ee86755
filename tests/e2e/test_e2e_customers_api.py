"""End to end: the customers API over real HTTP on loopback, served by the local stack through the real
handlers, against the AWS emulator, with the demo customers loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from crm_local.cli import LocalStack
from crm_local.demo import DEMO_CUSTOMERS
from e2e.conftest import Answer, Http, assert_error_shape

pytestmark = pytest.mark.e2e

def stored(http: Http, customer_id: str) -> dict[str, Any]:
    """The customer as GET /customers/{id} answers it, less the operator notices shown beside it."""
    answer = http("GET", f"/customers/{customer_id}")
    assert answer.status == 200, answer.body
    body = dict(answer.body)
    assert isinstance(body.pop("operator_notices"), list)
    return body


MISSING_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"  # a well-formed id no customer has


def created(http: Http, customer: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    answer = http("POST", "/customers", customer, **kwargs)
    assert answer.status == 201, answer.body
    return dict(answer.body)


def ids(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [c["id"] for c in answer.body["items"]]


def field_names(answer: Answer) -> set[str]:
    return {f["field"] for f in assert_error_shape(answer)["fields"]}


# ---- the story: create, find, edit, review ------------------------------------------------------------

EDITH = {"type": "individual", "first_name": "Edith", "last_name": "Clarke", "username": "eclarke",
         "email": "edith.clarke@example.org", "phone": "+44 20 7946 0123",
         "address": {"line1": "1 Byron Road", "line2": None, "city": "London", "county": None, "postcode": "SW1A 1AA",
                     "country": "GB"}}


def test_staff_create_find_edit_and_review_a_customer(http: Http) -> None:
    # Given staff register a new customer
    answer = http("POST", "/customers", EDITH)
    assert answer.status == 201, answer.body
    edith = answer.body
    assert {k: edith[k] for k in EDITH} == EDITH
    assert edith["status"] == "active" and edith["version"] == 1 and edith["customer_number"]
    assert edith["created_by"] == edith["updated_by"] == "local-staff"

    # When they search by the start of a word of her email, and by her postcode
    by_email = http("GET", "/customers", query={"q": "edi", "fields": "email"})
    by_postcode = http("GET", "/customers", query={"q": "SW1A 1AA", "fields": "postcode"})
    # Then both searches find her (and a fragment from inside a word does not)
    assert edith["id"] in ids(by_email)
    assert edith["id"] in ids(by_postcode)
    assert edith["id"] not in ids(http("GET", "/customers", query={"q": "dith", "fields": "email"}))

    # When they change her phone and city, sending the version they read
    patched = http("PATCH", f"/customers/{edith['id']}",
                   {"version": 1, "phone": "+44 20 7946 0999", "address": {"city": "Westminster"}})
    # Then the customer is saved at the next version, the rest of the address kept
    assert patched.status == 200, patched.body
    assert patched.body["version"] == 2
    assert patched.body["phone"] == "+44 20 7946 0999"
    assert patched.body["address"] == {**EDITH["address"], "city": "Westminster"}

    # And the history shows the edit first (field, old, new, by), then the creation
    history = http("GET", f"/customers/{edith['id']}/history")
    assert history.status == 200, history.body
    newest, oldest = history.body["items"]
    assert newest["action"] == "updated" and oldest["action"] == "created"
    assert newest["at"] >= oldest["at"]
    assert newest["by"] == "local-staff"
    changes = {c["field"]: (c["old"], c["new"]) for c in newest["changes"]}
    assert changes == {"phone": ("+44 20 7946 0123", "+44 20 7946 0999"), "address.city": ("London", "Westminster")}

    # And reading her back gives the edited record
    again = http("GET", f"/customers/{edith['id']}")
    assert again.status == 200 and again.body == {**patched.body, "operator_notices": []}


def test_an_edited_email_is_found_by_its_new_words_only(http: Http) -> None:
    # Given a customer found by a word of her email
    ida = created(http, {"type": "individual", "first_name": "Ida", "last_name": "Noddack",
                         "email": "ida.noddack@rhenium.example"})
    assert ida["id"] in ids(http("GET", "/customers", query={"q": "rhenium", "fields": "email"}))
    # When her email changes
    answer = http("PATCH", f"/customers/{ida['id']}", {"version": 1, "email": "ida@masurium.example"})
    assert answer.status == 200, answer.body
    # Then the new email's words find her and the old one's no longer do
    assert ida["id"] in ids(http("GET", "/customers", query={"q": "masurium", "fields": "email"}))
    assert ida["id"] not in ids(http("GET", "/customers", query={"q": "rhenium", "fields": "email"}))


def test_history_is_paged_newest_first(http: Http) -> None:
    # Given a customer edited twice
    hedy = created(http, {"type": "individual", "first_name": "Hedy", "last_name": "Lamarr"})
    for version, phone in ((1, "020 7946 0001"), (2, "020 7946 0002")):
        assert http("PATCH", f"/customers/{hedy['id']}", {"version": version, "phone": phone}).status == 200
    # When her history is read one entry per page
    entries, cursor = [], None
    for _ in range(5):
        page = http("GET", f"/customers/{hedy['id']}/history", query={"limit": 1, **({"cursor": cursor} if cursor
                                                                                       else {})})
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= 1
        entries += page.body["items"]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    # Then the pages give the last edit, the first edit, then the creation
    assert [(e["action"], [c["new"] for c in e["changes"] if c["field"] == "phone"]) for e in entries] == [
        ("updated", ["020 7946 0002"]), ("updated", ["020 7946 0001"]), ("created", [])]


# ---- conflicts ----------------------------------------------------------------------------------------

def test_an_edit_from_a_stale_version_is_refused_with_the_current_version(http: Http) -> None:
    # Given a customer that someone else has edited since it was read at version 1
    grace = created(http, {"type": "individual", "first_name": "Grace", "last_name": "Brewster"})
    first = http("PATCH", f"/customers/{grace['id']}", {"version": 1, "phone": "0117 496 0001"})
    assert first.status == 200 and first.body["version"] == 2
    # When an edit is sent with version 1
    stale = http("PATCH", f"/customers/{grace['id']}", {"version": 1, "phone": "0117 496 0002"})
    # Then it is refused with 409, the current version, and the version field named
    assert stale.status == 409
    error = assert_error_shape(stale)
    assert error["code"] == "version_conflict"
    assert error["current_version"] == 2
    assert "version" in field_names(stale)
    # And the other edit stands
    assert stored(http, grace["id"]) == first.body


def test_of_simultaneous_edits_from_one_version_exactly_one_wins(http: Http) -> None:
    # Given a customer that five staff read at version 1
    ray = created(http, {"type": "individual", "first_name": "Ray", "last_name": "Dolby"})
    phones = [f"020 7946 010{n}" for n in range(5)]
    answers: list[Answer] = []

    def save(phone: str) -> None:
        answers.append(http("PATCH", f"/customers/{ray['id']}", {"version": 1, "phone": phone}))

    # When they all save their edit at the same time
    staff = [threading.Thread(target=save, args=(phone,)) for phone in phones]
    for thread in staff:
        thread.start()
    for thread in staff:
        thread.join(timeout=30)
    # Then exactly one edit is saved and the others are told the version moved on
    assert sorted(a.status for a in answers) == [200, 409, 409, 409, 409]
    (winner,) = [a.body for a in answers if a.status == 200]
    assert all(assert_error_shape(a)["current_version"] == 2 for a in answers if a.status == 409)
    assert stored(http, ray["id"]) == winner
    assert len(http("GET", f"/customers/{ray['id']}/history").body["items"]) == 2


def test_a_taken_username_is_refused_and_the_original_untouched(http: Http) -> None:
    # Given a customer with a username
    tim = created(http, {"type": "individual", "first_name": "Tim", "last_name": "Berners", "username": "tberners"})
    # When another customer is created with the same username (in other letter case)
    answer = http("POST", "/customers", {"type": "individual", "first_name": "Tess", "last_name": "Ogilvy",
                                         "username": "TBerners", "email": "tess.ogilvy@example.org"})
    # Then it is refused with 409 username_taken, naming the username
    assert answer.status == 409
    assert assert_error_shape(answer)["code"] == "username_taken"
    assert field_names(answer) == {"username"}
    # And the first customer is unchanged and nothing of the second was saved
    assert stored(http, tim["id"]) == tim
    assert ids(http("GET", "/customers", query={"q": "ogilvy"})) == []
    # When a customer without a username is given the taken one
    tess = created(http, {"type": "individual", "first_name": "Tess", "last_name": "Ogilvy"})
    edit = http("PATCH", f"/customers/{tess['id']}", {"version": 1, "username": "tberners"})
    # Then that is refused the same way, and neither customer changes
    assert edit.status == 409
    assert assert_error_shape(edit)["code"] == "username_taken"
    assert stored(http, tess["id"]) == tess
    assert stored(http, tim["id"]) == tim


def test_a_duplicate_email_needs_confirmation(http: Http) -> None:
    # Given a customer with an email
    dora = created(http, {"type": "individual", "first_name": "Dora", "last_name": "Metcalf",
                          "email": "dora.metcalf@example.org"})
    other = {"type": "individual", "first_name": "Dorothy", "last_name": "Hodgkin", "email": "dora.metcalf@example.org"}
    # When another customer is created with the same email
    refused = http("POST", "/customers", other)
    # Then it is refused with 409 possible_duplicate, listing the existing customer
    assert refused.status == 409
    error = assert_error_shape(refused)
    assert error["code"] == "possible_duplicate"
    assert [(d["id"], d["reason"]) for d in error["duplicates"]] == [(dora["id"], "same_email")]
    # When it is sent again with confirm_duplicate
    confirmed = http("POST", "/customers", {**other, "confirm_duplicate": True})
    # Then it is created as a separate customer
    assert confirmed.status == 201, confirmed.body
    assert confirmed.body["id"] != dora["id"]
    assert confirmed.body["email"] == "dora.metcalf@example.org"
    assert "confirm_duplicate" not in confirmed.body


# ---- invalid requests ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fields"), [
    pytest.param({"type": "individual"}, {"first_name", "last_name"}, id="missing-individual-names"),
    pytest.param({"type": "organization"}, {"organization_name"}, id="missing-organization-name"),
    pytest.param({"type": "individual", "first_name": 42, "last_name": ["Lovelace"], "email": 7, "answers": "x"},
                 {"first_name", "last_name", "email", "answers"}, id="wrong-types"),
    pytest.param({"type": "organization", "organization_name": "Acme", "favourite_colour": "blue",
                  "address": {"line1": "1 Mill Lane", "flat": "2"}},
                 {"favourite_colour", "address.flat"}, id="unknown-fields"),
])
def test_an_invalid_customer_is_refused_naming_each_field(http: Http, body: dict[str, Any],
                                                          fields: set[str]) -> None:
    # Given a customer with missing, wrongly typed or unknown fields
    # When staff try to create it
    answer = http("POST", "/customers", body)
    # Then it is refused with 422, naming each of those fields
    assert answer.status == 422
    assert assert_error_shape(answer)["code"] == "invalid"
    assert field_names(answer) == fields


def test_an_invalid_edit_is_refused_naming_each_field(http: Http) -> None:
    # Given an existing customer
    alan = created(http, {"type": "individual", "first_name": "Alan", "last_name": "Blumlein"})
    # When an edit leaves out the version, mistypes the phone and adds an unknown field
    answer = http("PATCH", f"/customers/{alan['id']}", {"phone": 123, "shoe_size": 9})
    # Then it is refused with 422 naming each, and the customer is unchanged
    assert answer.status == 422
    assert field_names(answer) == {"version", "phone", "shoe_size"}
    assert stored(http, alan["id"]) == alan


@pytest.mark.parametrize("path", ["/customers", "/customers/{id}/history"])
def test_an_oversized_limit_is_invalid(http: Http, demo_id: str, path: str) -> None:
    # Given a listing
    # When a page far larger than the cap is asked for
    answer = http("GET", path.format(id=demo_id), query={"limit": 100_000})
    # Then it is refused with 422 naming limit
    assert answer.status == 422
    assert field_names(answer) == {"limit"}


@pytest.mark.parametrize("path", ["/customers", "/customers/{id}/history"])
def test_a_garbage_cursor_is_refused(http: Http, demo_id: str, path: str) -> None:
    # Given a listing
    # When it is asked for with a cursor the API never issued
    answer = http("GET", path.format(id=demo_id), query={"cursor": "not-a-cursor"})
    # Then it is refused with 400 invalid_cursor naming the cursor
    assert answer.status == 400
    assert assert_error_shape(answer)["code"] == "invalid_cursor"
    assert field_names(answer) == {"cursor"}


def test_an_edited_cursor_is_refused(http: Http) -> None:
    # Given a real cursor with one character changed
    cursor = http("GET", "/customers", query={"limit": 3}).body["next_cursor"]
    assert cursor
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    # When it is used
    answer = http("GET", "/customers", query={"limit": 3, "cursor": tampered})
    # Then it is refused with 400 invalid_cursor
    assert answer.status == 400
    assert assert_error_shape(answer)["code"] == "invalid_cursor"


def test_a_cursor_of_one_query_is_refused_by_another(http: Http) -> None:
    # Given the cursor of a search's first page
    cursor = http("GET", "/customers", query={"limit": 3}).body["next_cursor"]
    assert cursor
    assert http("GET", "/customers", query={"limit": 3, "cursor": cursor}).status == 200
    # When it is sent with a different search
    answer = http("GET", "/customers", query={"limit": 3, "type": "organization", "cursor": cursor})
    # Then it is refused with 400 invalid_cursor
    assert answer.status == 400
    assert assert_error_shape(answer)["code"] == "invalid_cursor"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_malformed_json_is_400(http: Http, demo_id: str, method: str) -> None:
    # Given a body that is not JSON
    path = "/customers" if method == "POST" else f"/customers/{demo_id}"
    # When it is sent
    answer = http(method, path, raw=b'{"type": "individual", "first_name": ')
    # Then it is refused with 400 malformed
    assert answer.status == 400
    assert assert_error_shape(answer)["code"] == "malformed"


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/no-such-route", 404, "not_found"),
    ("GET", f"/customers/{MISSING_ID}", 404, "not_found"),
    ("GET", f"/customers/{MISSING_ID}/history", 404, "not_found"),
    ("PUT", "/health", 405, "method_not_allowed"),
])
def test_what_does_not_exist_is_refused(http: Http, method: str, path: str, status: int, code: str) -> None:
    # Given a route or customer that does not exist
    # When it is requested
    answer = http(method, path)
    # Then the answer says so, with the error shape
    assert answer.status == status
    assert assert_error_shape(answer)["code"] == code


# ---- paging -------------------------------------------------------------------------------------------

def test_paging_visits_every_customer_exactly_once(http: Http) -> None:
    # Given every customer registered recently (the demo customers and those made above), on one page
    everyone = ids(http("GET", "/customers", query={"limit": 100}))
    assert len(everyone) < 100
    # When they are read three at a time, following next_cursor
    seen: list[str] = []
    cursor = None
    for _ in range(len(everyone)):
        page = http("GET", "/customers", query={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert len(ids(page)) <= 3
        seen += ids(page)
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    # Then each is visited once, in the same order, and every demo customer is among them
    assert len(seen) == len(set(seen))
    assert seen == everyone
    demo = [c for c in http("GET", "/customers", query={"limit": 100}).body["items"] if c["created_by"] == "demo-data"]
    assert len(demo) == len(DEMO_CUSTOMERS)


# ---- who did it ---------------------------------------------------------------------------------------

def test_the_dev_user_header_names_who_created_and_edited(http: Http) -> None:
    # Given a customer created by a named staff user
    answer = http("POST", "/customers", {"type": "organization", "organization_name": "Signal Works Ltd"},
                  headers={"X-Dev-User": "someone"})
    assert answer.status == 201, answer.body
    assert answer.body["created_by"] == answer.body["updated_by"] == "someone"
    # When another staff user edits it
    edited = http("PATCH", f"/customers/{answer.body['id']}", {"version": 1, "phone": "0161 496 0100"},
                  headers={"X-Dev-User": "someone-else"})
    # Then the record and the history name each of them
    assert edited.status == 200, edited.body
    assert (edited.body["created_by"], edited.body["updated_by"]) == ("someone", "someone-else")
    history = http("GET", f"/customers/{answer.body['id']}/history").body["items"]
    assert [e["by"] for e in history] == ["someone-else", "someone"]


def test_dev_user_header_is_read_whatever_its_case(stack: LocalStack) -> None:
    # Given a client that sends the header in lower case (HTTP header names are case-insensitive)
    host, port = stack.api.server.server_address[:2]
    connection = HTTPConnection(str(host), int(port), timeout=10)
    body = json.dumps({"type": "individual", "first_name": "Lower", "last_name": "Case"})
    # When it creates a customer
    connection.request("POST", "/customers", body=body,
                       headers={"content-type": "application/json", "x-dev-user": "lowercase-user"})
    answer = connection.getresponse()
    created = json.loads(answer.read())
    connection.close()
    # Then the customer is made by that user
    assert answer.status == 201, created
    assert created["created_by"] == "lowercase-user"


# ---- public routes and documentation ------------------------------------------------------------------

def test_health_is_public(http: Http) -> None:
    # Given no signed-in user
    # When the health check is called
    answer = http("GET", "/health")
    # Then it answers 200 ok
    assert answer.status == 200
    assert answer.body == {"status": "ok"}


def test_openapi_lists_every_route_of_the_template(http: Http, stack: LocalStack) -> None:
    # Given the routes of template.yaml
    routes = stack.template.routes()
    # When the OpenAPI document is fetched
    answer = http("GET", "/openapi.json")
    # Then it is an OpenAPI 3 document with an operation for each route
    assert answer.status == 200
    document = answer.body
    assert str(document["openapi"]).startswith("3.")
    missing = [(r.method, r.path) for r in routes if r.method.lower() not in document["paths"].get(r.path, {})]
    assert routes and missing == []
    # And every list pages the same way: `limit` (1 to 100) and an opaque `cursor`, by those names only
    paging: dict[str, set[tuple[Any, ...]]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in ("limit", "cursor", "after", "page_size"):
                    schema = parameter["schema"]["anyOf"][0] if "anyOf" in parameter["schema"] else parameter["schema"]
                    paging.setdefault(parameter["name"], set()).add(
                        tuple(schema.get(k) for k in ("minimum", "maximum", "maxLength")))
                    assert parameter["name"] in ("limit", "cursor"), (method, path, parameter["name"])
    assert paging == {"limit": {(1, 100, None)}, "cursor": {(None, None, 2000)}}


def test_docs_serve_a_swagger_ui_for_the_openapi_document(http: Http) -> None:
    # Given the API's OpenAPI document
    document = http("GET", "/openapi.json").body
    # When the docs page is fetched
    answer = http("GET", "/docs")
    # Then it is an HTML page whose scripts and styles are served
    assert answer.status == 200
    assert answer.content_type.startswith("text/html")
    page = answer.raw.decode()
    assert "<html" in page.lower() and "SwaggerUIBundle" in page
    assets = re.findall(r"(?:src|href)=['\"](/[^'\"]+)['\"]", page)
    assert assets
    for asset in assets:
        assert http("GET", asset).status == 200, asset
    # And it hands Swagger UI the document: inline as JSON, or as the quoted URL of /openapi.json
    spec = re.search(r"\bspec:\s*(.*?),\s*\n\s*presets:", page, re.DOTALL)
    url = re.search(r"\burl:\s*(['\"])(.*?)\1", page)
    if spec:
        try:
            inline = json.loads(spec.group(1))
        except json.JSONDecodeError:
            pytest.fail(f"the page's script has `spec: {spec.group(1)}`, neither the document nor a quoted URL; "
                        "Swagger UI cannot start")
        assert isinstance(inline, dict) and inline.get("paths") == document["paths"], \
            "the page's spec is not the API's document"
    else:
        assert url and url.group(2).endswith("/openapi.json"), "the page names no OpenAPI document"


# ---- the command line ---------------------------------------------------------------------------------

def test_crm_invoke_runs_a_sample_event_against_the_running_stack(http: Http, stack: LocalStack) -> None:
    # Given a customer that only this stack holds, found by the search sample (q=lovelace)
    byron = created(http, {"type": "individual", "first_name": "Byron", "last_name": "Lovelace"})
    crm = Path(sys.executable).with_name("crm")
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}  # only --endpoint names the stack
    # When `crm invoke CustomersApiFunction --event search --endpoint <the stack>` runs
    done = subprocess.run([str(crm), "invoke", "CustomersApiFunction", "--event", "search",
                           "--endpoint", stack.aws_endpoint], capture_output=True, text=True, timeout=60,
                          env=env, check=False)
    # Then it prints the function's 200 proxy response as JSON, with the search's results from this stack
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    found = json.loads(response["body"])["items"]
    assert byron["id"] in [c["id"] for c in found]
    assert "Ada" in [c["first_name"] for c in found]


@pytest.fixture(scope="module")
def demo_id(http: Http) -> str:
    """The id of a demo customer (Ada Lovelace), found through the API."""
    answer = http("GET", "/customers", query={"q": "alovelace", "fields": "username"})
    (ada,) = answer.body["items"]
    return str(ada["id"])
