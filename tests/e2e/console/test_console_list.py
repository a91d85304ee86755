"""The staff console's customers list in Chromium: search as you type, the gear, filters, paging, columns and
their widths remembered, bulk assign, a failing network, the local picker and what each role sees."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route, expect

from e2e.conftest import Http
from e2e.console.conftest import TABLET, Console, check_page, directory_user, new_console, new_customer

pytestmark = pytest.mark.e2e

DEFAULT_PREFERENCES = {"columns": ["customer_number", "type", "first_name", "last_name", "organization_name", "email",
                                   "phone", "address.postcode", "status"], "widths": {}, "search_fields": None}


@pytest.fixture
def fresh_preferences(http: Http) -> Any:
    """The default user's list settings as they start, and put back afterwards."""
    http("PUT", "/me/preferences", DEFAULT_PREFERENCES)
    yield
    http("PUT", "/me/preferences", DEFAULT_PREFERENCES)


def rows(console: Console) -> list[str]:
    return console.page.locator("table.customers tbody th a").all_inner_texts()


def test_typing_a_name_finds_the_customer_and_opens_the_record(console: Console) -> None:
    # Given the list, with the search box focused as the page opens
    page = console.open()
    expect(page.locator("#keyword")).to_be_focused()
    expect(page.locator("#window")).to_have_value("30")
    # When a staff member types part of a name
    page.keyboard.type("somerv")
    # Then the customer is found (searching every registration date), and only them
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    assert rows(console) == ["Mary Somerville"]
    expect(page.locator("#window")).to_have_value("")
    check_page(page, "list-search")
    # And the name opens the record
    page.get_by_role("link", name="Mary Somerville").click()
    expect(page.locator("h1")).to_have_text("Mary Somerville")


def test_the_newest_answer_wins(console: Console) -> None:
    page = console.open()
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if "q=ada" in route.request.url and not held:
            held.append(route)  # never answered: a slow search
        else:
            route.continue_()

    page.route("**/customers?*", hold_the_first)
    # When a search is still running and another is typed
    page.fill("#keyword", "ada")
    page.wait_for_timeout(400)
    assert held, "the first search was not sent"
    page.fill("#keyword", "babbage")
    # Then the newer one's answer is shown, and the older one, answered late, changes nothing
    expect(page.locator(".result-summary")).to_contain_text("matching “babbage”")
    assert sorted(rows(console)) == ["Charles Babbage", "Lovelace & Babbage Engines"]
    with contextlib.suppress(PlaywrightError):  # the console may have cancelled that request already
        held[0].continue_()
    page.wait_for_timeout(300)
    assert sorted(rows(console)) == ["Charles Babbage", "Lovelace & Babbage Engines"]


def test_the_gear_chooses_the_columns_a_keyword_searches_and_is_remembered(console: Console, http: Http,
                                                                          fresh_preferences: None) -> None:
    page = console.open()
    page.fill("#keyword", "lovelace")
    expect(page.locator("table.customers tbody tr")).to_have_count(2)
    # When the gear leaves out names and organisations
    page.get_by_role("button", name="Columns searched").click()
    page.get_by_label("Name", exact=True).uncheck()
    page.get_by_label("Organisation", exact=True).uncheck()
    # Then the keyword finds only the customer whose other columns (the email) match
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    assert rows(console) == ["Ada Lovelace"]
    expect(page.locator("#keyword-hint")).to_contain_text("customer number, email, phone, username, postcode")
    check_page(page, "list-gear")
    # And the choice is the user's preference, there again next time
    page.wait_for_timeout(900)
    assert http("GET", "/me/preferences").body["search_fields"] == ["customer_number", "email", "phone", "username",
                                                                     "postcode"]
    page.reload()
    page.get_by_role("button", name="Columns searched").click()
    expect(page.get_by_label("Name", exact=True)).not_to_be_checked()


def test_columns_shown_and_their_widths_are_remembered(console: Console, http: Http, fresh_preferences: None) -> None:
    page = console.open()
    # When a column is added and the Email column widened with the keyboard
    page.get_by_role("button", name="Columns shown").click()
    page.get_by_label("Username").check()
    expect(page.get_by_role("columnheader", name="Username")).to_be_visible()
    page.get_by_role("group", name="Columns shown in the list").get_by_label("Phone").uncheck()
    expect(page.get_by_role("columnheader", name="Phone")).to_have_count(0)
    resizer = page.get_by_role("separator", name="Width of the Email column")
    resizer.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(resizer).to_have_attribute("aria-valuenow", "180")
    # Then they are saved for the user and come back
    page.wait_for_timeout(900)
    saved = http("GET", "/me/preferences").body
    assert "username" in saved["columns"] and "phone" not in saved["columns"]
    assert saved["widths"]["email"] == 180
    page.reload()
    expect(page.get_by_role("columnheader", name="Username")).to_be_visible()
    expect(page.get_by_role("separator", name="Width of the Email column")).to_have_attribute("aria-valuenow", "180")
    width = page.locator('col[data-column="email"]').evaluate("c => c.style.width")
    assert width == "180px"


