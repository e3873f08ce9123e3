"""Rules admin: the policies and their versions, a draft uploaded, `rules check`'s findings and the preview diff
on the current book, then publishing it. Admins only.

A draft is the rules folder as it is, with the uploaded file in place of the policy of the same `policy_id`
(or added), kept under var/console-drafts/<id>/ until it is published or dropped. The preview plays the open
invoices of that policy (the read model's book) through the decision core in memory from today, under the
version in force and under the draft (`relance rules diff --fast` on the same invoices): what moves, appears or
disappears, messages per month, cases reaching court or the insurer. Publishing writes the file into the rules
folder and tells the policy's registry, as `relance rules reload` does: the registry carries the content, so
workers on other hosts run it without the file (they read the registry, not their own rules folder).
"""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console import auth
from console.store import User
from domain.rule_file import RuleFileError, load_policy_file, policy_files
from relance import policies, rules_cli
from relance.ledger import LedgerRow
from relance.simulation import simulate_fast

log = structlog.get_logger(__name__)
MAX_DRAFT_BYTES = 256 * 1024  # a policy file is a few kilobytes: anything far larger is refused unread
PREVIEW_LIMIT = 20_000  # invoices played per side: about 15 s at most here (bench/results-preview.json)


def _drafts(console) -> Path:
    return console.settings.store_path.parent / "console-drafts"


def _draft_dir(console, draft: str) -> Path | None:
    if not draft.isalnum():
        return None
    folder = _drafts(console) / draft
    return folder if folder.is_dir() else None


def _draft_file(folder: Path) -> Path:
    return folder / (folder / ".uploaded").read_text(encoding="utf-8")


@auth.requires("admin")
async def rules_page(request: Request, user: User) -> Response:
    console = request.app.state.console
    valid, problems = rules_cli.valid_policies(console.settings.rules_dir)
    versions = {}
    for policy_id in valid:
        try:
            versions[policy_id] = await policies.history(await console.client(), console.task_queue, policy_id)
        except Exception:  # no registry yet (never published), or Temporal away: said on the page
            versions[policy_id] = None
    return console.render(request, "rules.html", {"user": user, "policies": valid, "problems": problems,
                                                  "versions": versions})


@auth.requires("admin")
async def upload_draft(request: Request, user: User) -> Response:
    console = request.app.state.console
    form = await request.form()
    upload = form.get("file")
    text = (await upload.read(MAX_DRAFT_BYTES + 1)) if upload is not None and hasattr(upload, "read") else b""
    if not text:
        text = str(form.get("text", "")).encode("utf-8")
    if not text.strip() or len(text) > MAX_DRAFT_BYTES:
        return await _rules_error(request, user, f"fichier vide ou de plus de {MAX_DRAFT_BYTES // 1024} Ko")
    draft = secrets.token_hex(8)
    folder = _drafts(console) / draft
    shutil.copytree(console.settings.rules_dir, folder, ignore=shutil.ignore_patterns(".*"))
    scratch = folder / ".candidate.yaml"
    scratch.write_bytes(text)
    try:
        policy_id = load_policy_file(scratch).policy_id
    except RuleFileError as error:  # unreadable: kept under its own name, so check shows every problem
        policy_id = None
        problems = [str(p) for p in error.problems]
    else:
        problems = []
    target = next((p for p in policy_files(folder) if p != scratch and _policy_id(p) == policy_id), None)
    name = target.name if target else (f"{policy_id}.yaml" if policy_id else "brouillon.yaml")
    scratch.replace(folder / name)
    (folder / ".uploaded").write_text(name, encoding="utf-8")
    (folder / ".by").write_text(user.login, encoding="utf-8")
    log.info("console.rules.draft", user=user.login, draft=draft, file=name, problems=len(problems))
    return RedirectResponse(f"/rules/drafts/{draft}", status_code=303)


