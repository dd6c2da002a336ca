"""A deadline that cuts a wave fails only the steps still running (issue 17 item 6): the steps of the wave that
finished keep their results, and the failure names the request the hung step was waiting on.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from helpers.wire import LoopbackServer

from zorora_e2e_plugin.core.outcomes import FAIL, PASS, SKIP
from zorora_e2e_plugin.core.steps import Phase, Reporter, Step
from zorora_e2e_plugin.run.waves import Runner


class Recorder(Reporter):
    def __init__(self):
        self.results = []

    def step_finished(self, result):
        self.results.append(result)


@pytest.fixture
def silent_server():
    """A loopback server that accepts requests and never answers (until the test ends)."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            release.wait(30)

        def log_message(self, *args):
            pass

    with LoopbackServer(Handler) as server:
        yield server.url
        release.set()


@pytest.mark.slow
def test_only_the_steps_still_running_at_the_deadline_fail(silent_server):
    done = threading.Event()

    def quick(ctx):
        return "answered"

    def after_quick(ctx):
        done.wait(5)  # finishes while the first step of the wave is still waiting
        return "answered too"

    def hangs(ctx):
        done.set()
        requests.get(f"{silent_server}/prod/api/v1/challengers", params={"customer_id": "test"}, timeout=30)

    reporter = Recorder()
    runner = Runner(object(), reporter, deadline=1.0, redact=lambda text: text)
    runner.run_phases(
        [
            Phase(
                0,
                "gate",
                (
                    (Step("0.1", "hangs", hangs), Step("0.4", "quick", quick), Step("0.5", "after", after_quick)),
                    (Step("0.2", "next", quick),),
                ),
            )
        ]
    )
    status = {r.id: r.status for r in reporter.results}
    assert status == {"0.1": FAIL, "0.4": PASS, "0.5": PASS, "0.2": SKIP}, reporter.results
    hung = next(r for r in reporter.results if r.id == "0.1")
    assert "GET /prod/api/v1/challengers?customer_id=test" in hung.actual
    assert "GET /prod/api/v1/challengers?customer_id=test had not answered" in hung.hint
    assert [step.id for step in runner.cut_off()] == ["0.1"]
    assert next(r for r in reporter.results if r.id == "0.4").actual == "answered"
