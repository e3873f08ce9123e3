"""Turn a `LetterContext` into an email (subject, HTML, text) or a printable HTML document.

Pure Jinja2: no Temporal, no network. Templates live in `templates/<language>/<kind>.<part>`; a kind
missing in the debtor's language falls back to French, the language every kind is written in.

Edited or added templates are seen within `FRESH_SECONDS`: checking the files before every email (about eight
file-system calls) cost as much as rendering it.

Templates are edited by admins, not reviewed like code, so they render in Jinja's sandbox: a template that
reaches for Python internals (`''.__class__`, `cycler.__init__.__globals__`) fails instead of running on the
worker. A template that cannot render (sandbox refusal, missing variable, syntax error) is a `PermanentFailure`
naming the template: retrying the same template gives the same error.
"""
from __future__ import annotations

import os
import time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.sandbox
from pydantic import BaseModel

from activities.contracts import PermanentFailure
from domain.countries import postal_name
from domain.letters import LetterContext

FALLBACK_LANGUAGE = "fr"
EMAIL_PARTS = ("subject.txt", "html", "txt")
DOCUMENT_PART = "document.html"
_DEFAULT_DIR = Path(__file__).resolve().parent.parent / "templates"
FRESH_SECONDS = 1.0


class Attachment(BaseModel):
    filename: str
    content_type: str
    data: bytes


class RenderedEmail(BaseModel):
    subject: str
    html: str
    text: str
    attachments: list[Attachment] = []  # the printed letter, where the policy attaches it


def templates_dir() -> Path:
    """Read at each call (not import) so a test or a deployment can point elsewhere."""
    return Path(os.environ.get("RELANCE_TEMPLATES_DIR") or _DEFAULT_DIR)


@jinja2.pass_context
def _long_date(context: jinja2.runtime.Context, day) -> str:
    from domain.money import format_date_long

    # The language of the template being rendered, not the debtor's: a French fallback template must
    # not print "22 November 2026" in the middle of a French sentence.
    return format_date_long(day, context.get("template_language", FALLBACK_LANGUAGE))


@jinja2.pass_context
def _percent(context: jinja2.runtime.Context, rate: Decimal) -> str:
    text = f"{rate:.2f}"
    if context.get("template_language", FALLBACK_LANGUAGE) == "en":
        return f"{text}%"
    return text.replace(".", ",") + "\u00a0%"  # French: decimal comma, no-break space before %


def _city(address: str) -> str:
    """'12 rue de l'Industrie, 69003 Lyon' -> 'Lyon', for "Lyon, le ..."; '' when there is no postcode."""
    last = address.replace("\n", ",").split(",")[-1].split()
    return " ".join(last[1:]) if len(last) > 1 and last[0].isdigit() and len(last[0]) == 5 else ""


def _postal_lines(address: str, country: str = "FR") -> list[str]:
    """An address as the lines of a window envelope's block: one per comma or line break, the last one
    "postcode CITY" in capitals (NF Z10-011), then the country abroad."""
    lines = [part.strip() for part in address.replace("\n", ",").split(",") if part.strip()]
    if lines and lines[-1][:4].isdigit():  # a postcode (5 digits in France, 4 in Belgium or Switzerland)
        lines[-1] = lines[-1].upper()
    if line := postal_name(country):  # none in France and its overseas departments
        lines.append(line)
    return lines


def _required(value, name: str):
    """Fail loudly where a letter would otherwise go out with a blank (a mise en demeure without a deadline)."""
    if value is None or value == "" or value == []:
        raise jinja2.UndefinedError(f"{name} manquant, ce modèle en a besoin — {name} is required by this template")
    return value


