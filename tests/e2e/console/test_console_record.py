"""The customer record in Chromium, as a staff member uses it: the operator notice, editing and its history,
a stale edit, errors at the field, points with their confirm step, status changes and refusals, and the
other tabs; adding a customer with the duplicate warning."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Route, expect

from e2e.conftest import Http
from e2e.console.conftest import TABLET, Console, check_page, directory_user, new_console, new_customer

pytestmark = pytest.mark.e2e


def test_the_operator_notice_pops_up_when_the_record_opens(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Board", last_name="Member")
    http("POST", f"/customers/{customer['id']}/notes", {"text": "Prefers post"})
    http("POST", f"/customers/{customer['id']}/notes", {"text": "A board member: please pay special attention",
                                                        "operator_notice": True})
    page = console.open_record(customer["id"], dismiss_notices=False)
    notice = page.get_by_role("alertdialog", name="Operator notice")
    expect(notice).to_contain_text("A board member: please pay special attention")
    expect(notice).not_to_contain_text("Prefers post")
    expect(notice.get_by_role("button", name="OK")).to_be_focused()
    check_page(page, "record-notice")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    # Changing tab does not pop it up again
    page.get_by_role("tab", name="Notes").click()
    expect(page.get_by_role("heading", name="Notes", exact=True)).to_be_visible()
    expect(page.get_by_role("alertdialog")).to_have_count(0)


def test_an_edit_saves_and_shows_in_the_history(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Edith", last_name="Clarke", phone="0113 496 0000")
    page = console.open_record(customer["id"])
    check_page(page, "record-general")
    page.get_by_label("Phone").fill("0113 496 0999")
    page.get_by_label("Town or city").fill("Leeds")
    expect(page.locator(".actions .hint")).to_have_text("2 unsaved changes")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".actions .hint")).to_have_text("All changes saved.")
    stored = http("GET", f"/customers/{customer['id']}").body
    assert (stored["phone"], stored["address"]["city"], stored["version"]) == ("0113 496 0999", "Leeds", 2)
    # The overview shows it, and the History tab says who changed what
    expect(page.locator(".overview")).to_contain_text("0113 496 0999")
    page.get_by_role("tab", name="History").click()
    history = page.locator("table.history")
    expect(history).to_contain_text("Edited")
    edited = history.locator("tr", has_text="0113 496 0999")
    expect(edited).to_contain_text("phone")
    expect(edited).to_contain_text("0113 496 0000")
    expect(history.locator("tr", has_text="Leeds")).to_contain_text("address city")
    expect(history).to_contain_text("local-staff")
    check_page(page, "record-history")


def test_a_stale_edit_shows_the_conflict_and_keeps_the_changes(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Stale", last_name="Edit", email="stale@example.org")
    page = console.open_record(customer["id"])
    # Given someone else saves a change after the record was opened
    assert http("PATCH", f"/customers/{customer['id']}", {"version": 1, "phone": "0161 496 0000"}).status == 200
    # When this staff member saves theirs
    page.get_by_label("Last name").fill("Edited")
    page.get_by_role("button", name="Save changes").click()
    # Then they are told why it was not saved, and their change is still there
    conflict = page.get_by_role("alert")
    expect(conflict).to_contain_text("Someone else changed this customer")
    expect(conflict).to_contain_text("version 2")
    expect(page.get_by_label("Last name")).to_have_value("Edited")
    check_page(page, "record-conflict")
    # And reloading keeps their change on top of the other one, which then saves
    page.get_by_role("button", name="Load their version and keep my changes").click()
    expect(page.get_by_label("Phone")).to_have_value("0161 496 0000")
    expect(page.get_by_label("Last name")).to_have_value("Edited")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".actions .hint")).to_have_text("All changes saved.")
    stored = http("GET", f"/customers/{customer['id']}").body
    assert (stored["last_name"], stored["phone"], stored["version"]) == ("Edited", "0161 496 0000", 3)


def test_a_save_whose_answer_is_lost_is_sent_again_and_happens_once(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Lost", last_name="Answer", phone="0113 496 0000")
    page = console.open_record(customer["id"])
    keys: list[str | None] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "PATCH":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the API makes the change ...
            route.abort("connectionreset")  # ... but its answer never arrives
        else:
            route.continue_()

    page.route(f"**/customers/{customer['id']}", lose_the_first_answer)
    page.get_by_label("Phone").fill("0113 496 0555")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".actions .hint")).to_have_text("All changes saved.")
    # The console sent it again with the same key, and the API made the change once
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    stored = http("GET", f"/customers/{customer['id']}").body
    assert (stored["phone"], stored["version"]) == ("0113 496 0555", 2)
    history = http("GET", f"/customers/{customer['id']}/history").body["items"]
    assert [e["action"] for e in history] == ["updated", "created"]


def test_an_invalid_field_is_explained_beside_it_and_nothing_typed_is_lost(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Field", last_name="Errors")
    page = console.open_record(customer["id"])
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Country").fill("G1")
    page.get_by_role("button", name="Save changes").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Email: is not a valid email address")
    expect(page.locator("#email-error")).to_have_text("Error: Is not a valid email address")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#address-country-error")).to_contain_text("two-letter")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    # The summary's link takes the person to the field
    summary.get_by_role("link", name="Email: is not a valid email address").click()
    expect(page.get_by_label("Email")).to_be_focused()
    check_page(page, "record-field-errors")


def test_points_need_the_confirm_step(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Points", last_name="Holder")
    page = console.open_record(customer["id"], "points")
    # When staff enter an adjustment and go on
    page.get_by_role("spinbutton", name="Points").fill("50")
    page.get_by_label("Reason").fill("Welcome bonus")
    page.get_by_role("button", name="Next").click()
    # Then they see the balance it will leave, and nothing is written yet
    confirm = page.get_by_role("group", name="Check and confirm")
    expect(confirm).to_contain_text("The balance goes from 0 to 50")
    check_page(page, "record-points-confirm")
    assert http("GET", f"/customers/{customer['id']}/points").body["balance"] == 0
    # And only Confirm adjusts it
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("#record-panel p.amount")).to_contain_text("Balance: 50 points")
    assert http("GET", f"/customers/{customer['id']}/points").body["balance"] == 50
    expect(page.locator("table.data")).to_contain_text("Welcome bonus")
    # Taking away more than there is is refused at the amount, before any confirm step
    page.get_by_role("spinbutton", name="Points").fill("-80")
    page.get_by_label("Reason").fill("Redeemed")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#points-amount-error")).to_contain_text("below zero")
    expect(page.get_by_role("group", name="Check and confirm")).to_have_count(0)


def test_status_offers_only_the_allowed_actions_and_shows_why_one_is_refused(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Status", last_name="Changes")
    page = console.open_record(customer["id"], "status")
    expect(page.get_by_role("button", name="Un-enroll")).to_have_count(0)
    expect(page.locator("ul.refused")).to_contain_text("Un-enroll: only an enrolled customer can be un-enrolled")
    page.get_by_role("button", name="Enroll").click()
    expect(page.locator(".subtitle")).to_contain_text("Enrolled")
    expect(page.get_by_role("button", name="Un-enroll")).to_be_visible()
    check_page(page, "record-status")
    # When someone else puts the customer on hold meanwhile, the action still on screen is refused, with why
    assert http("POST", f"/customers/{customer['id']}/status", {"action": "deactivate"}).status == 200
    page.get_by_role("button", name="Un-enroll").click()
    refused = page.locator("#status-unenroll-error")
    expect(refused).to_contain_text("reactivate is the only action allowed")
    expect(refused).to_be_focused()
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()


def test_related_customers_are_added_by_search_and_opened(console: Console, http: Http) -> None:
    business = new_customer(http, type="organization", organization_name="Quayside Widgets Ltd")
    person = new_customer(http, first_name="Quinn", last_name="Quayside")
    page = console.open_record(business["id"], "related")
    expect(page.get_by_text("No related customers.")).to_be_visible()
    page.get_by_label("The other customer is this one's").select_option("contact")
    page.get_by_label("Related customer").fill("quinn")
    page.get_by_role("button", name="Choose Quinn Quayside").click()
    page.get_by_label("Note").fill("Buyer")
    page.get_by_role("button", name="Add relationship").click()
    row = page.locator("table.data tbody tr")
    expect(row).to_contain_text("Contact")
    expect(row).to_contain_text("Buyer")
    check_page(page, "record-related")
    row.get_by_role("link", name="Quinn Quayside").click()
    expect(page.locator("h1")).to_have_text("Quinn Quayside")
    assert page.url.endswith(f"#/customers/{person['id']}")
    page.get_by_role("tab", name="Related").click()
    expect(page.locator("table.data tbody tr")).to_contain_text("Business")


def test_membership_with_benefit_groups_is_saved_and_bad_dates_are_named(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Member", last_name="Ship")
    page = console.open_record(customer["id"], "membership")
    page.get_by_label("Programme").fill("Gold")
    page.get_by_label("Expires on").fill("2027-12-31")
    page.get_by_role("button", name="Add a benefit group").click()
    page.get_by_label("Group 1 name").fill("Lounge")
    page.get_by_label("Starts on").fill("2027-06-01")
    page.get_by_label("Ends on").fill("2027-01-01")
    page.get_by_role("button", name="Save membership").click()
    expect(page.locator("#group-0-ends-error")).to_contain_text("ends_on is before starts_on", ignore_case=True)
    page.get_by_label("Ends on").fill("2027-12-31")
    page.get_by_role("button", name="Save membership").click()
    expect(page.locator(".overview")).to_contain_text("Gold")
    stored = http("GET", f"/customers/{customer['id']}/membership").body
    assert stored["programme"] == "Gold" and stored["benefit_groups"][0]["name"] == "Lounge"
    check_page(page, "record-membership")


def test_web_login_username_password_random_password_and_reset_email(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Web", last_name="Login", email="web.login@example.org")
    page = console.open_record(customer["id"], "web-login")
    page.get_by_label("Username").fill("wlogin0000")
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Save login").click()
    expect(page.locator("#login-password-error")).to_be_visible()
    page.get_by_label("New password").fill("correct horse battery staple")
    page.get_by_role("button", name="Save login").click()
    expect(page.get_by_text("The web login of wlogin0000 is saved.")).to_be_visible()
    expect(page.locator(".overview")).to_contain_text("wlogin0000")
    # A random password is shown once
    page.get_by_role("button", name="Make a random password").click()
    secret = page.locator("#temporary-password")
    expect(secret).to_be_focused()
    assert len(secret.inner_text()) >= 12
    check_page(page, "record-web-login")
    page.get_by_role("button", name="Hide it").click()
    expect(page.locator("#temporary-password")).to_have_count(0)
    page.get_by_role("button", name="Send a reset email").click()
    expect(page.get_by_text("A reset email is on its way to web.login@example.org.")).to_be_visible()


def test_touch_points_benefits_and_notes(console: Console, http: Http) -> None:
    staff_user = directory_user(http, "staff")
    customer = new_customer(http, first_name="Many", last_name="Records")
    page = console.open_record(customer["id"], "touch-points")
    page.get_by_label("Title").fill("Renewal call")
    page.get_by_label("Due").fill("2027-01-10")
    page.get_by_label("Assigned to").select_option(staff_user["username"])
    page.get_by_role("button", name="Add touch point").click()
    expect(page.locator("table.data")).to_contain_text("Renewal call")
    page.get_by_label("Status of Renewal call").select_option("done")
    expect(page.get_by_label("Status of Renewal call")).to_have_value("done")
    check_page(page, "record-touch-points")
    page.get_by_role("tab", name="Account Benefits").click()
    page.get_by_role("textbox", name="Benefit", exact=True).fill("Free parking")
    page.get_by_role("button", name="Add benefit").click()
    expect(page.locator("table.data")).to_contain_text("Free parking")
    check_page(page, "record-benefits")
    page.get_by_role("tab", name="Notes").click()
    page.get_by_role("textbox", name="Note", exact=True).fill("Call before noon")
    page.get_by_label("Operator notice").check()
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("ul.notes")).to_contain_text("Call before noon")
    check_page(page, "record-notes")
    tasks = http("GET", f"/customers/{customer['id']}/tasks").body
    assert [(t["title"], t["status"], t["assignee"]) for t in tasks] == [
        ("Renewal call", "done", staff_user["username"])]
    # The notice pops up the next time the record is opened
    console.open("#/customers")
    page = console.open_record(customer["id"], dismiss_notices=False)
    expect(page.get_by_role("alertdialog", name="Operator notice")).to_contain_text("Call before noon")


def test_tabs_are_operated_with_the_keyboard(console: Console, http: Http) -> None:
    customer = new_customer(http, first_name="Keyboard", last_name="User")
    page = console.open_record(customer["id"])
    page.get_by_role("tab", name="General").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Related")).to_be_focused()
    expect(page.get_by_role("tab", name="Related")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="History")).to_be_focused()
    expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()


def test_adding_a_customer_warns_of_a_duplicate_and_saves_anyway(console: Console, http: Http) -> None:
    existing = new_customer(http, first_name="Dupli", last_name="Cate", email="dupli.cate@example.org")
    page = console.open("#/customers/new")
    check_page(page, "add-customer")
    page.get_by_role("button", name="Add customer").click()
    expect(page.locator("[data-error-summary]")).to_contain_text("First name: is required")
    page.get_by_label("First name").fill("Dupli")
    page.get_by_label("Last name").fill("Cate")
    page.get_by_label("Email").fill("dupli.cate@example.org")
    page.get_by_role("button", name="Add customer").click()
    warning = page.locator("[data-error-summary]")
    expect(warning).to_contain_text("This may be a customer we already have")
    expect(warning.get_by_role("link", name=f"Dupli Cate ({existing['customer_number']})")).to_be_visible()
    check_page(page, "add-customer-duplicate")
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator("h1")).to_have_text("Dupli Cate")
    expect(page.locator(".banner")).to_contain_text("Added")
    assert page.locator(".subtitle").inner_text().split(" ")[0] != existing["customer_number"]


def test_the_record_works_at_tablet_width(browser: Any, stack: Any, http: Http) -> None:
    customer = new_customer(http, type="organization", organization_name="Tablet Width Ltd")
    console = new_console(browser, stack, viewport=TABLET)
    try:
        page = console.open_record(customer["id"])
        expect(page.get_by_label("Organisation name")).to_have_value("Tablet Width Ltd")
        check_page(page, "record-tablet")
        assert not console.errors
    finally:
        console.context.close()


def test_the_balance_refreshes_staff_are_assigned_and_the_history_pages(console: Console, http: Http) -> None:
    staff_user = directory_user(http, "staff")
    customer = new_customer(http, first_name="Over", last_name="View")
    today = http("GET", f"/customers/{customer['id']}").body["created_at"][:10]
    assert http("POST", f"/customers/{customer['id']}/invoices",
                {"issued_on": today, "due_on": today, "amount": "40.00"}).status == 201
    version = customer["version"]
    for n in range(21):  # more changes than a page of the history holds
        answer = http("PATCH", f"/customers/{customer['id']}", {"version": version, "phone": f"+44 20 7946 {n:04d}"})
        assert answer.status == 200, answer.body
        version = answer.body["version"]
    page = console.open_record(customer["id"])
    # The balance panel's refresh brings it up to date
    balance = page.locator(".card.balance")
    expect(balance).to_contain_text("never")
    balance.get_by_role("button", name="Refresh balance").click()
    expect(balance).not_to_contain_text("never")
    expect(balance.locator(".amount")).to_contain_text("40")
    # Staff are assigned from the directory; Escape leaves the dialog and gives the focus back
    assign = page.get_by_role("button", name="Assign staff…")
    assign.click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(assign).to_be_focused()
    assign.click()
    dialog = page.get_by_role("dialog", name="Assigned staff of Over View")
    dialog.get_by_label("First staff member").select_option(staff_user["username"])
    check_page(page, "record-assign-staff")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".overview")).to_contain_text(staff_user["username"])
    assert http("GET", f"/customers/{customer['id']}").body["assigned_staff"] == [staff_user["username"]]
    # The history: newest first, page by page, down to the customer's creation
    page.get_by_role("tab", name="History").click()
    history = page.locator("#record-panel")
    expect(history.locator("tbody tr").first).to_contain_text("Staff assigned")
    expect(history).not_to_contain_text("Created")
    history.get_by_role("button", name="Older").click()
    expect(history).to_contain_text("Page 2")
    expect(history).to_contain_text("Created")
    history.get_by_role("button", name="Newer").click()
    expect(history.locator("tbody tr").first).to_contain_text("Staff assigned")
