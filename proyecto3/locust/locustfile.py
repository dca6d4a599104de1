"""Load for Tweets del Clima: POST /tweets with the statement's JSON, drawn from the input file.

Environment (all optional):
  LOCUST_INPUT      the input file (default: input/weather-distribution.json beside this file);
                    run.sh and the in-cluster initContainer pull it from Zot as an OCI artifact.
  TWEETS_TOTAL      hard cap on requests for the whole test, across all users and all workers
                    (default 10000). When the cap is reached and every request has been answered,
                    a headless run quits; a web-UI run stops (the report stays on screen).
  TWEETS_WAIT_MAX   think time per user, uniform in [0, TWEETS_WAIT_MAX] seconds (default 0).
  TWEETS_SEED       make the generated tweets reproducible (user i uses seed + i).
  TWEETS_SUMMARY_JSON  write the final numbers (requests, failures, req/s, percentiles) there.

How the cap stays global: requests are paid for with tickets that only one party hands out.
Running alone (local mode) that is this process; distributed, it is the master: workers ask it
for small blocks of tickets over Locust's message channel (`tweets_tickets_req` → `tweets_tickets`),
so the sum over workers can never exceed TWEETS_TOTAL however users are spread. A worker that
is refused (the bank is empty) reports `tweets_finished` once its in-flight requests are answered;
the master stops the test when it has handed out everything and every worker that got tickets has
finished. A ticket is taken BEFORE the request is sent, so exactly TWEETS_TOTAL requests go out.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time

import gevent
from gevent.event import Event
from locust import FastHttpUser, between, events, task
from locust import stats as locust_stats
from locust.exception import StopUser
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tweetgen import Distribution  # noqa: E402

log = logging.getLogger("tweets")

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT = os.environ.get("LOCUST_INPUT") or os.path.join(HERE, "input", "weather-distribution.json")
TOTAL = int(os.environ.get("TWEETS_TOTAL", "10000"))
WAIT_MAX = float(os.environ.get("TWEETS_WAIT_MAX", "0"))
SEED = os.environ.get("TWEETS_SEED")
MAX_BLOCK = 100  # tickets per request to the master

DIST = Distribution.load(INPUT)  # fails fast on a malformed input file


class Bank:
    """The single source of tickets (master, or the lone local process)."""

    def __init__(self, total: int):
        self.generation = 0
        self.reset(total)

    def reset(self, total: int) -> None:
        self.generation += 1
        self.total = total
        self.issued = 0
        self.granted: dict[str, int] = {}
        self.finished: set[str] = set()
        self.stopping = False
        self.lost: list[str] = []

    def grant(self, who: str, want: int, workers: int = 1) -> int:
        remaining = self.total - self.issued
        # Smaller blocks near the end keep the last requests spread over the workers.
        block = max(1, min(want, MAX_BLOCK, math.ceil(remaining / (4 * max(1, workers)))))
        n = min(block, remaining)
        self.issued += n
        if n:
            self.granted[who] = self.granted.get(who, 0) + n
        return n

    def done(self, connected: set[str] | None = None) -> bool:
        """Everything handed out, and every holder of tickets finished (or gone: a worker that
        disconnected cannot answer for its tickets, so waiting for it would never end)."""
        if self.issued < self.total:
            return False
        return all(w in self.finished or (connected is not None and w not in connected) for w in self.granted)


class Budget:
    """A process's tickets; users take one per request."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.available = 0
        self.granted = 0
        self.completed = 0
        self.exhausted = False
        self.finished_sent = False
        self.asking = False
        self.answer = Event()

    def acquire(self) -> bool:
        while True:
            if self.available > 0:
                self.available -= 1
                return True
            if self.exhausted:
                return False
            if not self.asking:
                self.asking = True
                self.answer.clear()
                ask_for_tickets(MAX_BLOCK)
            if not self.answer.wait(timeout=30):
                log.warning("no answer from the ticket bank after 30 s; asking again")
                self.asking = False

    def receive(self, n: int) -> None:
        self.asking = False
        if n <= 0:
            self.exhausted = True
        else:
            self.available += n
            self.granted += n
        self.answer.set()
        self.check_finished()

    def complete(self) -> None:
        self.completed += 1
        self.check_finished()

    def check_finished(self) -> None:
        if self.exhausted and not self.finished_sent and self.completed >= self.granted:
            self.finished_sent = True
            report_finished(self.completed)


BANK = Bank(TOTAL)
BUDGET = Budget()
_env = None  # the Environment, set on init


def _runner():
    return _env.runner if _env is not None else None


def ask_for_tickets(n: int) -> None:
    r = _runner()
    if isinstance(r, WorkerRunner):
        r.send_message("tweets_tickets_req", {"n": n})
    else:  # local: this process is the bank
        got = BANK.grant("local", n)
        gevent.spawn(BUDGET.receive, got)


def report_finished(completed: int) -> None:
    r = _runner()
    if isinstance(r, WorkerRunner):
        # Flush this worker's stats first (same ordered channel), so the master's totals are
        # complete when it stops the test on our "finished".
        send_stats = getattr(r, "_send_stats", None)
        if callable(send_stats):
            send_stats()
        r.send_message("tweets_finished", {"completed": completed})
    else:
        BANK.finished.add("local")
        _stop_when_done()


