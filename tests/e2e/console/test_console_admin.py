"""What only an admin does in the console (merge, delete, bulk delete), hidden from staff and refused when the
API says no; and signing in through the Cognito hosted UI with PKCE, against a stand-in for the hosted UI."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Request, Route, expect

from crm_local.cli import LocalStack
from e2e.conftest import Http
from e2e.console.conftest import Console, check_page, directory_user, new_console, new_customer

pytestmark = pytest.mark.e2e


def test_an_admin_merges_another_customer_in_after_seeing_what_will_move(console: Console, http: Http) -> None:
    target = new_customer(http, first_name="Mergetarget", last_name="Person", email="merge.target@example.org")
    source = new_customer(http, first_name="Mergesource", last_name="Person", username="msource")
    http("POST", f"/customers/{source['id']}/notes", {"text": "Moves with the merge"})
    http("POST", f"/customers/{source['id']}/points", {"amount": 30, "type": "loyalty", "reason": "r"})
    page = console.open_record(target["id"])
    page.get_by_role("button", name="Merge…").click()
    dialog = page.get_by_role("dialog", name="Merge Mergetarget Person")
    expect(dialog.get_by_label("Merge another customer into Mergetarget Person")).to_be_checked()
    dialog.get_by_label("The customer to merge into this one").fill("mergesource")
    dialog.get_by_role("button", name="Choose Mergesource Person").click()
    dialog.get_by_role("button", name="Show what will move").click()
    preview = dialog.locator("[data-merge-preview]")
    expect(preview).to_contain_text("1 note moves")
    expect(preview).to_contain_text("Points: 30 + 0 = 30")
    expect(preview).to_contain_text("Its username “msource” is released")
    check_page(page, "merge-preview")
    assert http("GET", f"/customers/{source['id']}").body["status"] != "merged"  # nothing written yet
    dialog.get_by_role("button", name="Merge", exact=True).click()
    expect(page.locator(".banner")).to_contain_text("Merged Mergesource Person into Mergetarget Person")
    assert http("GET", f"/customers/{source['id']}").body["merged_into"] == target["id"]
    page.get_by_role("tab", name="Notes").click()
    expect(page.locator("ul.notes")).to_contain_text("Moves with the merge")


def test_an_admin_deletes_a_customer_keeping_the_history_unless_asked(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Deleteme", last_name="Soon")
    page = console.open_record(customer["id"])
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete Deleteme Soon?")
    expect(dialog.get_by_label("Delete the customer's history too")).not_to_be_checked()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    check_page(page, "delete-confirm")
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("h1")).to_have_text("Customers")
    expect(page.locator(".banner")).to_contain_text("Deleted Deleteme Soon")
    assert http("GET", f"/customers/{customer['id']}").status == 404
    kept = http("GET", f"/customers/{customer['id']}/history").body["items"]
    assert kept[0]["action"] == "deleted" and kept[0]["by"] == "local-staff"


def test_an_admin_deletes_in_bulk_and_sees_each_refusal(console: Console, http: Http) -> None:
    plain = new_customer(http, first_name="Bulkdel", last_name="Plain")
    trading = new_customer(http, first_name="Bulkdel", last_name="Trading")
    assert http("POST", f"/customers/{trading['id']}/invoices",
                {"issued_on": "2026-10-01", "due_on": "2026-11-01", "amount": "10.00"}).status == 201
    page = console.open()
    page.fill("#keyword", "bulkdel")
    expect(page.locator("table.customers tbody tr")).to_have_count(2)
    page.get_by_label("Select every customer on this page").check()
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete 2 customers?")
    expect(dialog.get_by_label("Delete their history too")).not_to_be_checked()
    dialog.get_by_role("button", name="Delete 2").click()
    expect(dialog.locator(".outcomes")).to_contain_text("1 deleted, 1 refused.")
    expect(dialog.locator(".outcomes")).to_contain_text("has transactions and cannot be deleted")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    assert http("GET", f"/customers/{plain['id']}").status == 404


def test_staff_see_no_merge_or_delete(browser: Browser, stack: LocalStack, http: Http) -> None:
    staff_user = directory_user(http, "staff")
    customer = new_customer(http, first_name="Staffview", last_name="Only")
    console = new_console(browser, stack)
    console.act_as(staff_user)
    try:
        page = console.open_record(customer["id"])
        expect(page.get_by_role("button", name="Assign staff…")).to_be_visible()
        expect(page.get_by_role("button", name="Merge…")).to_have_count(0)
        expect(page.get_by_role("button", name="Delete…")).to_have_count(0)
        console.open()
        page.fill("#keyword", "staffview")
        page.get_by_label("Select Staffview Only").check()
        bulk = page.get_by_role("region", name="Selected customers")
        expect(bulk.get_by_role("button", name="Assign staff…")).to_be_visible()
        expect(bulk.get_by_role("button", name="Delete…")).to_have_count(0)
        assert not console.errors
    finally:
        console.context.close()


def test_a_refusal_by_the_api_is_shown_even_if_the_console_offered_the_action(browser: Browser, stack: LocalStack,
                                                                               http: Http) -> None:
    staff_user = directory_user(http, "staff")
    customer = new_customer(http, first_name="Refused", last_name="Delete")
    console = new_console(browser, stack)
    console.act_as(staff_user)

    def more_than_allowed(route: Route) -> None:  # a /me that claims more than the API grants
        answer = route.fetch()
        me = answer.json()
        me["permissions"] = [*me["permissions"], "DELETE /customers/{customer_id}"]
        route.fulfill(response=answer, json=me)

    console.page.route("**/me", more_than_allowed)
    try:
        page = console.open_record(customer["id"])
        page.get_by_role("button", name="Delete…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Delete", exact=True).click()
        expect(dialog.get_by_role("alert")).to_contain_text("Not allowed")
        assert http("GET", f"/customers/{customer['id']}").status == 200
        assert not console.errors
    finally:
        console.context.close()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_signing_in_through_the_hosted_ui_uses_the_code_flow_with_pkce(browser: Browser, stack: LocalStack) -> None:
    # Given the console configured for Cognito, and a stand-in for the hosted UI's endpoints
    base = stack.api.url
    domain = "https://staff-sign-in.example.test"
    config = {"mode": "cognito", "auth": {"domain": domain, "client_id": "console-client",
                                          "redirect_uri": f"{base}/console/", "logout_uri": f"{base}/console/",
                                          "scopes": "openid email profile"}}
    seen: dict[str, Any] = {}
    console = new_console(browser, stack, bypass_csp=True)
    page = console.page

    def authorize(route: Route) -> None:
        asked = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        seen["authorize"] = asked
        back = f"{asked['redirect_uri']}?code=one-time-code&state={asked['state']}"
        route.fulfill(status=302, headers={"Location": back})

    def token(route: Route) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen["token"] = form
        verified = _b64url(hashlib.sha256(form["code_verifier"].encode()).digest()) == \
            seen["authorize"]["code_challenge"]
        body = {"id_token": "id-token-from-cognito", "access_token": "a", "refresh_token": "r", "expires_in": 3600,
                "token_type": "Bearer"} if verified and form["code"] == "one-time-code" else {"error": "invalid_grant"}
        route.fulfill(status=200 if "id_token" in body else 400, json=body,
                      headers={"Access-Control-Allow-Origin": "*"})

    page.route("**/console/config.json", lambda route: route.fulfill(json=config))
    page.route(f"{domain}/oauth2/authorize*", authorize)
    page.route(f"{domain}/oauth2/token", token)
    page.route(f"{domain}/logout*", lambda route: route.fulfill(body="signed out", content_type="text/plain"))
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if request.url.endswith("/me") else None)
    try:
        # When staff open the console
        page.goto(f"{base}/console/#/customers")
        page.wait_for_selector("[data-page-title]")
        expect(page.locator("h1")).to_have_text("Customers")
        # Then it sent them to the hosted UI with a PKCE challenge, and traded the code for tokens with its verifier
        asked = seen["authorize"]
        assert (asked["response_type"], asked["client_id"], asked["code_challenge_method"]) == \
            ("code", "console-client", "S256")
        assert asked["scope"] == "openid email profile" and len(asked["code_challenge"]) == 43
        assert seen["token"]["grant_type"] == "authorization_code"
        assert seen["token"]["redirect_uri"] == f"{base}/console/"
        # And the API is called with the ID token; the code is gone from the address
        assert sent and sent[0].headers.get("authorization") == "id-token-from-cognito"
        assert "code=" not in page.url and page.url.endswith("#/customers")
        expect(page.locator(".local-picker")).to_have_count(0)
        # Signing out goes to the hosted UI's logout
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{domain}/logout*")
        assert parse_qs(urlsplit(page.url).query)["client_id"] == ["console-client"]
        assert json.loads(page.evaluate("sessionStorage.getItem('crm.console.tokens')") or "null") is None
    finally:
        console.context.close()
