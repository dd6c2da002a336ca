"""`ml-validate-e2e --preflight-only --for ...` in the stand-in REPL: through the REPL's own client (the one its
ml-* commands hold) and Zorora's command classes, against the session sandbox with a seeded customer."""

from __future__ import annotations

import uuid

import pytest
from helpers.repl import run
from standin.harness import output

import zorora_e2e_plugin
from zorora_e2e_plugin.repl import invocation as repl_run


@pytest.fixture
def session(host, target_env, monkeypatch):
    """A REPL whose ml-* commands point at the sandbox, with a spy on their client's requests."""
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    client = repl.remote_commands["ml-list-challengers"].http_client
    calls = []
    real_request = client.request

    def spy(method, path, *args, **kwargs):
        calls.append(
            (method, path, dict(kwargs.get("params") or (args[0] if args else None) or {}), kwargs.get("json_data"))
        )
        return real_request(method, path, *args, **kwargs)

    monkeypatch.setattr(client, "request", spy)
    return repl, calls, target_env


def test_ready_through_the_repls_own_client(session):
    repl, calls, sandbox = session
    seeded = sandbox.seed_customer(f"acme-{uuid.uuid4().hex[:8]}")
    c = seeded.customer_id
    verdict = run(repl, f"ml-validate-e2e --preflight-only --for {c} {seeded.challenger_id}")
    assert verdict.startswith(f"✓ ready: ml-promote {c} {seeded.challenger_id} would pass every gate"), output(repl)
    assert "Zorora's ml-* command classes + ZororaHTTPClient" in output(repl)
    ours = [(m, p) for m, p, params, body in calls if c in p or c in str(params) or c in str(body)]
    assert ("GET", "/challengers") in ours and ("GET", f"/metrics/{seeded.challenger_id}") in ours
    assert ("GET", f"/metrics/{seeded.production_id}") in ours and ("GET", "/diff") in ours
    assert {m for m, _p in ours} == {"GET"}
    assert output(repl).count(verdict) == 1  # shown once


def test_refused_in_the_repl_names_the_gate(session):
    repl, calls, sandbox = session
    seeded = sandbox.seed_customer(f"acme-{uuid.uuid4().hex[:8]}:few-windows")
    verdict = run(repl, f"ml-validate-e2e --preflight-only --for {seeded.customer_id}")
    assert verdict.startswith(
        f"✗ ml-promote {seeded.customer_id} {seeded.challenger_id} would be refused: 8 "
        "backtest windows (the gate is 12)"
    ), output(repl)
    assert not [1 for m, p, params, body in calls if m == "POST" and seeded.customer_id in str(body)]


def test_for_with_another_phase_is_refused_in_one_line(session):
    repl, calls, _sandbox = session
    before = len(output(repl))
    verdict = run(repl, "ml-validate-e2e --for acme --phase 3")
    assert verdict.startswith(
        "Error: --for checks a real customer read-only after the preflight: it does not combine with --phase 3"
    ), verdict
    assert output(repl)[before:].strip() == verdict and calls == []  # one line, nothing sent


def test_a_sandbox_demo_in_the_repl_with_a_seeded_customer(session):
    repl, calls, _sandbox = session
    verdict = run(repl, "ml-validate-e2e --sandbox --preflight-only --seed-customer acme:stale --for acme")
    assert verdict.startswith("✗ ml-promote acme acme/challenger_") and "metrics stale" in verdict, output(repl)
    assert calls == []  # the demo's own sandbox, not the REPL's target
    refused = run(repl, "ml-validate-e2e --preflight-only --seed-customer acme --for acme")
    assert refused.startswith(repl_run.ERROR) and "use it with --sandbox" in refused