def _policy_id(path: Path) -> str | None:
    try:
        return load_policy_file(path).policy_id
    except RuleFileError:
        return None


async def _rules_error(request: Request, user: User, error: str) -> Response:
    console = request.app.state.console
    valid, problems = rules_cli.valid_policies(console.settings.rules_dir)
    return console.render(request, "rules.html", {"user": user, "policies": valid, "problems": problems,
                                                  "versions": {}, "error": error}, status_code=422)


def preview(console, folder: Path, policy_id: str) -> dict:
    """`relance rules diff --fast` of the version in force and the draft, on the open book of that policy."""
    invoices = console.read_model.open_invoices(policy_id)[:PREVIEW_LIMIT]
    rows = [LedgerRow(row=n, invoice=invoice) for n, invoice in enumerate(invoices, start=1)]
    current, _ = rules_cli.valid_policies(console.settings.rules_dir)
    proposed, _ = rules_cli.valid_policies(folder)
    start = console.now()
    if policy_id not in current:  # a new policy: nothing runs under it yet
        return {"cases": {}, "totals": None, "book": 0}
    report = rules_cli.diff(simulate_fast(rows, current, start), simulate_fast(rows, proposed, start))
    return {**report, "book": len(rows)}


def _checked(request: Request) -> tuple[Path, Path, list[str], int] | None:
    """The draft named in the path: its folder, its file, and `rules check`'s lines and error count."""
    console = request.app.state.console
    folder = _draft_dir(console, request.path_params["draft"])
    if folder is None:
        return None
    lines, errors = rules_cli.check([folder], console.today())
    return folder, _draft_file(folder), lines, errors


@auth.requires("admin")
async def draft_page(request: Request, user: User) -> Response:
    console = request.app.state.console
    checked = await asyncio.to_thread(_checked, request)  # it renders every template: off the loop
    if checked is None:
        return Response(status_code=404)
    folder, file, lines, errors = checked
    policy_id = _policy_id(file)
    report = await asyncio.to_thread(preview, console, folder, policy_id) if policy_id and not errors else None
    return console.render(request, "rules_draft.html", {
        "user": user, "draft": folder.name, "file": file.name, "text": file.read_text(encoding="utf-8"),
        "findings": [line.replace(str(folder) + os.sep, "") for line in lines], "errors": errors,
        "policy_id": policy_id, "report": report, "diff_text": rules_cli.diff_text(report) if report and report["totals"] else "",
        "published": request.query_params.get("published")})


@auth.requires("admin")
async def publish_draft(request: Request, user: User) -> Response:
    console = request.app.state.console
    checked = await asyncio.to_thread(_checked, request)  # it renders every template: off the loop
    if checked is None:
        return Response(status_code=404)
    folder, file, _, errors = checked
    if errors:
        return Response("Brouillon refusé: rules check y trouve des erreurs", status_code=422)
    rules_dir = console.settings.rules_dir
    staged = rules_dir / f".{file.name}.console"
    shutil.copyfile(file, staged)
    staged.replace(rules_dir / file.name)  # atomic: a worker reading the folder sees the old file or the new one
    valid, _ = rules_cli.valid_policies(rules_dir)
    policy = valid[_policy_id(file)]
    try:
        answers = {ref: answer.message for ref, answer in (await policies.publish(
            await console.client(), console.task_queue, [policy], seen_by=f"console:{user.login}")).items()}
    except policies.NoWorker as error:
        answers = {policy.ref: f"fichier écrit; {error}"}
    shutil.rmtree(folder)
    log.info("console.rules.published", user=user.login, policy=policy.ref, answers=answers)
    return RedirectResponse(f"/rules?published={policy.ref}", status_code=303)


def routes() -> list[Route]:
    return [Route("/rules", rules_page), Route("/rules/drafts", upload_draft, methods=["POST"]),
            Route("/rules/drafts/{draft}", draft_page), Route("/rules/drafts/{draft}/publish", publish_draft, methods=["POST"])]

