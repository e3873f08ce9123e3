"""Who is signed in, what their role allows, and the checks every request passes: session, expiry, CSRF.

Sessions are cookies signed with the store's key (Starlette's SessionMiddleware, itsdangerous): the cookie
expires after `idle_minutes` without a request (each answer re-signs it), and a session older than `max_hours`
is refused whatever its activity. The user's role is read from the store on every request: a user removed or
demoted loses access at once. Every form carries the session's CSRF token, compared in constant time.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from console.store import Role, User

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclasses.dataclass(frozen=True)
class OidcSettings:
    """Sign-in through the company's OpenID Connect provider, configured by environment (all three needed)."""

    issuer: str
    client_id: str
    client_secret: str
    default_role: Role | None = None  # a user the store does not know: refused, unless a role is given here

    @classmethod
    def from_env(cls) -> OidcSettings | None:
        env = os.environ.get
        issuer, client_id, secret = env("RELANCE_OIDC_ISSUER"), env("RELANCE_OIDC_CLIENT_ID"), env("RELANCE_OIDC_CLIENT_SECRET")
        if not (issuer and client_id and secret):
            return None
        role = env("RELANCE_OIDC_DEFAULT_ROLE") or None
        if role not in (None, "read", "ops", "admin"):
            raise ValueError(f"RELANCE_OIDC_DEFAULT_ROLE={role!r}: read, ops or admin")
        return cls(issuer=issuer.rstrip("/"), client_id=client_id, client_secret=secret, default_role=role)


def sign_in(request: Request, user: User) -> None:
    request.session.clear()  # a new session on sign-in: nothing carried over from before (fixation)
    request.session.update({"login": user.login, "since": time.time(), CSRF_FIELD: secrets.token_urlsafe(32)})


def sign_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    return request.session.get(CSRF_FIELD, "")


def current_user(request: Request) -> User | None:
    console = request.app.state.console
    login, since = request.session.get("login"), request.session.get("since", 0)
    if not login or time.time() - since > console.settings.session_max_hours * 3600:
        return None
    return console.store.user(login)


async def _csrf_ok(request: Request) -> bool:
    expected = csrf_token(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await request.form()).get(CSRF_FIELD, "")
    return bool(expected) and secrets.compare_digest(str(sent), expected)


def wants_page(request: Request) -> bool:
    """A browser asking for a page is sent to sign in; htmx and other clients get a plain 401."""
    return request.method == "GET" and "hx-request" not in request.headers and "text/html" in request.headers.get("accept", "")


Endpoint = Callable[[Request, User], Awaitable[Response]]


def requires(role: Role) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Signed in (else 401, or a redirect to sign in), with `role` at least (else 403), CSRF-checked on POST."""

    def wrap(endpoint: Endpoint):
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                if wants_page(request):
                    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
                return PlainTextResponse("Authentification requise", status_code=401)
            if request.method == "POST" and not await _csrf_ok(request):
                return PlainTextResponse("Jeton CSRF absent ou invalide: rechargez la page", status_code=403)
            if not user.may(role):
                return request.app.state.console.render(request, "forbidden.html", {"user": user}, status_code=403)
            return await endpoint(request, user)

        guarded.required_role = role  # read by the test that walks every route
        return guarded

    return wrap


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
