"""Every page and action of the console: 401 or a redirect to sign in without a session, 403 for a role that
does not allow it, 403 for a form without its CSRF token; sessions expire; passwords are argon2 hashes."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import time

import httpx
import pytest
from starlette.routing import Route

from console.app import Console, Settings, create_app
from console.store import ROLES, Store, StoreError

PASSWORD = "un mot de passe assez long"
PARAMS = {"invoice": "F-1", "action": "payment", "debtor": "D-1", "draft": "abc123", "folder": "F-1",
          "name": "notice.pdf"}


async def _no_temporal():
    raise AssertionError("a refused request must not reach Temporal")


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """One store for the module: each argon2 hash takes a while, by design."""
    folder = tmp_path_factory.mktemp("console")
    app = Console(Settings(store_path=folder / "c.sqlite3", read_model_path=folder / "r.sqlite3",
                           refresh_seconds=0, rules_dir=folder), client=_no_temporal,
                  today=lambda: dt.date(2027, 3, 10))
    for role in ROLES:
        app.store.add_user(role, role, role, PASSWORD, dt.datetime(2027, 3, 10, tzinfo=dt.timezone.utc))
    return app


def guarded_routes(app) -> list[tuple[str, str, str]]:
    """(method, path, role) of every route behind a role: a new page is covered without editing this test."""
    found = []
    for route in app.routes:
        if isinstance(route, Route) and hasattr(route.endpoint, "required_role"):
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS[m.group(1)], route.path)
            found += [(method, path, route.endpoint.required_role) for method in sorted(route.methods - {"HEAD"})]
    return found


@contextlib.asynccontextmanager
async def _client(console, login: str | None = None):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(console, refresher=False)),
                                 base_url="http://console.test") as client:
        if login:
            answer = await client.post("/login", data={"login": login, "password": PASSWORD, "next": "/"})
            assert answer.status_code == 303, answer.text
        yield client


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def test_every_page_refuses_without_a_session(console):
    app = create_app(console, refresher=False)
    routes = guarded_routes(app)
    assert {path for _, path, _ in routes} >= {"/", "/customers", "/dashboard", "/cases/F-1", "/cases/F-1/payment",
                                               "/worklist/mark"}
    async with _client(console) as client:
        for method, path, _ in routes:
            as_page = await client.request(method, path, headers={"accept": "text/html"})
            if method == "GET":
                assert as_page.status_code == 303 and as_page.headers["location"].startswith("/login?next="), path
            else:
                assert as_page.status_code == 401, (method, path)
            assert (await client.request(method, path, headers={"hx-request": "true"})).status_code == 401, path


async def test_a_role_below_the_route_is_refused_with_403(console):
    app = create_app(console, refresher=False)
    checked = 0
    for method, path, needed in guarded_routes(app):
        for role in ROLES[:ROLES.index(needed)]:
            async with _client(console, role) as client:
                token = _csrf((await client.get("/dashboard")).text)
                answer = await client.request(method, path, data={"csrf": token} if method == "POST" else None)
                assert answer.status_code == 403, (role, method, path, answer.status_code)
                checked += 1
    assert checked >= 10, "ops-only and admin-only routes exist and were tried"


async def test_a_form_without_its_csrf_token_is_refused(console):
    async with _client(console, "ops") as client:
        answer = await client.post("/worklist/mark", data={"invoice": "F-1", "item": "x", "state": "done"})
        assert answer.status_code == 403 and "CSRF" in answer.text
        token = _csrf((await client.get("/dashboard")).text)
        marked = await client.post("/worklist/mark", data={"csrf": token, "invoice": "F-1", "item": "x", "state": "done"})
        assert marked.status_code == 303
        assert console.store.marks()[("F-1", "x")].by == "ops", "the mark names who made it"


async def test_a_wrong_password_is_refused_and_sessions_expire(console, monkeypatch):
    async with _client(console) as client:
        wrong = await client.post("/login", data={"login": "ops", "password": "not it at all", "next": "/"})
        assert wrong.status_code == 401 and "incorrect" in wrong.text
        assert (await client.post("/login", data={"login": "nobody", "password": PASSWORD})).status_code == 401
    async with _client(console, "read") as client:
        assert (await client.get("/dashboard")).status_code == 200
        later = time.time() + console.settings.session_max_hours * 3600 + 1
        monkeypatch.setattr("console.auth.time.time", lambda: later)
        assert (await client.get("/dashboard", headers={"accept": "text/html"})).status_code == 303, \
            "a session older than its maximum age is over, however active"


async def test_a_redirect_after_sign_in_stays_on_this_site(console):
    async with _client(console) as client:
        answer = await client.post("/login", data={"login": "read", "password": PASSWORD, "next": "//evil.example/x"})
        assert answer.headers["location"] == "/"


def test_the_store_keeps_argon2_hashes_and_never_a_short_password(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.add_user("admin", "Admin", "admin", PASSWORD, dt.datetime(2027, 3, 10, tzinfo=dt.timezone.utc))
    stored = store.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert store.authenticate("admin", PASSWORD).role == "admin"
    assert store.authenticate("admin", PASSWORD + "x") is None
    with pytest.raises(StoreError, match="trop court"):
        store.add_user("b", "B", "ops", "court", dt.datetime(2027, 3, 10, tzinfo=dt.timezone.utc))
    with pytest.raises(StoreError, match="existe déjà"):
        store.add_user("admin", "A", "ops", PASSWORD, dt.datetime(2027, 3, 10, tzinfo=dt.timezone.utc))


def test_openid_connect_is_configured_by_environment(console, monkeypatch):
    from console.auth import OidcSettings

    monkeypatch.delenv("RELANCE_OIDC_ISSUER", raising=False)
    assert OidcSettings.from_env() is None, "off unless configured"
    monkeypatch.setenv("RELANCE_OIDC_ISSUER", "https://sso.example.fr/realms/finance/")
    monkeypatch.setenv("RELANCE_OIDC_CLIENT_ID", "relance")
    monkeypatch.setenv("RELANCE_OIDC_CLIENT_SECRET", "s3cret")
    settings = OidcSettings.from_env()
    assert settings.issuer == "https://sso.example.fr/realms/finance" and settings.default_role is None
    with_oidc = Console(dataclasses.replace(console.settings, oidc=settings), client=_no_temporal)
    paths = {route.path for route in create_app(with_oidc, refresher=False).routes}
    assert {"/login/oidc", "/auth/oidc"} <= paths
    monkeypatch.setenv("RELANCE_OIDC_DEFAULT_ROLE", "root")
    with pytest.raises(ValueError, match="read, ops or admin"):
        OidcSettings.from_env()


async def test_the_worklist_shows_the_bank_store_s_waiting_credits_and_survives_a_store_it_cannot_read(console, tmp_path):
    from decimal import Decimal

    from bank.entries import BankEntry
    from bank.store import open_store

    location = tmp_path / "bank.sqlite3"
    day = dt.date(2027, 3, 10)
    open_store(location).add([BankEntry(ref="ACSR-1", account="FR76", kind="credit", amount=Decimal("99.00"),
                                        booked_on=day, value_on=day, name="PAYEUR")], "releve.xml")
    for store, shown in ((str(location), True), ("postgresql://127.0.0.1:1/nothing?connect_timeout=1", False)):
        with_bank = Console(dataclasses.replace(console.settings, bank_store=store), client=_no_temporal,
                            today=console.today)
        async with _client(with_bank, "ops") as client:
            page = await client.get("/")
        assert page.status_code == 200
        assert ("relance bank match ACSR-1 FACTURE" in page.text) is shown, store


async def test_ops_write_notes_on_a_customer_and_its_contact_shows_without_temporal(console):
    from tests.console.test_pages import NOW, _status
    from tests.lifecycle.scenario import invoice

    case = invoice(today=dt.date(2027, 3, 10), due_in_days=-20)
    console.read_model.put(_status(case), NOW)
    page = f"/customers/{case.debtor.debtor_id}"
    async with _client(console, "ops") as client:
        form = await client.get(page)
        assert form.status_code == 200 and case.debtor.email in form.text and "Historique indisponible" in form.text
        sent = await client.post(f"{page}/notes", data={"csrf": _csrf(form.text), "text": "Promet un virement vendredi"})
        assert sent.status_code == 303
        refused = await client.post(f"{page}/notes", data={"csrf": _csrf(form.text), "text": "x" * 2001})
        assert "refused=" in refused.headers["location"]
        shown = (await client.get(page)).text
    assert "Promet un virement vendredi" in shown and ", ops</small>" in shown, "who wrote it, and when"
    assert [n.text for n in console.store.notes(case.debtor.debtor_id)] == ["Promet un virement vendredi"]
    async with _client(console, "read") as client:
        page_read = (await client.get(page)).text
        assert 'action="/customers/' not in page_read, "a read-only user has no note form"
        assert (await client.post(f"{page}/notes", data={"csrf": _csrf(page_read), "text": "non"})).status_code == 403
    assert len(console.store.notes(case.debtor.debtor_id)) == 1
