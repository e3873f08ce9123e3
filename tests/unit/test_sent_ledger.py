"""The sent ledger's leases, on SQLite (one host) and on a real PostgreSQL server (several hosts): same tests."""
from __future__ import annotations

import subprocess
import threading
import time
import sqlite3

import pytest

from activities.sent_ledger import HOST, Outcome, PostgresSentLedger, SentLedger, open_ledger
from tests.pg import _ledger_database, postgres, postgres_url  # noqa: F401 (fixtures)

LEASE = 0.25


@pytest.fixture(params=["sqlite", "postgresql"])
def open_one(request, tmp_path):
    """Opens ledgers on one shared store, as several workers (or hosts) do."""
    location = (str(tmp_path / "sent.sqlite3") if request.param == "sqlite"
                else request.getfixturevalue("postgres_url"))
    opened = []

    def one(**settings):
        # Most of these tests follow an unconfirmed hand-off to its resend; the review ones say so.
        settings = {"lease_seconds": LEASE, "unconfirmed_seconds": 30, "on_unconfirmed": "resend", **settings}
        ledger = open_ledger(location, **settings)
        opened.append(ledger)
        return ledger

    yield one
    for ledger in opened:
        ledger.close()


def claim(ledger, key="FA-1:j+2", owner=None):
    owner = owner or ledger.new_owner()
    return owner, ledger.claim(key, owner, "<id@relance>", "Rappel")


def dead_owner(ledger) -> str:
    """The owner token of a worker process that is gone (its PostgreSQL session too)."""
    if isinstance(ledger, PostgresSentLedger):
        other = PostgresSentLedger(ledger.location)
        owner = other.new_owner()
        other.close()
        time.sleep(0.3)  # the server ends the session
        return owner
    gone = subprocess.Popen(["true"])
    gone.wait()
    return f"{HOST}/{gone.pid}/gone"


def test_one_owner_at_a_time_and_sent_for_everyone_once_confirmed(open_one):
    a, b = open_one(), open_one()
    owner, first = claim(a)
    _, second = claim(b)
    assert first.outcome is Outcome.CLAIMED and not first.resend
    assert second.outcome is Outcome.BUSY and second.owner == owner

    assert a.fence("FA-1:j+2", owner)
    assert a.confirm("FA-1:j+2", owner)
    assert claim(b)[1].outcome is Outcome.SENT
    assert b.lookup("FA-1:j+2").state == "sent"


def test_an_expired_claim_that_never_reached_data_is_taken_and_sent_not_reported_sent(open_one):
    a, b = open_one(), open_one()
    owner, _ = claim(a)
    time.sleep(LEASE + 0.1)
    taker, taken = claim(b)

    assert taken.outcome is Outcome.CLAIMED and not taken.resend
    assert not a.fence("FA-1:j+2", owner), "the first owner, back, may not send"
    assert not a.confirm("FA-1:j+2", owner) and not a.release("FA-1:j+2", owner)
    assert b.fence("FA-1:j+2", taker)


def test_the_fence_refuses_an_owner_whose_lease_ran_out_even_if_nobody_took_it(open_one):
    a = open_one()
    owner, _ = claim(a)
    time.sleep(LEASE + 0.1)
    assert not a.fence("FA-1:j+2", owner)


def test_a_renewed_lease_keeps_the_key(open_one):
    a, b = open_one(), open_one()
    owner, _ = claim(a)
    for _ in range(4):
        time.sleep(LEASE / 2)
        assert a.renew("FA-1:j+2", owner)
    assert claim(b)[1].outcome is Outcome.BUSY
    assert a.fence("FA-1:j+2", owner)


def test_only_the_owner_releases_or_confirms(open_one):
    a, b = open_one(), open_one()
    owner, _ = claim(a)
    intruder = b.new_owner()
    assert not b.release("FA-1:j+2", intruder)
    assert not b.fence("FA-1:j+2", intruder)
    assert a.fence("FA-1:j+2", owner)
    assert not b.confirm("FA-1:j+2", intruder)
    assert a.confirm("FA-1:j+2", owner)


def test_a_release_lets_the_next_attempt_send_at_once(open_one):
    a, b = open_one(), open_one()
    owner, _ = claim(a)
    assert a.release("FA-1:j+2", owner)
    assert claim(b)[1].outcome is Outcome.CLAIMED


def test_an_unconfirmed_hand_off_of_a_live_owner_waits_then_is_resent(open_one):
    """A worker paused while sending keeps its hand-off for `unconfirmed_seconds`: back in time, it confirms."""
    a, b = open_one(unconfirmed_seconds=0.6), open_one(unconfirmed_seconds=0.6)
    owner, _ = claim(a)
    assert a.fence("FA-1:j+2", owner)
    time.sleep(LEASE + 0.1)
    assert claim(b)[1].outcome is Outcome.BUSY, "its owner is alive: maybe paused, maybe about to confirm"
    time.sleep(0.6)
    taker, taken = claim(b)
    assert taken.outcome is Outcome.CLAIMED and taken.resend, "resent, flagged as a possible duplicate"
    assert not a.confirm("FA-1:j+2", owner), "the paused owner, back too late, no longer confirms"


