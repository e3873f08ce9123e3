"""The ops console: server-rendered pages (Starlette, Jinja2), htmx for partial updates, French first.

Read pages work without JavaScript; htmx (vendored in static/, no CDN) boosts links and forms and swaps a
worklist item in place. The console talks to Temporal like the CLI: a case page queries the case, an action is
the CLI's update carrying the signed-in user; aggregated pages read the read model (console/readmodel.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from console import actions, auth, documents, i18n, pages
from bank.store import BankStore, StoredEntry, open_store
from console.readmodel import ReadModel, euros
from console.store import Mark, Note, Store, StoreError, User
from domain.case import PROCEDURE_STEPS
from domain.money import format_date_fr, format_eur
from domain.debtor_account import correspondence, debtor_account
from relance import cases, debtors, views
from relance.statement_pdf import statement_pdf

HERE = Path(__file__).parent
LIST_PAGE = 300  # rows on one page: a longer worklist is filtered by kind, a longer customer list searched
log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class Settings:
    store_path: Path
    read_model_path: Path
    idle_minutes: int = 60  # a session unused this long expires
    session_max_hours: int = 12  # and any session this old
    secure_cookies: bool = False  # set behind HTTPS: the session cookie is then never sent in clear
    refresh_seconds: float = 60  # how often the read model looks for cases that moved; 0: only on demand
    rules_dir: Path | None = None
    oidc: auth.OidcSettings | None = None
    bank_store: str = ""  # where `relance bank` keeps its entries (RELANCE_BANK_URL or _STORE): its waiting ones are work
    documents_dir: Path | None = None  # RELANCE_DOCUMENTS_DIR, as the workers write it (shared with this host)


def _days(value) -> str:
    """A number of days in French (« 42,5 j »), or a dash where there is nothing to divide by."""
    return "—" if value is None else str(value).replace(".", ",") + "\u00a0j"


class Console:
    """What every request shares: the store, the read model, the Temporal client, and today's date."""

    def __init__(self, settings: Settings, client: Callable[[], "asyncio.Future[Client]"],
                 today: Callable[[], dt.date] = cases.paris_today, task_queue: str = "relance") -> None:
        self.settings, self._client_factory, self.today, self.task_queue = settings, client, today, task_queue
        self.store = Store(settings.store_path)
        self.read_model = ReadModel(settings.read_model_path)
        self.read_model.attach_marks(settings.store_path)
        self._client: Client | None = None
        self.jinja = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                                 trim_blocks=True, lstrip_blocks=True)
        self.jinja.filters["isodate"] = dt.date.fromisoformat
        self.jinja.globals.update(eur=format_eur, euros=euros, date_fr=format_date_fr, when=views.when,
                                  procedure_steps=PROCEDURE_STEPS, kind_labels=pages.KIND_LABELS,
                                  buckets=pages.BUCKETS, worst_stage=pages.worst_stage, dso_days=pages.DSO_DAYS,
                                  days=_days, doc_url=documents.url_of,
                                  documents_of=documents.in_audit)
        self._refresher: asyncio.Task | None = None
        self._bank: BankStore | None = None

    def bank_waiting(self) -> list[StoredEntry]:
        """The bank entries waiting for ops: credits not matched for sure, returns whose payment was not found. A
        store that cannot be read leaves them out of the worklist (and says so in the log), never the page."""
        if not self.settings.bank_store:
            return []
        try:
            if self._bank is None:
                self._bank = open_store(self.settings.bank_store)
            return self._bank.with_status("unmatched", "return")
        except Exception as error:  # noqa: BLE001 - a database down must not take the worklist with it
            log.warning("console.bank_store_unreadable", location=self.settings.bank_store, error=str(error))
            self._bank = None
            return []

    async def client(self) -> Client:
        if self._client is None:
            self._client = await self._client_factory()
        return self._client

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def render(self, request: Request, template: str, context: dict, status_code: int = 200) -> HTMLResponse:
        lang = request.cookies.get("lang") if request.cookies.get("lang") in i18n.LANGUAGES else "fr"
        page = self.jinja.get_template(template).render(
            request=request, lang=lang, t=lambda text: i18n.t(text, lang), stage=lambda s: i18n.stage(s, lang),
            csrf=auth.csrf_token(request), today=self.today(), oidc=self.settings.oidc is not None, **context)
        return HTMLResponse(page, status_code=status_code)

    async def refresh_forever(self) -> None:
        """Keep the read model fed: cases whose published attributes moved are read again."""
        while True:
            try:
                first = self.read_model.refreshed_at is None and self.read_model.count() == 0
                report = await self.read_model.refresh(await self.client(), self.task_queue, self.today(), self.now(),
                                                       rebuild=first)
                if report.failed:
                    log.warning("console.read_model.unread", cases=report.failed[:20], count=len(report.failed))
            except Exception as error:  # Temporal away for a moment: the next round tries again
                log.warning("console.read_model.refresh_failed", error=str(error))
            await asyncio.sleep(self.settings.refresh_seconds)


