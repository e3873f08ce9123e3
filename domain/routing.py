"""Which policy applies to an invoice: a rule too, so one deployment serves several policies."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from domain.invoice import Invoice
from domain.policy import Condition
from domain.rule_file import ROUTING_FILE, parse_model, read_rule_text


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    when: Condition
    policy: str


class Routing(BaseModel):
    """First matching route wins; an invoice no route matches gets `default`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = []
    default: str = Field(min_length=1)

    def policy_for(self, invoice: Invoice) -> str:
        debtor = invoice.debtor
        route = next((r for r in self.routes if r.when.holds(
            insured=debtor.insured, amount=invoice.amount_incl_tax, segment=debtor.segment, country=debtor.country)), None)
        return route.policy if route else self.default

    def policies(self) -> set[str]:
        return {self.default, *(r.policy for r in self.routes)}


def load_routing(directory: Path) -> Routing:
    """The folder's routing table; without one, every invoice goes to the `default` policy."""
    path = directory / ROUTING_FILE
    if not path.exists():
        return Routing(default="default")
    routing, _ = parse_model(read_rule_text(path), str(path), Routing)  # a huge file is refused unread
    return routing