def test_the_hand_off_of_a_dead_owner_is_resent_without_waiting_for_its_lease(open_one):
    a, b = open_one(lease_seconds=30), open_one(lease_seconds=30)
    owner = dead_owner(a)
    assert claim(a, owner=owner)[1].outcome is Outcome.CLAIMED
    assert a.fence("FA-1:j+2", owner)
    _, taken = claim(b)
    assert taken.outcome is Outcome.CLAIMED and taken.resend


def test_the_claim_of_a_dead_owner_is_taken_without_waiting_for_its_lease(open_one):
    a, b = open_one(lease_seconds=30), open_one(lease_seconds=30)
    claim(a, owner=dead_owner(a))
    _, taken = claim(b)
    assert taken.outcome is Outcome.CLAIMED and not taken.resend


def test_with_review_an_unconfirmed_hand_off_goes_to_ops_not_out(open_one):
    a, b = open_one(on_unconfirmed="review"), open_one(on_unconfirmed="review")
    owner = dead_owner(a)
    claim(a, owner=owner)
    a.fence("FA-1:j+2", owner)
    time.sleep(LEASE + 0.1)
    assert claim(b)[1].outcome is Outcome.REVIEW
    assert claim(b)[1].outcome is Outcome.REVIEW
    assert [r.key for r in b.rows("review")] == ["FA-1:j+2"]

    assert b.resolve("FA-1:j+2", sent=False)
    assert claim(b)[1].outcome is Outcome.CLAIMED
    b.release("FA-1:j+2", b.lookup("FA-1:j+2").owner)
    b.resolve("FA-1:j+2", sent=True)  # not in review any more: nothing to do
    assert claim(b)[1].outcome is Outcome.CLAIMED


def test_of_many_workers_racing_for_one_key_one_claims_it(open_one):
    ledgers = [open_one() for _ in range(4)]
    outcomes: list[Outcome] = []
    start = threading.Barrier(len(ledgers) * 3)

    def race(ledger):
        start.wait()
        outcomes.append(claim(ledger, key="FA-9:notice")[1].outcome)

    threads = [threading.Thread(target=race, args=(ledger,)) for ledger in ledgers for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Outcome.CLAIMED) == 1
    assert outcomes.count(Outcome.BUSY) == len(threads) - 1


def test_a_ledger_of_the_earlier_mailer_is_carried_over(tmp_path):
    """Its 'sent' rows stay sent; its 'pending' ones (never confirmed) become unconfirmed hand-offs."""
    path = tmp_path / "sent.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE sent (key TEXT PRIMARY KEY, message_id TEXT, subject TEXT, state TEXT NOT NULL,"
                " at TEXT DEFAULT CURRENT_TIMESTAMP)")
    old.execute("INSERT INTO sent (key, state) VALUES ('FA-1:a', 'sent'), ('FA-1:b', 'pending')")
    old.commit()
    old.close()

    ledger = SentLedger(path, lease_seconds=LEASE, unconfirmed_seconds=0, on_unconfirmed="resend")
    assert claim(ledger, key="FA-1:a")[1].outcome is Outcome.SENT
    resent = claim(ledger, key="FA-1:b")[1]
    assert resent.outcome is Outcome.CLAIMED and resent.resend


def test_a_hand_off_its_owner_gave_up_on_is_taken_at_once_as_unconfirmed(open_one):
    """The relay dropped the connection in the middle of DATA: the owner, alive, will not confirm it."""
    a, b = open_one(lease_seconds=30), open_one(lease_seconds=30)
    owner, _ = claim(a)
    assert a.fence("FA-1:j+2", owner)
    assert a.abandon("FA-1:j+2", owner)
    assert not a.confirm("FA-1:j+2", owner)
    _, taken = claim(b)
    assert taken.outcome is Outcome.CLAIMED and taken.resend


def test_the_postgresql_server_probes_each_ledger_session_so_a_vanished_host_is_seen_dead_in_seconds(postgres_url):
    """A host that loses power keeps its sessions open on the server until TCP says otherwise: the ledger asks the
    server to probe its own session (after 10 s idle, every 5 s, 3 tries), whatever the URL says besides."""
    ledger = PostgresSentLedger(postgres_url + "?application_name=relance-test&options=-c%20statement_timeout%3D60000")
    try:
        shown = {name: ledger._one(f"SHOW {name}", ())[0] for name in (
            "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "statement_timeout")}
    finally:
        ledger.close()
    assert shown == {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3",
                     "statement_timeout": "1min"}, "the URL's own options kept"


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_workers_opening_a_new_ledger_at_the_same_moment_all_start(store, request, tmp_path):
    """The workers of a host (or of several hosts) start together on a ledger nobody has created yet."""
    for round in range(8):
        if store == "sqlite":
            location = str(tmp_path / f"sent-{round}.sqlite3")
        else:
            location = request.getfixturevalue("postgres_url")
            import psycopg
            with psycopg.connect(location, autocommit=True) as db:
                db.execute("DROP TABLE IF EXISTS sent")
        start, opened, failed = threading.Barrier(4), [], []

        def open_at_once():
            start.wait()
            try:
                opened.append(open_ledger(location))
            except Exception as error:  # noqa: BLE001 - what the test is about
                failed.append(error)

        threads = [threading.Thread(target=open_at_once) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for ledger in opened:
            ledger.close()
        assert not failed, failed