# ---------------------------------------------------------------------- signing in


async def login_page(request: Request) -> Response:
    console = request.app.state.console
    if request.method == "GET":
        return console.render(request, "login.html", {"next": auth.safe_next(request.query_params.get("next"))})
    form = await request.form()
    user = await asyncio.to_thread(console.store.authenticate, str(form.get("login", "")), str(form.get("password", "")))
    target = auth.safe_next(str(form.get("next", "/")))
    if user is None:
        log.info("console.sign_in.refused", login=str(form.get("login", ""))[:200])
        return console.render(request, "login.html", {"next": target, "error": True}, status_code=401)
    auth.sign_in(request, user)
    log.info("console.sign_in", login=user.login, role=user.role)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    auth.sign_out(request)
    return RedirectResponse("/login", status_code=303)


async def set_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(auth.safe_next(request.query_params.get("next")), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


# ---------------------------------------------------------------------- a case


async def _status(console: Console, invoice: str):
    try:
        return await cases.status(await console.client(), invoice, console.today())
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    except WorkflowQueryFailedError:
        return None


@auth.requires("read")
async def go_to_case(request: Request, user: User) -> Response:
    invoice = request.query_params.get("invoice", "").strip()
    return RedirectResponse(f"/cases/{quote(invoice, safe='')}" if invoice else "/", status_code=303)


@auth.requires("read")
async def case_page(request: Request, user: User) -> Response:
    return await _case_response(request, user)


async def _case_response(request: Request, user: User, *, errors: dict | None = None, values: dict | None = None,
                         status_code: int = 200) -> Response:
    console: Console = request.app.state.console
    invoice = request.path_params["invoice"]
    status = await _status(console, invoice)
    if status is None:
        return console.render(request, "not_found.html", {"user": user, "invoice": invoice}, status_code=404)
    await asyncio.to_thread(console.read_model.put, status, console.now())
    return console.render(request, "case.html", {
        "user": user, "s": status, "errors": errors or {}, "values": values or {},
        "done": request.query_params.get("done")}, status_code=status_code)


@auth.requires("ops")
async def case_action(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    invoice, name = request.path_params["invoice"], request.path_params["action"]
    form = actions.FORMS.get(name)
    if form is None:
        return Response(status_code=404)
    fields = {key: str(value) for key, value in (await request.form()).items()}
    lang = request.cookies.get("lang", "fr")
    status = await _status(console, invoice)
    if status is None:
        return console.render(request, "not_found.html", {"user": user, "invoice": invoice}, status_code=404)
    try:
        message = actions.message(form, fields, user.login, console.today(), status)
        await cases.handle(await console.client(), invoice).execute_update(form.update, message)
    except actions.Refused as refused:  # each field's problem in the page's language
        said = "; ".join(i18n.refusal(part, lang) for part in str(refused).split("; "))
        return await _case_response(request, user, errors={name: said}, values={name: fields}, status_code=422)
    except WorkflowUpdateFailedError as refused:
        cause = refused.cause.message if refused.cause is not None and hasattr(refused.cause, "message") else str(refused)
        log.info("console.action.refused", user=user.login, invoice=invoice, action=name, reason=cause)
        return await _case_response(request, user, errors={name: i18n.refusal(cause, lang)}, values={name: fields},
                                    status_code=422)
    except RPCError as gone:  # the case closed (or was terminated) since the page was shown: it takes no message
        if gone.status != RPCStatusCode.NOT_FOUND and "already completed" not in gone.message:
            raise
        log.info("console.action.refused", user=user.login, invoice=invoice, action=name, reason=gone.message)
        said = "the case has closed meanwhile: nothing was recorded" if lang == "en" else \
            "le dossier a été clos entre-temps : rien n'a été enregistré"
        return await _case_response(request, user, errors={name: said, "case": said}, values={name: fields},
                                    status_code=422)  # as every refusal: the page's script shows a 422's page
    log.info("console.action", user=user.login, invoice=invoice, action=name)
    return RedirectResponse(f"/cases/{invoice}?done={name}", status_code=303)


# ---------------------------------------------------------------------- the worklist


@auth.requires("read")
async def worklist_page(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    show_done = request.query_params.get("all") == "1"
    kind = request.query_params.get("kind", "")
    bank = await asyncio.to_thread(console.bank_waiting)
    items, counts = await asyncio.to_thread(pages.worklist, console.read_model, console.today(), kind=kind,
                                            show_done=show_done, limit=LIST_PAGE, bank=bank)
    return console.render(request, "worklist.html", {
        "user": user, "items": items, "total": counts.get(kind, 0) if kind else sum(counts.values()),
        "counts": counts, "kind": kind, "show_done": show_done, "refreshed_at": console.read_model.refreshed_at})


@auth.requires("ops")
async def mark_item(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    form = await request.form()
    invoice, item, state = str(form.get("invoice", "")), str(form.get("item", "")), str(form.get("state", ""))
    until = None
    if state == "postponed":
        try:
            until = actions._date(str(form.get("until", ""))) or console.today() + dt.timedelta(days=1)
        except actions.Refused as refused:
            return Response(str(refused), status_code=422)
    if state not in ("done", "postponed") or not invoice or not item:
        return Response("état inconnu", status_code=422)
    mark = Mark(invoice, item, state, until, str(form.get("note", ""))[:1000], user.login, console.now())
    console.store.mark(mark)
    log.info("console.worklist.mark", user=user.login, invoice=invoice, item=item, state=state)
    if "hx-request" in request.headers:
        return console.render(request, "worklist_marked.html", {"mark": mark, "user": user})
    return RedirectResponse("/", status_code=303)


# ---------------------------------------------------------------------- customers and the dashboard


@auth.requires("read")
async def customers_page(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    search, sort = request.query_params.get("q", ""), request.query_params.get("sort", "total")
    found, total = await asyncio.to_thread(pages.customers, console.read_model, console.today(), search, sort,
                                           limit=LIST_PAGE)
    return console.render(request, "customers.html", {"user": user, "customers": found, "total": total,
                                                      "q": search, "sort": sort})


@auth.requires("read")
async def customer_page(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    debtor_id = request.path_params["debtor"]
    rows = await asyncio.to_thread(pages.customer_invoices, console.read_model, debtor_id)
    if not rows:
        return console.render(request, "not_found.html", {"user": user, "invoice": debtor_id}, status_code=404)
    found, _ = await asyncio.to_thread(pages.customers, console.read_model, console.today(), debtor_id)
    summary = next((c for c in found if c.debtor_id == debtor_id), None)
    alerts = await asyncio.to_thread(pages.exposure_items, console.read_model, console.today(), show_done=True,
                                     debtor_id=debtor_id)
    sent, unreachable = [], None
    try:
        statuses = (await debtors.debtor_cases(await console.client(), debtor_id, console.today())).statuses
        sent = correspondence(statuses)
    except Exception as error:  # noqa: BLE001 - the read model's part of the page stands without Temporal
        unreachable = getattr(error, "message", None) or str(error)
        log.warning("console.customer_history_unreachable", debtor=debtor_id, error=unreachable)
    contact = await asyncio.to_thread(pages.customer_contact, console.read_model, debtor_id)
    return console.render(request, "customer.html", {"user": user, "rows": rows, "c": summary, "alerts": alerts,
                                                     "name": rows[0]["debtor_name"], "debtor_id": debtor_id,
                                                     "sent": sent, "unreachable": unreachable, "contact": contact,
                                                     "notes": console.store.notes(debtor_id),
                                                     "refused": request.query_params.get("refused")})


@auth.requires("ops")
async def customer_note(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    debtor_id = request.path_params["debtor"]
    text = str((await request.form()).get("text", ""))
    try:
        console.store.add_note(Note(debtor_id, console.now(), user.login, text))
    except StoreError as refused:
        return RedirectResponse(f"/customers/{debtor_id}?refused={quote(str(refused))}", status_code=303)
    log.info("console.customer.note", user=user.login, debtor=debtor_id)
    return RedirectResponse(f"/customers/{debtor_id}", status_code=303)


@auth.requires("read")
async def statement_page(request: Request, user: User) -> Response:
    """The customer's statement of account (relevé de compte) as the PDF `relance debtor --pdf` prints."""
    console: Console = request.app.state.console
    debtor_id = request.path_params["debtor"]
    found = await debtors.debtor_cases(await console.client(), debtor_id, console.today())
    if not found.statuses or console.settings.rules_dir is None:
        return console.render(request, "not_found.html", {"user": user, "invoice": debtor_id}, status_code=404)
    account = debtor_account(found.statuses, console.today())
    pdf = await asyncio.to_thread(statement_pdf, account, console.settings.rules_dir)
    name = f"releve-{debtor_id}-{account.as_of:%Y%m%d}.pdf".replace("/", "-").replace('"', "")
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@auth.requires("read")
async def document_page(request: Request, user: User) -> Response:
    """A printed document, shown in the page (inline) from the folder the workers write them to."""
    console: Console = request.app.state.console
    folder, name = request.path_params["folder"], request.path_params["name"]
    path = await asyncio.to_thread(documents.located, console.settings.documents_dir, folder, name)
    if path is None:
        return console.render(request, "document_missing.html", {
            "user": user, "name": f"{folder}/{name}",  # where the server's files are: for whoever configures it
            "root": console.settings.documents_dir if user.may("admin") else None}, status_code=404)
    return FileResponse(path, media_type=documents.media_type(name), headers={
        "Content-Disposition": f'inline; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})  # a debtor's letter: kept by no cache, shared or on disk


@auth.requires("read")
async def dashboard_page(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    board = await asyncio.to_thread(pages.dashboard, console.read_model, console.today())
    return console.render(request, "dashboard.html", {"user": user, "d": board,
                                                      "refreshed_at": console.read_model.refreshed_at})


@auth.requires("ops")
async def rebuild(request: Request, user: User) -> Response:
    console: Console = request.app.state.console
    report = await console.read_model.refresh(await console.client(), console.task_queue, console.today(),
                                             console.now(), rebuild=True)
    log.info("console.read_model.rebuilt", user=user.login, cases=report.read, failed=len(report.failed))
    return RedirectResponse(auth.safe_next(str((await request.form()).get("next", "/dashboard"))), status_code=303)


def create_app(console: Console, *, refresher: bool = True) -> Starlette:
    from console import oidc, rules_admin

    routes = [
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", set_language),
        Route("/", worklist_page),
        Route("/worklist/mark", mark_item, methods=["POST"]),
        Route("/customers", customers_page),
        Route("/customers/{debtor:path}/releve.pdf", statement_page),
        Route("/customers/{debtor:path}/notes", customer_note, methods=["POST"]),
        Route("/customers/{debtor:path}", customer_page),
        Route("/dashboard", dashboard_page),
        Route("/documents/{folder}/{name}", document_page),
        Route("/read-model/rebuild", rebuild, methods=["POST"]),
        Route("/go", go_to_case),
        Route("/cases/{invoice}", case_page),
        Route("/cases/{invoice}/{action}", case_action, methods=["POST"]),
        *rules_admin.routes(),
        *oidc.routes(console.settings.oidc),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if refresher and console.settings.refresh_seconds > 0:
            console._refresher = asyncio.create_task(console.refresh_forever())
        yield
        if console._refresher:
            console._refresher.cancel()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(
        SessionMiddleware, secret_key=console.store.secret(), session_cookie="relance_console",
        max_age=console.settings.idle_minutes * 60, same_site="lax", https_only=console.settings.secure_cookies)])
    app.state.console = console
    return app
