"""What happened to an invoice before relance, as an import brings it (see `domain.history` for its meaning).

Its own module: `CaseStart` carries it across the Temporal boundary, and `domain.history` reads the case."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PriorHistory(BaseModel):
    """What happened to an invoice before relance, as the ledger's optional columns say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    last_reminder: str | None = None  # the id of the policy's reminder last sent
    last_reminder_on: dt.date | None = None
    notice_sent_on: dt.date | None = None  # mise en demeure
    court_filed_on: dt.date | None = None  # requête en injonction de payer déposée
    order_issued_on: dt.date | None = None  # ordonnance rendue
    order_served_on: dt.date | None = None  # ordonnance signifiée
    insurer_filed_on: dt.date | None = None  # déclaration de menace de sinistre
    dispute_reason: str = Field(default="", max_length=500)
    dispute_opened_on: dt.date | None = None
    paid: Decimal | None = Field(default=None, gt=0, decimal_places=2)  # received before relance, in all
    paid_on: dt.date | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "PriorHistory":
        pairs = (("last_reminder_on", "last_reminder"), ("paid_on", "paid"), ("dispute_opened_on", "dispute_reason"))
        for dated, what in pairs:
            if (getattr(self, dated) is None) != (not getattr(self, what)):
                raise ValueError(f"{what} and {dated} go together")
        court = [("court_filed_on", self.court_filed_on), ("order_issued_on", self.order_issued_on),
                 ("order_served_on", self.order_served_on)]
        for (earlier, first), (later, then) in zip(court, court[1:]):
            if then is not None and (first is None or then < first):
                raise ValueError(f"{later} needs {earlier} on or before it")
        if self.court_filed_on and self.insurer_filed_on:
            raise ValueError("court_filed_on and insurer_filed_on: one path at a time")
        return self

    def dates(self) -> dict[str, dt.date]:
        return {name: value for name, value in self if isinstance(value, dt.date)}

    @property
    def last_message_on(self) -> dt.date | None:
        """The last letter the debtor received from the creditor: nothing more comes too soon after it."""
        return max((d for d in (self.last_reminder_on, self.notice_sent_on) if d), default=None)
