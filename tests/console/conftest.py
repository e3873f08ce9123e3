"""The console against the real dev server and a worker (tests/service's fixtures), driven by Debian's chromium.

Playwright's own browser download does not work here: Playwright for Python drives /usr/bin/chromium
(tools/system-packages.txt) through `executable_path`, headless, one browser per test module, a fresh profile.
Screenshots of the main pages go to docs/screenshots/ only when RELANCE_SCREENSHOTS=1.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

import pytest
import pytest_asyncio

from console.app import Console, Settings
from console.server import running
from domain.rule_file import policy_files
from relance.config import ROOT
from tests import clock
from tests.service.conftest import dev_server, service  # noqa: F401  (fixtures)

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "un mot de passe assez long"
USERS = {"olivia": "ops", "rita": "read", "adam": "admin"}
SCREENSHOTS = ROOT / "docs" / "screenshots"


def write_console_policy(rules_dir: Path) -> str:
    """The default policy sending at midnight on any day, its last reminder also a call and a letter to post:
    an invoice opened past its whole ladder gets that reminder at once, and ops get a call and a letter."""
    text = (rules_dir / "default.yaml").read_text(encoding="utf-8").replace("policy_id: default", "policy_id: console")
    text = text.replace("  business_days_only: true ", "  business_days_only: false ")
    text = text.replace("  extra_closed_days: []", "  extra_closed_days: []\n  send_hour: 0")
    text, replaced = re.subn(r"(  - id: amicable-j\+45\n    offset_days: 45\n    channels: )\[email\]", r"\1[email, phone, letter]", text)
    assert replaced == 1, "the default policy's last reminder changed: update this test policy"
    (rules_dir / "console.yaml").write_text(text, encoding="utf-8")
    assert rules_dir / "console.yaml" in policy_files(rules_dir)
    return "console"


@pytest_asyncio.fixture
async def console(dev_server, service, tmp_path, rules_dir, config):  # noqa: F811
    """A console on the test's task queue, its users made the documented way (the store), no refresher: each
    test feeds the read model when it wants."""

    async def client():
        return dev_server.client

    app = Console(Settings(store_path=tmp_path / "console.sqlite3", read_model_path=tmp_path / "read.sqlite3",
                           refresh_seconds=0, rules_dir=rules_dir, documents_dir=config.documents_dir),
                  client=client, today=clock.dev_server_today, task_queue=service.task_queue)
    for login, role in USERS.items():
        app.store.add_user(login, login.capitalize(), role, PASSWORD, dt.datetime.now(dt.timezone.utc))
    async with running(app, "127.0.0.1", 0) as url:
        app.url = url
        yield app


@pytest_asyncio.fixture(scope="module")
async def browser():
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run `make system` (tools/system-packages.sh) as root")
    async with async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="relance-chromium-") as profile:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, locale="fr-FR", viewport={"width": 1280, "height": 900},
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                      "--no-first-run", "--lang=fr-FR"])
            context.set_default_timeout(15_000)
            yield context
            await context.close()


@pytest_asyncio.fixture
async def page(browser):
    await browser.clear_cookies()
    page = await browser.new_page()
    yield page
    await page.close()


async def sign_in(page, console, login: str) -> None:
    await page.goto(f"{console.url}/")
    assert "/login" in page.url, "without a session the worklist sends the browser to sign in"
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")  # the keyboard is enough
    await page.wait_for_url(f"{console.url}/")


async def screenshot(page, name: str) -> None:
    """docs/screenshots/<name>.png, only when RELANCE_SCREENSHOTS=1: CI writes no files."""
    if os.environ.get("RELANCE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
