"""`make bench BENCH_ARGS=--stub-email`: a diagnostic, never relance's cost.

The `send_email` activity answers at once, without rendering, MIME, sent ledger or SMTP, so that a run sizes
relance's email work apart from the rest of its cost per case.
"""
from __future__ import annotations

from temporalio import activity

from activities.case_activities import CaseActivities
from activities.contracts import OutgoingEmail, SentEmail
from activities.mail import message_id_for


class WithoutEmailWork(CaseActivities):
    @activity.defn(name="send_email")
    async def send_email(self, email: OutgoingEmail) -> SentEmail:
        return SentEmail(message_id=message_id_for(email.key), subject=email.letter.kind, already_sent=False)


def without_email_work(a: CaseActivities) -> CaseActivities:
    return WithoutEmailWork(rules=a.rules, mailer=a.mailer, documents=a.documents, court=a.court, insurer=a.insurer,
                            printer=a.printer, registered_mail=a.registered_mail)
