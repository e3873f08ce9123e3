"""Everything deployment-specific comes from the environment, so one build runs on a laptop or a cluster."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from activities.mail import SmtpSettings

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


@dataclasses.dataclass(frozen=True)
class TemporalSettings:
    address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = "relance"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    api_key: str | None = None


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    max_cached_workflows: int = 2000  # ~130 KB each (make bench): bounds the worker's memory
    workflow_pollers: int = 10
    activity_pollers: int = 5
    max_concurrent_activities: int = 50
    connect_wait_seconds: float = 30  # a worker started beside its server waits for it rather than crash
    metrics_address: str | None = None  # host:port: the SDK's Prometheus metrics (task latencies, cache) served there
    print_processes: int = 1  # WeasyPrint processes printing letters and dossiers (activities/printing.py)


@dataclasses.dataclass(frozen=True)
class MailLedgerSettings:
    """Where the sent ledger lives and how long its leases run (activities/sent_ledger.py)."""
    url: str | None = None  # postgresql://...: one ledger for every host; else the SQLite file `Config.sent_ledger`
    lease_seconds: float = 15.0  # a claim or hand-off not renewed for this long is no longer its owner's
    unconfirmed_seconds: float = 600.0  # an expired hand-off whose owner may still be alive (paused) waits this long
    on_unconfirmed: str = "review"  # an unconfirmed hand-off goes to ops; "resend": it goes again, maybe twice


@dataclasses.dataclass(frozen=True)
class Config:
    temporal: TemporalSettings
    smtp: SmtpSettings
    worker: WorkerSettings
    rules_dir: Path
    var_dir: Path
    documents_dir: Path
    sent_ledger: Path
    rules_poll_seconds: float = 10.0  # 0: this worker does not watch the rule files
    mail_transport: str = "smtp"  # or "file": messages are written to var/outbox, nothing is sent
    mail_ledger: MailLedgerSettings = MailLedgerSettings()
    bank_store: str = ""  # RELANCE_BANK_URL (postgresql://...) or the SQLite file RELANCE_BANK_STORE

    def sent_ledger_location(self) -> str:
        return self.mail_ledger.url or str(self.sent_ledger)

    def bank_store_location(self) -> str:
        return self.bank_store or str(self.var_dir / "bank.sqlite3")


def _path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def from_env() -> Config:
    env = os.environ.get
    var_dir = Path(env("RELANCE_VAR", str(ROOT / "var")))
    return Config(
        temporal=TemporalSettings(
            address=env("TEMPORAL_ADDRESS", "localhost:7233"),
            namespace=env("TEMPORAL_NAMESPACE", "default"),
            task_queue=env("TEMPORAL_TASK_QUEUE", "relance"),
            tls_cert=_path("TEMPORAL_TLS_CERT"), tls_key=_path("TEMPORAL_TLS_KEY"), tls_ca=_path("TEMPORAL_TLS_CA"),
            api_key=env("TEMPORAL_API_KEY") or None,
        ),
        smtp=SmtpSettings(
            host=env("SMTP_HOST", "127.0.0.1"), port=int(env("SMTP_PORT", "1025")),
            starttls=_flag("SMTP_STARTTLS"), use_tls=_flag("SMTP_TLS"),
            username=env("SMTP_USER") or None, password=env("SMTP_PASSWORD") or None,
            sender=env("SMTP_FROM", "relance@localhost"), sender_name=env("SMTP_FROM_NAME", "Service recouvrement"),
            sessions=int(env("SMTP_SESSIONS", "4")),
        ),
        worker=WorkerSettings(
            max_cached_workflows=int(env("RELANCE_MAX_CACHED_WORKFLOWS", "2000")),
            workflow_pollers=int(env("RELANCE_WORKFLOW_POLLERS", "10")),
            activity_pollers=int(env("RELANCE_ACTIVITY_POLLERS", "5")),
            max_concurrent_activities=int(env("RELANCE_MAX_CONCURRENT_ACTIVITIES", "50")),
            connect_wait_seconds=float(env("RELANCE_WORKER_CONNECT_WAIT_SECONDS", "30")),
            metrics_address=env("RELANCE_METRICS_ADDRESS") or None,
            print_processes=int(env("RELANCE_PRINT_PROCESSES", "1")),
        ),
        rules_dir=Path(env("RELANCE_RULES_DIR", str(ROOT / "rules"))),
        var_dir=var_dir,
        documents_dir=Path(env("RELANCE_DOCUMENTS_DIR", str(var_dir / "documents"))),
        sent_ledger=Path(env("RELANCE_SENT_LEDGER", str(var_dir / "sent.sqlite3"))),
        rules_poll_seconds=float(env("RELANCE_RULES_POLL_SECONDS", "10")),
        mail_transport=env("RELANCE_MAIL_TRANSPORT", "smtp"),
        mail_ledger=MailLedgerSettings(
            url=env("RELANCE_SENT_LEDGER_URL") or None,
            lease_seconds=float(env("RELANCE_MAIL_LEASE_SECONDS", "15")),
            unconfirmed_seconds=float(env("RELANCE_MAIL_UNCONFIRMED_SECONDS", "600")),
            on_unconfirmed=env("RELANCE_MAIL_UNCONFIRMED", "review"),
        ),
        bank_store=env("RELANCE_BANK_URL") or env("RELANCE_BANK_STORE") or "",
    )
