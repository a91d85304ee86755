"""The staff console in a real browser: Debian's Chromium driven by Playwright against the local stack.

Playwright's own browser download is not used; the browser is the system's ``chromium`` (``.ci/run``
installs it). Each check of a page runs axe-core on it (serious and critical violations fail the test) and
keeps a screenshot under ``.artifacts/console/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from crm_local.cli import LocalStack
from crm_local.template import ROOT
from e2e.conftest import Http

ARTIFACTS = ROOT / ".artifacts" / "console"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}
LOCAL_USER_KEY = "crm.console.local-user"


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("the console's browser tests need Chromium: apt-get install chromium (.ci/run does)")
    return found


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


class Console:
    """One browser context on the console of a local stack, acting as one local staff user."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def act_as(self, user: dict[str, Any] | None) -> None:
        """Choose the local user before any page loads (as the picker does), e.g. ``{"username", "roles"}``."""
        chosen = json.dumps({"username": user["username"], "roles": user["roles"]}) if user else None
        script = (f"localStorage.setItem({json.dumps(LOCAL_USER_KEY)}, {json.dumps(chosen)})" if chosen
                  else f"localStorage.removeItem({json.dumps(LOCAL_USER_KEY)})")
        self.context.add_init_script(script)

    def open(self, hash_path: str = "#/customers") -> Page:
        self.page.goto(f"{self.base_url}/console/{hash_path}")
        self.page.wait_for_selector("[data-page-title]")
        return self.page

    def open_record(self, customer_id: str, tab: str = "general", dismiss_notices: bool = True) -> Page:
        page = self.open(f"#/customers/{customer_id}/{tab}")
        page.wait_for_selector("[role=tabpanel]")
        if dismiss_notices and page.locator("#operator-notice").count():
            page.click("#operator-notice button")
        return page


def check_page(page: Page, name: str) -> None:
    """axe-core finds no serious or critical violation; the page is kept as a screenshot."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    described = [f"{v['id']} ({v['impact']}): {v['help']} — "
                 + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:5]) for v in bad]
    assert not bad, f"axe on {name}:\n" + "\n".join(described)


def new_console(browser: Browser, stack: LocalStack, viewport: dict[str, int] | None = None,
                **options: Any) -> Console:
    context = browser.new_context(viewport=viewport or LAPTOP, locale="en-GB", **options)
    context.set_default_timeout(10_000)
    return Console(context, stack.api.url)


@pytest.fixture
def console(browser: Browser, stack: LocalStack) -> Iterator[Console]:
    """The console as the local stack's default user (local-staff: staff and admin)."""
    opened = new_console(browser, stack)
    yield opened
    errors = list(opened.errors)
    opened.context.close()
    assert not errors, f"uncaught errors in the console: {errors}"


def directory_user(http: Http, role: str) -> dict[str, Any]:
    """A local staff user whose roles are exactly ``[role]`` (from the staff directory)."""
    users = http("GET", "/staff").body["items"]
    found = [u for u in users if u["roles"] == [role]]
    assert found, f"the local staff directory has no user with only the {role} role: {users}"
    return dict(found[0])


def new_customer(http: Http, **fields: Any) -> dict[str, Any]:
    answer = http("POST", "/customers", {"type": "individual", "confirm_duplicate": True, **fields})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
