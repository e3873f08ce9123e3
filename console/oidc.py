"""Sign-in through the company's OpenID Connect provider (authlib), when RELANCE_OIDC_* are set.

The provider says who the person is; the console's store says what they may do. A person the store does not
know is refused, unless RELANCE_OIDC_DEFAULT_ROLE gives newcomers a role (they are then added, without a
password). The login is the `email` claim, else `preferred_username`, else `sub`.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from console import auth


def routes(settings: auth.OidcSettings | None) -> list[Route]:
    if settings is None:
        return []
    from authlib.integrations.starlette_client import OAuth, OAuthError

    oauth = OAuth()
    oauth.register("company", client_id=settings.client_id, client_secret=settings.client_secret,
                   server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid email profile"})

    async def start(request: Request) -> Response:
        request.session["next"] = auth.safe_next(request.query_params.get("next"))
        return await oauth.company.authorize_redirect(request, str(request.url_for("oidc_callback")))

    async def callback(request: Request) -> Response:
        console = request.app.state.console
        try:
            token = await oauth.company.authorize_access_token(request)
        except OAuthError as error:
            return PlainTextResponse(f"Connexion refusée par le fournisseur d'identité: {error.error}", status_code=401)
        claims = token.get("userinfo") or {}
        login = claims.get("email") or claims.get("preferred_username") or claims.get("sub")
        user = console.store.user(login) if login else None
        if user is None and login and settings.default_role:
            user = console.store.add_user(login, claims.get("name") or login, settings.default_role, None, console.now())
        if user is None:
            return PlainTextResponse(f"{login or 'cet utilisateur'} n'a pas accès à la console: demandez-le à un"
                                     " administrateur (relance console adduser)", status_code=403)
        target = request.session.get("next", "/")
        auth.sign_in(request, user)
        return RedirectResponse(target, status_code=303)

    return [Route("/login/oidc", start), Route("/auth/oidc", callback, name="oidc_callback")]