def test_filters_and_paging(console: Console, http: Http) -> None:
    for n in range(27):
        new_customer(http, first_name=f"Pager{n:02d}", last_name="Paged")
    page = console.open()
    page.fill("#keyword", "paged")
    expect(page.locator(".result-summary")).to_contain_text("25 customers matching “paged”")
    expect(page.locator(".result-summary")).to_contain_text("more on the next page")
    # The next page has the rest; the previous one comes back
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("table.customers tbody tr")).to_have_count(2)
    assert rows(console) == ["Pager01 Paged", "Pager00 Paged"]
    page.get_by_role("button", name="Previous page").click()
    expect(page.locator("table.customers tbody tr")).to_have_count(25)
    # Filters narrow it: no organisation is called Paged
    page.select_option("#type", "organization")
    expect(page.locator(".empty")).to_contain_text("No customers matching “paged”")
    page.select_option("#type", "")
    page.select_option("#page-size", "50")
    expect(page.locator("table.customers tbody tr")).to_have_count(27)
    # The registration window applies to the list without a keyword
    page.fill("#keyword", "")
    expect(page.locator("#window")).to_have_value("30")
    expect(page.locator(".result-summary")).to_contain_text("registered in the last 30 days")
    page.select_option("#window", "7")
    expect(page.locator(".result-summary")).to_contain_text("registered in the last 7 days")


def test_selected_customers_are_assigned_staff_in_bulk(console: Console, http: Http) -> None:
    staff_user = directory_user(http, "staff")
    first = new_customer(http, first_name="Bulky", last_name="One")
    second = new_customer(http, first_name="Bulky", last_name="Two")
    page = console.open()
    page.fill("#keyword", "bulky")
    expect(page.locator("table.customers tbody tr")).to_have_count(2)
    # When both are selected and assigned a staff member from the directory
    page.get_by_label("Select every customer on this page").check()
    expect(page.get_by_role("region", name="Selected customers")).to_contain_text("2 selected")
    page.get_by_role("button", name="Assign staff…").click()
    dialog = page.get_by_role("dialog", name="Assign staff to 2 customers")
    dialog.get_by_label("Staff member").select_option(staff_user["username"])
    check_page(page, "list-bulk-assign")
    dialog.get_by_role("button", name="Assign", exact=True).click()
    # Then each is assigned, and the outcome says so
    expect(dialog.locator(".outcomes")).to_contain_text("2 assigned.")
    for customer in (first, second):
        assert http("GET", f"/customers/{customer['id']}").body["assigned_staff"] == [staff_user["username"]]
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_failing_network_is_retried_then_explained(console: Console) -> None:
    page = console.open()
    failures = {"left": 1}

    def flaky(route: Route) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/customers?*", flaky)
    # A read that fails once is tried again without the person noticing
    page.fill("#keyword", "turing")
    expect(page.get_by_role("link", name="Alan Turing")).to_be_visible()
    # One that keeps failing is explained, with a way to try again
    page.unroute("**/customers?*")
    page.route("**/customers?*", lambda route: route.abort("internetdisconnected"))
    page.fill("#keyword", "hopper")
    expect(page.get_by_role("alert")).to_contain_text("The server could not be reached")
    page.unroute("**/customers?*")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("link", name="Grace Hopper")).to_be_visible()


def test_the_local_picker_acts_as_another_user_and_each_role_sees_what_it_may_do(console: Console, http: Http) -> None:
    readonly = directory_user(http, "readonly")
    page = console.open()
    picker = page.get_by_label("Act as")
    expect(page.locator(".local-picker")).to_contain_text("Local stack")
    # As a read-only user: no adding, no changing
    picker.select_option(readonly["username"])
    expect(page.locator(".signed-in")).to_contain_text("readonly")
    expect(page.get_by_role("link", name="Add customer")).to_have_count(0)
    page.fill("#keyword", "turing")
    page.get_by_role("link", name="Alan Turing").click()
    page.wait_for_selector("[role=tabpanel]")
    expect(page.locator("#first_name")).to_have_attribute("readonly", "")
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete…")).to_have_count(0)
    expect(page.get_by_role("tab", name="Web Login")).to_have_count(0)
    check_page(page, "record-readonly")
    # As someone with no role: told so, nothing else
    page.get_by_label("Act as").select_option("nobody")
    expect(page.locator("h1")).to_have_text("No access yet")
    expect(page.get_by_role("alert")).to_contain_text("no role")
    check_page(page, "no-role")
    page.get_by_label("Act as").select_option("")
    expect(page.locator(".signed-in")).to_contain_text("staff, admin")


def test_the_list_works_at_tablet_width(browser: Any, stack: Any) -> None:
    console = new_console(browser, stack, viewport=TABLET)
    try:
        page = console.open()
        page.fill("#keyword", "lovelace")
        expect(page.locator("table.customers tbody tr")).to_have_count(2)
        check_page(page, "list-tablet")
        assert not console.errors
    finally:
        console.context.close()