def _connected_workers(r) -> set[str] | None:
    if isinstance(r, MasterRunner):
        return {c.id for c in r.clients.all if c.state != "missing"}
    return None


def _stop_when_done() -> None:
    r = _runner()
    if r is None or BANK.stopping or not BANK.done(_connected_workers(r)):
        return
    BANK.stopping = True
    BANK.lost = [w for w in BANK.granted if w not in BANK.finished]
    if BANK.lost:
        log.warning("all %d tickets handed out, but workers %s left before reporting: their "
                    "last requests are unaccounted for", BANK.issued, BANK.lost)
    else:
        log.info("request cap reached: %d requests sent and answered", BANK.issued)
    opts = _env.parsed_options
    headless = bool(opts and getattr(opts, "headless", False))
    # From a new greenlet: quitting from inside a user or the message loop would kill ourselves.
    # Wait one CSV interval first: Locust rewrites the stats CSV every CSV_STATS_INTERVAL_SEC and
    # does not write it again on shutdown, so quitting at once could leave it a second stale.
    gevent.spawn_later(locust_stats.CSV_STATS_INTERVAL_SEC + 0.5, r.quit if headless else r.stop)


# --- master-side message handlers -------------------------------------------------------------

def _on_tickets_req(environment, msg, **_):
    r = environment.runner
    workers = len(r.clients.ready + r.clients.running + r.clients.spawning) or 1
    n = BANK.grant(msg.node_id, int(msg.data.get("n", MAX_BLOCK)), workers)
    r.send_message("tweets_tickets", {"n": n}, client_id=msg.node_id)


def _on_finished(environment, msg, **_):
    BANK.finished.add(msg.node_id)
    _stop_when_done()


# --- worker-side message handler --------------------------------------------------------------

def _on_tickets(environment, msg, **_):
    BUDGET.receive(int(msg.data.get("n", 0)))


@events.init.add_listener
def _on_init(environment, **_):
    global _env
    _env = environment
    r = environment.runner
    if isinstance(r, MasterRunner):
        r.register_message("tweets_tickets_req", _on_tickets_req)
        r.register_message("tweets_finished", _on_finished)
    elif isinstance(r, WorkerRunner):
        r.register_message("tweets_tickets", _on_tickets)
    if not isinstance(r, WorkerRunner):
        log.info("input %s; cap %d requests in total", INPUT, TOTAL)


@events.test_start.add_listener
def _on_test_start(environment, **_):
    BANK.reset(TOTAL)
    BUDGET.reset()
    environment.tweets_started = time.time()
    if isinstance(environment.runner, MasterRunner):
        gevent.spawn(_watch_departures, environment.runner, BANK.generation)


def _watch_departures(runner, generation: int) -> None:
    """Master: re-check every 2 s, so a worker lost mid-test does not keep the test open."""
    while True:
        gevent.sleep(2)
        if BANK.generation != generation or BANK.stopping or runner.state not in ("spawning", "running"):
            return
        _stop_when_done()


class TweetUser(FastHttpUser):
    """One reporter: sends tweets back to back (or with TWEETS_WAIT_MAX think time)."""

    wait_time = between(0, WAIT_MAX)
    _index = 0

    def on_start(self):
        TweetUser._index += 1
        seed = None if SEED is None else int(SEED) + TweetUser._index
        self.rng = random.Random(seed)

    @task
    def send_tweet(self):
        if not BUDGET.acquire():
            raise StopUser()
        body = DIST.sample(self.rng)
        try:
            with self.client.post("/tweets", json=body, name="/tweets", catch_response=True) as resp:
                if resp.status_code != 202:
                    why = resp.error if resp.status_code == 0 else (resp.text or "")[:200]
                    resp.failure(f"HTTP {resp.status_code}: {why}")
                    return
                try:
                    answer = resp.json()
                except Exception:  # noqa: BLE001 - any decoding problem is a failure
                    resp.failure("202 without a JSON body")
                    return
                if answer.get("status") != "accepted" or not answer.get("id"):
                    resp.failure(f"unexpected 202 body: {answer!r}")
                else:
                    resp.success()
        finally:
            BUDGET.complete()


@events.quitting.add_listener
def _on_quitting(environment, **_):
    if isinstance(environment.runner, WorkerRunner):
        return
    t = environment.stats.total
    summary = {
        "requests": t.num_requests,
        "failures": t.num_failures,
        "accepted": t.num_requests - t.num_failures,
        "cap": TOTAL,
        "rps": round(t.total_rps, 1),
        "p50_ms": t.get_response_time_percentile(0.50),
        "p95_ms": t.get_response_time_percentile(0.95),
        "p99_ms": t.get_response_time_percentile(0.99),
        "max_ms": round(t.max_response_time or 0, 1),
        "avg_ms": round(t.avg_response_time, 1),
    }
    line = (
        f"tweets summary: {summary['requests']} requests ({summary['failures']} failures) of cap {TOTAL}; "
        f"{summary['rps']} req/s; p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
        f"p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms"
    )
    print(line, file=sys.stderr, flush=True)
    path = os.environ.get("TWEETS_SUMMARY_JSON")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    if isinstance(environment.runner, (LocalRunner, MasterRunner)) and t.num_requests > TOTAL:
        log.error("sent %d requests, more than the cap %d", t.num_requests, TOTAL)
        environment.process_exit_code = 3
    elif BANK.lost:
        environment.process_exit_code = 4
