"""Every step sends exactly what it declares (`Step.sends`, what the walkthrough's "It sends:" shows): the whole
plan runs against the sandbox, one step at a time (each wave's steps in turn, so that every request the
sandbox receives falls inside one step's window), and the sandbox's own request log (API and S3) is sorted
into the steps; each step's requests, as a multiset of "METHOD /path" or "S3 Operation", must equal its
declaration. Both clients: the direct adapter and Zorora's command classes (the stand-in host)."""

from __future__ import annotations

import io
import os
import time
from collections import Counter, defaultdict

import pytest

from zorora_e2e_plugin import plan as plan_module
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.core.steps import Phase, Reporter, counted
from zorora_e2e_plugin.plan.calls import gate_writes_done
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.report.walkthrough import sends_lines
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox

S3_OPERATIONS = {
    ("HEAD", False): "HeadBucket",
    ("GET", False): "ListObjectsV2",
    ("POST", False): "DeleteObjects",
    ("PUT", True): "PutObject",
    ("GET", True): "GetObject",
    ("DELETE", True): "DeleteObject",
    ("HEAD", True): "HeadObject",
}


def request_name(record) -> str:
    """A request of the sandbox's log as a step declares it."""
    if record.kind == "api":
        path = record.path.split("/prod/api/v1", 1)[-1]
        return f"{record.method} " + ("/metrics/{model}" if path.startswith("/metrics/") else path)
    parts = record.path.lstrip("/").split("/", 1)  # path-style: /bucket[/key]
    has_key = len(parts) == 2 and parts[1] != ""
    if not has_key and record.method == "GET":  # the bucket's sub-resources
        query = {part.split("=", 1)[0] for part in (record.query or "").split("&")}
        if "versioning" in query:
            return "S3 GetBucketVersioning"
        if "versions" in query:
            return "S3 ListObjectVersions"
    return "S3 " + S3_OPERATIONS.get((record.method, has_key), f"{record.method} {record.path}")


class Windows(Reporter):
    """When each step (and each phase's setup) began, on the monotonic clock the sandbox records with."""

    def __init__(self):
        self.marks = []

    def phase_started(self, phase):
        self.marks.append((f"setup {phase.id}", time.monotonic()))

    def step_started(self, step):
        self.marks.append((step.id, time.monotonic()))

    def step_finished(self, result):
        self.marks.append(("between steps", time.monotonic()))

    def owner(self, started: float) -> str:
        owner = "before the run"
        for name, at in self.marks:
            if at <= started:
                owner = name
        return owner


def setup_then_wait(setup):
    """A phase's setup whose writes go on in the background (phase 4's, beside 4.1-4.4), waited for here so
    that they fall inside the setup's window."""
    if setup is None:
        return None

    def waited(ctx):
        setup(ctx)
        assert gate_writes_done(ctx)

    return waited


def one_step_at_a_time(monkeypatch):
    real = plan_module.phases

    def flattened():
        return [
            Phase(p.id, p.name, tuple((s,) for wave in p.waves for s in wave), setup_then_wait(p.setup), p.setup_sends)
            for p in real()
        ]

    monkeypatch.setattr(plan_module, "phases", flattened)


def declared():
    out = {}
    for phase in plan_module.phases() + [plan_module.cleanup_phase()]:
        out[f"setup {phase.id}"] = counted(phase.setup_sends)
        for wave in phase.waves:
            for step in wave:
                out[step.id] = counted(step.sends)
    return out


def sent_per_step(sandbox, client: str):
    windows = Windows()
    del sandbox.request_log[:]
    settings = resolve(RunFlags(client=client), {}, target=sandbox_target(sandbox))
    result = validate(
        settings, console=make_console(file=io.StringIO(), no_color=True), options=RunOptions(observers=[windows])
    )
    assert result.verdict == PASSED, [(s.id, s.status, s.actual) for s in result.steps]
    assert result.client == client
    sent = defaultdict(Counter)
    for record in list(sandbox.request_log):
        sent[windows.owner(record.started)][request_name(record)] += 1
    return sent


def check(sent, expected):
    assert set(sent) <= set(expected), f"requests outside any step: { {k: sent[k] for k in set(sent) - set(expected)} }"
    wrong = {
        step: (dict(expected[step]), dict(sent.get(step, Counter())))
        for step in expected
        if expected[step] != sent.get(step, Counter())
    }
    assert not wrong, "step: (declared, sent)\n" + "\n".join(f"  {k}: {v}" for k, v in wrong.items())


@pytest.mark.slow
def test_every_step_sends_what_it_declares_direct_client(monkeypatch):
    one_step_at_a_time(monkeypatch)
    with Sandbox() as sandbox:
        check(sent_per_step(sandbox, "direct"), declared())


def test_every_step_sends_what_it_declares_through_zorora(monkeypatch, standin_path):
    one_step_at_a_time(monkeypatch)
    with Sandbox() as sandbox:
        check(sent_per_step(sandbox, "zorora"), declared())


@pytest.mark.real_zorora
@pytest.mark.skipif(not os.environ.get("ZORORA_SRC"), reason="ZORORA_SRC not set (path of a Zorora checkout)")
def test_every_step_sends_what_it_declares_through_real_zorora(monkeypatch, standin_path):
    monkeypatch.syspath_prepend(os.environ["ZORORA_SRC"])  # ahead of the stand-in
    import zorora

    assert os.path.dirname(os.path.dirname(os.path.abspath(zorora.__file__))) == os.path.abspath(
        os.environ["ZORORA_SRC"]
    )
    one_step_at_a_time(monkeypatch)
    with Sandbox() as sandbox:
        check(sent_per_step(sandbox, "zorora"), declared())


def test_a_wrong_declaration_is_caught():
    """The comparison itself: one request too many, one too few, or a different one, each differ."""
    good = {"4.1": counted(["GET /challengers (no such challenger)"])}
    check({"4.1": Counter({"GET /challengers": 1})}, good)
    for sent in (
        {"4.1": Counter({"GET /challengers": 2})},
        {"4.1": Counter()},
        {"4.1": Counter({"POST /promote": 1})},
        {"4.1": Counter({"GET /challengers": 1}), "9.9": Counter(x=1)},
    ):
        with pytest.raises(AssertionError):
            check(sent, good)


def test_the_walkthrough_shows_what_the_plan_declares():
    def text(phase):
        return "\n".join(f"{who}  {what}" for who, what in sends_lines(phase))

    lines = text(plan_module.phases()[4])
    assert "4.2" in lines and "nothing" in lines and "short reason" in lines
    assert "POST /promote (gate-failing challenger)" in lines and "POST /rollback (no token)" in lines
    phase_0 = text(plan_module.phases()[0])
    assert "without the token" not in phase_0
    for phase in plan_module.phases() + [plan_module.cleanup_phase()]:
        lines = text(phase)
        for wave in phase.waves:
            for step in wave:
                assert step.id in lines
                for item in step.sends:
                    assert item in lines
