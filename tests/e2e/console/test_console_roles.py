"""What each role meets in the console, as ``GET /me`` tells it: a read-only user finds no control that would
change anything on any screen; staff find no admin-only action; and a save that fails keeps what was typed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from crm_local.cli import LocalStack
from e2e.conftest import Http
from e2e.console.conftest import Console, check_page, directory_user, new_console, new_customer

pytestmark = pytest.mark.e2e

# Every control in the record's tab panel that could change something: what is left once the history's pager
# and the controls that are read-only or disabled are set aside.
WRITE_CONTROLS = """(root) => [...root.querySelectorAll("button, input, textarea, select")]
  .filter((el) => !el.readOnly && !el.disabled && el.type !== "hidden")
  .filter((el) => !["Newer", "Older"].includes(el.textContent.trim()))
  .map((el) => `${el.tagName.toLowerCase()} ${el.id || el.textContent.trim()}`)"""


def a_customer_with_everything(http: Http) -> dict[str, Any]:
    """A customer with something on every tab, made by the local admin through the API."""
    other = new_customer(http, first_name="Linked", last_name="Contact")
    customer = new_customer(http, first_name="Every", last_name="Tab", email="every.tab@example.org")
    path = f"/customers/{customer['id']}"
    for method, suffix, body in [
        ("POST", "/status", {"action": "enroll"}),
        ("POST", "/points", {"amount": 40, "type": "loyalty", "reason": "Season ticket"}),
        ("POST", "/notes", {"text": "Prefers post"}),
        ("POST", "/tasks", {"title": "Renewal call", "due_date": "2027-01-10"}),
        ("POST", "/benefits", {"name": "Free programme"}),
        ("POST", "/relationships", {"type": "contact", "related_id": other["id"]}),
        ("PUT", "/membership", {"programme": "Friends", "expires_on": "2027-06-30",
                                "benefit_groups": [{"name": "Priority booking", "starts_on": "2026-07-01"}]}),
    ]:
        answer = http(method, path + suffix, body)
        assert answer.status in (200, 201), (suffix, answer.body)
    return customer


def tab_names(page: Page) -> list[str]:
    return [name.strip() for name in page.get_by_role("tab").all_inner_texts()]


def test_a_read_only_user_meets_nothing_that_would_change_a_customer(browser: Browser, stack: LocalStack,
                                                                     http: Http) -> None:
    customer = a_customer_with_everything(http)
    console = new_console(browser, stack)
    console.act_as(directory_user(http, "readonly"))
    try:
        # The list: no adding, no rows to select for bulk changes
        page = console.open()
        page.fill("#keyword", "every tab")
        expect(page.get_by_role("link", name="Every Tab")).to_be_visible()
        expect(page.get_by_role("link", name="Add customer")).to_have_count(0)
        expect(page.locator("table.customers input[type=checkbox]")).to_have_count(0)
        # The record: no action in the overview, and nothing to change on any tab
        page = console.open_record(customer["id"])
        actions = page.locator(".record-actions button, .overview button")
        expect(actions).to_have_count(0)
        tabs = tab_names(page)
        assert tabs == ["General", "Related", "Membership", "Touch Points", "Account Benefits", "Notes",
                        "Points", "Status", "History"]
        shown = {"Related": "Linked Contact", "Touch Points": "Renewal call", "Account Benefits": "Free programme",
                 "Notes": "Prefers post", "Points": "Season ticket", "Status": "Enrolled", "History": "Points adjusted"}
        for tab in tabs:
            page.get_by_role("tab", name=tab, exact=True).click()
            panel = page.locator("#record-panel")
            expect(panel.locator(".loading")).to_have_count(0)
            if tab in shown:
                expect(panel).to_contain_text(shown[tab])
            assert panel.evaluate(WRITE_CONTROLS) == [], tab
        assert not console.errors
    finally:
        console.context.close()


def test_staff_meet_no_admin_only_action(browser: Browser, stack: LocalStack, http: Http) -> None:
    customer = a_customer_with_everything(http)
    console = new_console(browser, stack)
    console.act_as(directory_user(http, "staff"))
    try:
        page = console.open_record(customer["id"], "web-login")
        panel = page.locator("#record-panel")
        expect(panel.get_by_role("button", name="Send a reset email")).to_be_visible()
        expect(panel.get_by_role("button", name="Save login")).to_have_count(0)
        expect(panel.get_by_role("button", name="Make a random password")).to_have_count(0)
        expect(panel.get_by_label("New password")).to_have_count(0)
        check_page(page, "record-web-login-staff")
        expect(page.get_by_role("button", name="Assign staff…")).to_be_visible()
        expect(page.get_by_role("button", name="Merge…")).to_have_count(0)
        expect(page.get_by_role("button", name="Delete…")).to_have_count(0)
        assert not console.errors
    finally:
        console.context.close()


def test_a_save_that_fails_keeps_what_was_typed(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Lost", last_name="Connection")
    page = console.open_record(customer["id"], "notes")
    note = page.get_by_role("textbox", name="Note", exact=True)
    note.fill("Call before noon about the renewal")
    page.route("**/notes", lambda route: route.abort("internetdisconnected") if route.request.method == "POST"
               else route.continue_())
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#record-panel [role=alert]")).to_contain_text("What you entered is still here")
    expect(note).to_have_value("Call before noon about the renewal")
    assert http("GET", f"/customers/{customer['id']}/notes").body == []
    # Once the connection is back, the same words are saved
    page.unroute("**/notes")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("ul.notes")).to_contain_text("Call before noon about the renewal")
    assert [n["text"] for n in http("GET", f"/customers/{customer['id']}/notes").body] == [
        "Call before noon about the renewal"]

