"""A mutation whose answer never came (issue 17 item 3): API Gateway answers 504 while the Lambda runs on, or
the promote outlives --timeout. Its writes may land after the cleanup: the cleanup waits for them (bounded,
with a countdown) and proves the prefixes again, or says which keys may still appear; never "nothing left"
before that.
"""

from __future__ import annotations

import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from helpers.cli import cli
from helpers.engine import run_engine
from helpers.results import objects_of
from helpers.wire import LoopbackServer

from zorora_e2e_plugin.client.unanswered import MutationLedger
from zorora_e2e_plugin.core.outcomes import FAIL
from zorora_e2e_plugin.sandbox import Sandbox
from zorora_e2e_plugin.wire.watch import Watch


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-unanswered-{uuid.uuid4().hex[:8]}") as sb:
        yield sb


def lambdas_finished():
    """The sandbox's Lambdas that ran on after API Gateway gave up have all written (or failed)."""
    for thread in [t for t in threading.enumerate() if t.name == "sandbox-lambda-outlives"]:
        thread.join(60)


@pytest.mark.slow
def test_writes_landing_after_a_504_are_waited_for_and_removed(sandbox):
    result, text = run_engine(sandbox, ["lambda-outlives:1500"], timeout=2)
    lambdas_finished()
    assert objects_of(sandbox, result.customer_id) == [], text
    assert "no answer, so the Lambda may still write; watching the run's prefixes" in text
    assert "appeared and were removed" in text
    assert result.cleanup.proven_empty, text
    assert next(s for s in result.steps if s.id == "3.1").status == FAIL


@pytest.mark.slow
def test_writes_that_do_not_land_within_the_wait_are_named_and_the_sweep_removes_them(sandbox):
    result, text = run_engine(sandbox, ["lambda-outlives:7000"], timeout=2)  # the wait is 5 s
    assert not result.cleanup.proven_empty, text
    assert "nothing left" not in text.lower()
    c = result.customer_id
    assert {
        f"customer_tailored/{c}/latest_model.json",
        f"audit_logs/{c}/events.json",
        f"customer_tailored/{c}/archived/*",
    } <= set(result.cleanup.leftover), text
    assert "may still appear" in text and f"sweep --customer-id {c}" in text
    assert re.search(r"watching the run's prefixes for \d+s", text) and re.search(r"… \d+s left", text), text
    lambdas_finished()
    assert objects_of(sandbox, c), "the late writes landed"  # the fault did what it says
    done = cli("sweep", "--customer-id", c, "--older-than", "0s", "--yes", env=sandbox.env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert objects_of(sandbox, c) == []


@pytest.fixture
def slow_server():
    """Loopback: POST /promote never answers (until the test ends), /gateway answers 504, /refused 400."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/promote"):
                release.wait(30)
                return
            self.send_response(504 if self.path.endswith("/gateway") else 400)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST

        def log_message(self, *args):
            pass

    with LoopbackServer(Handler) as server:
        yield server.url
        release.set()


@pytest.mark.slow
def test_the_ledger_records_posts_that_got_no_answer_and_only_those(slow_server):
    session = requests.Session()
    ledger = MutationLedger()
    watch = Watch().listen(ledger).attach(session)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post(f"{slow_server}/prod/api/v1/promote", json={}, timeout=0.5)  # outlives --timeout
    session.post(f"{slow_server}/prod/api/v1/gateway", json={}, timeout=5)  # API Gateway gave up: 504
    session.post(f"{slow_server}/prod/api/v1/refused", json={}, timeout=5)  # answered
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(f"{slow_server}/prod/api/v1/promote", timeout=0.5)  # a read changes nothing
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post(f"http://127.0.0.1:{port}/prod/api/v1/rollback", json={}, timeout=5)  # never sent
    assert [(u.path, u.why.split(":")[0]) for u in ledger.pending()] == [
        ("/prod/api/v1/promote", "no answer"),
        ("/prod/api/v1/gateway", "HTTP 504 from the gateway"),
    ]
    ledger.close()
    watch.detach()
    assert "send" not in session.__dict__  # the session (a REPL's Zorora client) is left as it was
