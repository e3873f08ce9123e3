"""A credit manager's morning in a real browser: sign in, work a worklist item, record a payment, open a
dispute, and what each did, read back from the case itself."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from domain.case import CaseStatus
from relance.cases import case_start
from tests import clock
from tests.console.conftest import screenshot, sign_in, write_console_policy
from tests.lifecycle.scenario import invoice
from tests.service.conftest import eventually
from workflows.invoice_case import InvoiceCase


async def _open_overdue_case(console, dev_server, service, rules_dir, *, days_late: int = 50):
    today = clock.dev_server_today()
    case = invoice(today=today, due_date=today - dt.timedelta(days=days_late), amount="1500.00",
                   credit_limit="1000.00", policy=write_console_policy(rules_dir))
    handle = await dev_server.client.start_workflow(InvoiceCase.run, case_start(case), id=case.workflow_id,
                                                    task_queue=service.task_queue)

    async def tasks_raised():  # the last reminder goes out at once: a call and a letter for ops
        status = await handle.query(InvoiceCase.status, today)
        return {t.key for t in status.tasks} >= {"reminder:amicable-j+45:call", "reminder:amicable-j+45:post"}

    assert await eventually(tasks_raised)

    async def in_read_model():
        await console.read_model.refresh(dev_server.client, service.task_queue, today, console.now())
        return console.read_model.rows("SELECT 1 FROM tasks WHERE invoice = ?", case.number)

    assert await eventually(in_read_model), "the read model sees the case through visibility"
    return case, handle


async def _status(handle) -> CaseStatus:
    return await handle.query(InvoiceCase.status, clock.dev_server_today())


async def test_a_morning_worklist_payment_and_dispute(page, console, dev_server, service, rules_dir):
    case, handle = await _open_overdue_case(console, dev_server, service, rules_dir)
    await sign_in(page, console, "olivia")

    # The worklist: the call the last reminder raised, naming its rule, opens its case.
    call = page.locator(f"tr.item[data-invoice='{case.number}'][data-key='reminder:amicable-j+45:call']")
    await call.wait_for()
    assert "Appel" in await call.inner_text() and "amicable-j+45" in await call.locator(".rule").inner_text()
    letter = page.locator(f"tr.item[data-invoice='{case.number}'][data-key='reminder:amicable-j+45:post']")
    assert "Courrier à poster" in await letter.inner_text()
    await screenshot(page, "worklist")

    # Marked done with a note: swapped in place by htmx, and gone from the list on the next visit.
    await call.locator("input[name=note]").fill("Client joint, paiement partiel promis")
    await call.locator("button[value=done]").click()
    await call.locator(".marked").wait_for()
    assert "olivia" in await call.locator(".marked").inner_text()
    await page.goto(f"{console.url}/")
    await letter.wait_for()
    assert await call.count() == 0, "an item marked done leaves the worklist"

    # The case page, opened from the worklist.
    await letter.locator(f"a[href='/cases/{case.number}']").click()
    await page.wait_for_url(f"**/cases/{case.number}")
    assert "relance amiable" in await page.locator("#stage").inner_text()

    # A payment dated in the future: refused by the case, in French, next to the form; nothing recorded.
    form = page.locator("#action-payment")
    await form.locator("input[name=amount]").fill("100,00")
    await form.locator("input[name=paid_on]").fill((clock.dev_server_today() + dt.timedelta(days=3)).isoformat())
    await form.locator("button").click()
    refusal = page.locator("#refusal-payment")
    await refusal.wait_for()
    assert "dans le futur" in await refusal.inner_text()
    assert (await _status(handle)).paid_total == 0

    # A payment of 400,00 today: recorded, shown, and the case's audit names who recorded it.
    form = page.locator("#action-payment")
    await form.locator("input[name=amount]").fill("400,00")
    await form.locator("input[name=paid_on]").fill("")
    await form.locator("input[name=reference]").fill("VIR-0042")
    await form.locator("button").click()
    await page.locator(".done").wait_for()
    assert "400,00" in await page.locator("#paid").inner_text()
    status = await _status(handle)
    assert str(status.paid_total) == "400.00"
    paid = [a for a in status.audit if a.kind == "payment"]
    assert paid and paid[-1].by == "olivia" and "VIR-0042" in paid[-1].refs
    await screenshot(page, "case")

    # A dispute with a review date: the case pauses; the audit names the user.
    review = clock.dev_server_today() + dt.timedelta(days=15)
    form = page.locator("#action-dispute")
    await form.locator("input[name=reason]").fill("Livraison incomplète")
    await form.locator("input[name=review_by]").fill(review.isoformat())
    await form.locator("button").click()
    await page.locator("#dispute").wait_for()
    assert "Livraison incomplète" in await page.locator("#dispute").inner_text()
    assert "en pause" in await page.locator("#stage").inner_text()
    status = await _status(handle)
    assert status.paused and status.dispute.reason == "Livraison incomplète" and status.dispute.review_by == review
    assert [a.by for a in status.audit if a.kind == "dispute"] == ["olivia"]
    assert "olivia" in await page.locator("#audit").inner_text()

    # The debtor moved: ops correct its address (a blank field keeps its value); a bad email is refused in French.
    form = page.locator("#action-contact")
    await form.locator("input[name=email]").fill("compta@intranet")  # the browser lets it through, the case does not
    await form.locator("button").click()
    await page.locator("#refusal-contact").wait_for()
    assert "adresse invalide" in await page.locator("#refusal-contact").inner_text()
    form = page.locator("#action-contact")
    await form.locator("input[name=email]").fill("")
    await form.locator("input[name=address]").fill("9 rue Neuve, 69003 Lyon")
    await form.locator("button").click()
    await page.locator(".done").wait_for()
    status = await _status(handle)
    assert status.invoice.debtor.address == "9 rue Neuve, 69003 Lyon" and status.invoice.debtor.email == case.debtor.email
    assert [a.by for a in status.audit if a.kind == "contact"] == ["olivia"]

    # The customer, its invoices grouped from the cases' statuses, over its credit limit.
    await page.goto(f"{console.url}/customers?q={case.debtor.debtor_id}")
    row = page.locator("table.customers tbody tr")
    assert await row.count() == 1 and "Dépassement" in await row.inner_text()
    await screenshot(page, "customers")
    await row.locator("a").first.click()
    await page.wait_for_url(f"**/customers/{case.debtor.debtor_id}")
    assert case.number in await page.locator("table.invoices").inner_text()

    # The dashboard: this month's cash holds the payment, also once the read model is rebuilt from Temporal.
    await page.goto(f"{console.url}/dashboard")
    assert "400,00" in await page.locator("#collected").inner_text()
    await page.get_by_role("button", name="Reconstruire depuis Temporal").click()
    await page.wait_for_url(f"{console.url}/dashboard")
    assert "400,00" in await page.locator("#collected").inner_text()
    assert "1 Dossiers ouverts" in await page.locator("p.meta").inner_text()
    await screenshot(page, "dashboard")


async def test_a_read_only_user_sees_the_case_without_its_forms(page, console, dev_server, service, rules_dir):
    case, handle = await _open_overdue_case(console, dev_server, service, rules_dir)
    await sign_in(page, console, "rita")
    await page.locator(f"tr.item[data-invoice='{case.number}']").first.wait_for()
    assert await page.locator("tr.item form").count() == 0, "the worklist without its buttons for a read-only user"
    await page.goto(f"{console.url}/cases/{case.number}")
    assert "relance amiable" in await page.locator("#stage").inner_text()
    assert await page.locator("#action-payment").count() == 0, "nor the case's action forms"
    served = await (await page.request.get(f"{console.url}/cases/{case.number}")).text()
    assert "relance amiable" in served and "1\u202f500,00" in served, "the page is readable as served, without JavaScript"
    await page.goto(f"{console.url}/lang/en?next=/cases/{case.number}")
    assert "Principal due" in await page.locator("dl.facts").inner_text(), "English on request"


async def test_an_admin_previews_and_publishes_a_rule_change(page, console, dev_server, service, rules_dir):
    case, handle = await _open_overdue_case(console, dev_server, service, rules_dir)
    current = (rules_dir / "console.yaml").read_text(encoding="utf-8")
    version = int(re.search(r"(?m)^version: (\d+)$", current).group(1))
    draft = re.sub(r"(?m)^version: \d+$", f"version: {version + 1}", current)
    draft = draft.replace("  id: mise-en-demeure\n  offset_days: 60", "  id: mise-en-demeure\n  offset_days: 75")
    assert draft.count("offset_days: 75") == 1

    await sign_in(page, console, "adam")
    await page.goto(f"{console.url}/rules")
    assert "console" in await page.locator("#policies").inner_text()
    await page.locator("#upload textarea[name=text]").fill(draft)
    await page.locator("#upload button").click()
    await page.wait_for_url("**/rules/drafts/*")
    assert "console.yaml: ok" in await page.locator("#findings").inner_text()
    shown = await page.locator("#preview").inner_text()
    moved = re.search(rf"{case.number}: .*\bnotice J\+(\d+) → J\+(\d+)", shown)
    assert moved and int(moved.group(2)) - int(moved.group(1)) == 15, "the notice moves 15 days on the open case"
    await screenshot(page, "rules")

    await page.locator("#publish").click()
    await page.wait_for_url("**/rules?published=*")
    assert f"version: {version + 1}" in (rules_dir / "console.yaml").read_text(encoding="utf-8")
    from relance import policies

    seen = await policies.history(dev_server.client, service.task_queue, "console")
    assert any(v.version == version + 1 and v.seen_by == "console:adam" for v in seen)


async def test_a_broken_draft_shows_its_findings_and_cannot_be_published(page, console, rules_dir):
    await sign_in(page, console, "adam")
    await page.goto(f"{console.url}/rules")
    broken = (rules_dir / "default.yaml").read_text(encoding="utf-8").replace("offset_days: 60", "offset_days: soixante")
    await page.locator("#upload textarea[name=text]").fill(broken)
    await page.locator("#upload button").click()
    await page.wait_for_url("**/rules/drafts/*")
    assert "offset_days" in await page.locator("#findings").inner_text()
    assert "ne peut pas être publié" in await page.locator("#refusal-publish").inner_text()
    assert await page.locator("#publish").count() == 0


async def test_a_customer_page_lists_what_was_sent_and_prints_the_statement(page, console, dev_server, service, rules_dir):
    from tests.pdf import pdf_text

    case, handle = await _open_overdue_case(console, dev_server, service, rules_dir)
    await sign_in(page, console, "rita")  # reading is enough
    await page.goto(f"{console.url}/customers/{case.debtor.debtor_id}")
    sent = page.locator("table.sent")
    await sent.wait_for()
    first = await sent.locator("tbody tr").first.inner_text()
    assert case.number in first and "email" in first, first
    reminder = next(a for a in (await _status(handle)).audit if a.kind == "email")
    assert reminder.summary in first, "the subject the case recorded"

    # The reminder's letter, printed by the worker: listed on the case, opened in the page, served as a PDF.
    async def printed():
        return next((a for a in (await _status(handle)).audit if a.kind == "letter"), None)

    letter = await eventually(printed)
    assert letter is not None, "the worker printed the reminder's letter"
    await page.goto(f"{console.url}/cases/{case.number}")
    shown = page.locator("#documents details").first
    await shown.locator("summary").click()
    frame = shown.locator("iframe")
    await frame.wait_for()
    src = await frame.get_attribute("src")
    document = await page.request.get(console.url + src)
    assert document.status == 200 and document.headers["content-type"] == "application/pdf"
    assert (await document.body()) == Path(letter.refs[0]).read_bytes()
    assert case.number in pdf_text(await document.body())
    await page.goto(f"{console.url}/customers/{case.debtor.debtor_id}")
    listed = page.locator("table.sent details iframe")
    assert await listed.count() == 1 and await listed.get_attribute("src") == src, \
        "the customer's correspondence shows the same letter"

    answer = await page.request.get(f"{console.url}/customers/{case.debtor.debtor_id}/releve.pdf")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    printed = pdf_text(await answer.body())
    assert "relevé de compte client" in printed.lower() and case.number in printed


async def test_an_action_on_a_case_closed_meanwhile_is_refused_in_french(page, console, dev_server, service, rules_dir):
    """The page was shown, then the case closed (paid by another ops user, closed by a sync): the form's message
    is refused next to it, not a server error."""
    from domain.case import CloseRequest

    case, handle = await _open_overdue_case(console, dev_server, service, rules_dir)
    await sign_in(page, console, "olivia")
    await page.goto(f"{console.url}/cases/{case.number}")
    await handle.execute_update(InvoiceCase.close_case, CloseRequest(reason="réglé hors relance", by="autre"))
    await handle.result()
    form = page.locator("#action-payment")
    await form.locator("input[name=amount]").fill("100,00")
    await form.locator("button").click()
    refusal = page.locator("#refusal-case")  # the closed case's page has no forms left: said at its top
    await refusal.wait_for()
    assert "clos entre-temps" in await refusal.inner_text()