class _ThrottledLoader(jinja2.FileSystemLoader):
    """Jinja asks whether a cached template is up to date at each use; the file is looked at once a second."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        checked = time.monotonic()

        def fresh() -> bool:
            nonlocal checked
            now = time.monotonic()
            if now - checked < FRESH_SECONDS:
                return True
            checked = now
            return uptodate()

        return source, filename, fresh


def make_environment(path: str | Path) -> jinja2.sandbox.SandboxedEnvironment:
    # Imported here: domain.money is written alongside this module and must not break importing it.
    from domain.money import format_date_fr, format_eur

    env = jinja2.sandbox.SandboxedEnvironment(
        loader=_ThrottledLoader(str(path)),
        undefined=jinja2.StrictUndefined,  # a typo in a template must fail, not send a blank to a debtor
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,  # an included partial ends with its newline, whatever its last tag
    )
    env.filters.update(
        eur=format_eur, date=format_date_fr, long_date=_long_date, percent=_percent, city=_city, required=_required,
        postal_lines=_postal_lines,
    )
    return env


@lru_cache(maxsize=None)
def _cached_environment(path: str) -> jinja2.sandbox.SandboxedEnvironment:
    return make_environment(path)


def environment() -> jinja2.sandbox.SandboxedEnvironment:
    """One environment per templates directory, built once: Jinja caches compiled templates in it."""
    return _cached_environment(str(templates_dir()))


def _exists(kind: str, language: str, part: str) -> bool:
    return (templates_dir() / language / f"{kind}.{part}").is_file()


_languages: dict[tuple, tuple[str, float]] = {}


def _language_for(kind: str, language: str, parts: tuple[str, ...]) -> str:
    """All parts of one message come from the same language, never an English subject on a French body."""
    key, now = (templates_dir(), kind, language, parts), time.monotonic()
    known = _languages.get(key)
    if known and now - known[1] < FRESH_SECONDS:
        return known[0]
    for candidate in (language, FALLBACK_LANGUAGE):
        if all(_exists(kind, candidate, part) for part in parts):
            _languages[key] = (candidate, now)
            return candidate
    raise jinja2.TemplateNotFound(f"{language}/{kind}.{{{','.join(parts)}}} (nor in {FALLBACK_LANGUAGE})")


def _variables(ctx: LetterContext, template_language: str, *, printed: bool = False) -> dict:
    # Model attributes, not model_dump(): templates get real dates and Decimals, and total_due is a property.
    values = {name: getattr(ctx, name) for name in LetterContext.model_fields}
    # `printed`: a body shared by an email and a letter says "ce courriel" in one and "ce courrier" in the other.
    values.update(total_due=ctx.total_due, debtor=ctx.invoice.debtor, template_language=template_language,
                  printed=printed, lead_kind=ctx.kind, account_total=ctx.account_total, account_net=ctx.account_net)
    return values


ACCOUNT_MESSAGE = "account_message"


def _email_kind(ctx: LetterContext) -> str:
    """A customer's message listing several invoices, or netting its credits, is written as a statement of account
    whatever its step (`lead_kind` gives its tone); one invoice alone reads as it always did. Letters to others
    (the insurer, ops) keep their kind and print the statement under it."""
    if ctx.account_lines and (len(ctx.account_lines) > 1 or ctx.credits) and not ctx.recipient:
        return ACCOUNT_MESSAGE
    return ctx.kind


# What a template itself gets wrong; a kind with no template at all (TemplateNotFound before rendering) is not one:
# the file may be deployed before the retry.
_TEMPLATE_FAULTS = (jinja2.sandbox.SecurityError, jinja2.UndefinedError, jinja2.TemplateSyntaxError)


def _render(name: str, variables: dict) -> str:
    try:
        return environment().get_template(name).render(variables)
    except _TEMPLATE_FAULTS as error:
        where = f"{error.filename or name}:{error.lineno}" if isinstance(error, jinja2.TemplateSyntaxError) else name
        raise PermanentFailure(f"template {where} cannot be rendered: {type(error).__name__}: {error}") from error


def render_email(ctx: LetterContext) -> RenderedEmail:
    kind = _email_kind(ctx)
    language = _language_for(kind, ctx.language, EMAIL_PARTS)
    variables = _variables(ctx, language)
    subject, html, text = (_render(f"{language}/{kind}.{part}", variables) for part in EMAIL_PARTS)
    # One line: a newline in a header would break (or inject into) the message.
    return RenderedEmail(subject=" ".join(subject.split()), html=html, text=text.strip() + "\n")


def render_document(ctx: LetterContext) -> str:
    language = _language_for(ctx.kind, ctx.language, (DOCUMENT_PART,))
    variables = _variables(ctx, language, printed=True)
    return _render(f"{language}/{ctx.kind}.{DOCUMENT_PART}", variables)


STATEMENT_KIND = "statement_of_account"


def render_statement(account, creditor, today) -> str:
    """A customer's statement of account (relevé de compte) as a printable page; `account` is a DebtorAccount."""
    from domain.debtor_account import AGING_LABELS, AGING_LABELS_EN

    language = _language_for(STATEMENT_KIND, account.debtor.language, (DOCUMENT_PART,))
    return _render(f"{language}/{STATEMENT_KIND}.{DOCUMENT_PART}", {
        "account": account, "debtor": account.debtor, "creditor": creditor, "today": today,
        "template_language": language, "printed": True,
        "aging_labels": AGING_LABELS_EN if language == "en" else AGING_LABELS,
        # The page's own table is the statement: not the grouped letter's, which document_base.html adds.
        "account_lines": [], "credits": []})


def template_exists(kind: str, language: str = FALLBACK_LANGUAGE) -> bool:
    """Whether `kind` is written in exactly `language` (as an email or a document); rendering would fall back to fr."""
    return all(_exists(kind, language, part) for part in EMAIL_PARTS) or _exists(kind, language, DOCUMENT_PART)


def available_templates() -> set[str]:
    """Kinds renderable whatever the debtor's language, i.e. complete in the French fallback."""
    folder = templates_dir() / FALLBACK_LANGUAGE
    kinds = {path.name.split(".", 1)[0] for path in folder.glob("*.*")} if folder.is_dir() else set()
    return {kind for kind in kinds if template_exists(kind, FALLBACK_LANGUAGE)}


def templates_by_channel() -> dict[str, set[str]]:
    """Kinds that can go out as an email, and kinds that can be printed, whatever the debtor's language."""
    kinds = available_templates()
    return {"email": {k for k in kinds if all(_exists(k, FALLBACK_LANGUAGE, part) for part in EMAIL_PARTS)},
            "letter": {k for k in kinds if _exists(k, FALLBACK_LANGUAGE, DOCUMENT_PART)}}
