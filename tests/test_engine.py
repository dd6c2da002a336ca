"""The validation engine against the sandbox: real loopback HTTP, real S3 protocol.

Each sandbox fault must make the right step fail with its cause named, and every
run must leave the bucket as it found it.
"""

import dataclasses
import io
import json
import os
import xml.etree.ElementTree as ET

import pytest
from helpers.engine import STEPS, run_engine

from benchmarks.measure import sequential_round_trips
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, FAILED, GATE_FAILED, PASS, PASSED, SKIP, WARN
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.s3.customer_state import customer_prefixes
from zorora_e2e_plugin.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def run(sandbox):
    """Run the engine against the sandbox with optional faults; returns (result, console text)."""

    def _run(faults=(), **flags):
        return run_engine(sandbox, faults, **flags)

    return _run


def objects_of(sandbox, customer_id):
    s3 = sandbox.s3_client()
    keys = []
    for prefix in customer_prefixes(customer_id):
        keys += [o["Key"] for o in s3.list_objects_v2(Bucket=sandbox.bucket, Prefix=prefix).get("Contents", [])]
    return keys


def step(result, step_id):
    return next(s for s in result.steps if s.id == step_id)


def test_a_healthy_platform_passes_every_step_and_leaves_nothing(run, sandbox):
    result, text = run()
    assert result.verdict == PASSED and result.exit_code == 0
    ids = [s.id for s in result.steps]
    assert ids == [
        "0.1",
        "0.2",
        "0.3",
        "0.4",
        "0.5",
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "1.6",  # plan order
        "2.1",
        "2.2",
        "2.3",
        "2.4",
        "2.5",
        "3.1",
        "3.2",
        "3.3",
        "4.1",
        "4.2",
        "4.3",
        "4.4",
        "4.5",
        "4.6",
        "5.1",
        "5.2",
    ]
    assert {s.status for s in result.steps} == {PASS}
    assert result.cleanup.deleted >= 5 and result.cleanup.leftover == []
    assert objects_of(sandbox, result.customer_id) == []
    assert f"E2E validation passed: {STEPS}/{STEPS} steps" in text
    assert sandbox.token not in text


@pytest.mark.parametrize(
    "fault, verdict, failing, hint",
    [
        ("stage-prefix", GATE_FAILED, "0.5", "stage prefix"),
        ("bad-token", GATE_FAILED, "0.2", "INTERNAL_API_TOKEN"),
        ("missing-route:/diff", GATE_FAILED, "0.5", "no route for GET /diff"),
        ("missing-route:/challengers", GATE_FAILED, "0.1", "no route for GET /challengers"),
        ("metrics-non-greedy", GATE_FAILED, "0.5", "metrics route is not greedy"),
        ("no-latest-alias", FAILED, "3.1", "production/latest"),
        ("fixed-actor", FAILED, "3.1", "neither the body's 'actor' nor the X-Actor header"),
        ("no-audit", FAILED, "3.1", "did not append an audit event"),
        ("no-archive", FAILED, "3.1", "did not archive the previous production"),
    ],
)
def test_each_fault_fails_the_right_step_and_names_the_cause(run, sandbox, fault, verdict, failing, hint):
    result, text = run([fault])
    assert result.verdict == verdict
    failed = step(result, failing)
    assert failed.status == FAIL, (failed, text)
    assert hint in failed.hint, failed.hint
    assert hint in text.replace("\n", " ").replace("  ", " ") or hint.split()[0] in text
    assert objects_of(sandbox, result.customer_id) == []


def test_a_failed_gate_writes_no_test_data(run, sandbox):
    result, _ = run(["bad-token"])
    assert {s.status for s in result.steps if s.phase in (1, 2, 3, 4)} == {SKIP}
    # the one object written is the run's claim on its customer id, kept by 0.4 for the phases after the gate:
    # the cleanup removes it, and only it, and 5.2 proves it gone
    assert [(s.id, s.status) for s in result.steps if s.phase == 5] == [("5.1", PASS), ("5.2", PASS)]
    assert "the run's claim is gone" in step(result, "5.2").actual
    assert result.exit_code == 3 and objects_of(sandbox, result.customer_id) == []


def test_stage_prefix_warns_in_0_1_as_the_plan_says_but_fails_the_gate_in_0_5(run):
    """The plan lets 0.1 pass with a warning on a 500; but every route answering 500 means ml-promote will not
    work, which is what the preflight is run to find out."""
    result, _ = run(["stage-prefix"])
    assert step(result, "0.1").status == WARN and "Lambda invoked" in step(result, "0.1").actual
    assert step(result, "0.3").status == WARN
    assert step(result, "0.5").status == FAIL and result.exit_code == 3


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["latency:50", "cold-start:1500"])
def test_slow_platforms_pass(run, fault):
    result, _ = run([fault])
    assert result.verdict == PASSED


@pytest.mark.slow
def test_flaky_platform_passes_through_retries_or_names_the_5xx(run, sandbox):
    result, _ = run(["flaky:30"])
    if result.verdict != PASSED:
        failed = [s for s in result.steps if s.status == FAIL]
        assert failed and all("503" in s.actual or "5" in s.hint for s in failed)
    assert objects_of(sandbox, result.customer_id) == []


def test_preflight_only_runs_phase_0_and_leaves_no_probe(run, sandbox):
    result, text = run(phases=[0])
    assert [s.phase for s in result.steps] == [0, 0, 0, 0, 0]
    assert result.verdict == PASSED and "Preflight passed" in text
    assert objects_of(sandbox, result.customer_id) == []


def test_phase_selection_adds_what_it_needs(run):
    result, _ = run(phases=[2])
    assert sorted({s.phase for s in result.steps}) == [0, 1, 2, 5]


def test_existing_data_is_refused_and_left_untouched(run, sandbox):
    customer = "zorora-e2e-test-existing-data"
    key = f"audit_logs/{customer}/events.json"
    sandbox.s3_client().put_object(Bucket=sandbox.bucket, Key=key, Body=b'{"keep": true}')
    try:
        result, _ = run(customer_id=customer)
        assert result.verdict == GATE_FAILED  # the preflight cannot prove the customer's prefixes empty
        assert step(result, "0.5").status == FAIL and "sweep" in step(result, "0.5").hint
        assert key in step(result, "0.5").actual and "not removed" in step(result, "0.5").actual
        body = sandbox.s3_client().get_object(Bucket=sandbox.bucket, Key=key)["Body"].read()
        assert body == b'{"keep": true}'
    finally:
        sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=key)


def test_keep_data_keeps_and_says_where(run, sandbox):
    result, text = run(keep_data=True)
    try:
        assert result.verdict == PASSED and result.cleanup.kept
        assert step(result, "5.1").status == SKIP
        assert len(objects_of(sandbox, result.customer_id)) >= 4
        assert f"customer_tailored/{result.customer_id}/" in text
    finally:
        for key in objects_of(sandbox, result.customer_id):
            sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=key)


def test_json_and_junit_reports(run, sandbox, tmp_path):
    json_path, junit_path = tmp_path / "r.json", tmp_path / "r.xml"
    result, _ = run(["no-audit"], json_path=str(json_path), junit_path=str(junit_path))
    data = json.loads(json_path.read_text())
    assert data["verdict"] == FAILED and data["client"] == "direct"
    assert data["customer_id"] == result.customer_id
    assert {p["id"] for p in data["phases"]} == set(range(6))
    failed = [s for s in data["steps"] if s["status"] == FAIL]
    assert [s["id"] for s in failed] == ["3.1"]
    assert set(failed[0]) >= {"id", "phase", "title", "status", "duration_ms", "expected", "actual", "hint"}
    assert data["cleanup"] == {
        "deleted": data["cleanup"]["deleted"],
        "leftover": [],
        "kept": False,
        "proven_empty": True,
    }
    suite = ET.parse(junit_path).getroot()
    assert suite.get("tests") == str(STEPS) and suite.get("failures") == "1"
    assert len(suite.findall("testcase/failure")) == 1
    for path in (json_path, junit_path):
        assert sandbox.token not in path.read_text()


def test_auto_confirm_is_restored(run, monkeypatch):
    monkeypatch.setenv("ZORORA_AUTO_CONFIRM", "false")
    run()
    assert os.environ["ZORORA_AUTO_CONFIRM"] == "false"


def test_a_long_token_echoed_by_the_server_leaks_no_fragment(tmp_path):
    """Bodies are redacted before they are cut: half a token must not slip past the redaction."""
    token = "canary-" + "0123456789abcdef" * 12
    with Sandbox(token=token, faults=["echo-auth"]) as sb:
        sb.set_faults(["echo-auth", "bad-token"])
        flags = RunFlags(client="direct", json_path=str(tmp_path / "r.json"), junit_path=str(tmp_path / "r.xml"))
        out = io.StringIO()
        result = validate(resolve(flags, {}, target=sandbox_target(sb)), console=make_console(file=out, no_color=True))
    assert result.verdict == GATE_FAILED
    texts = [out.getvalue(), (tmp_path / "r.json").read_text(), (tmp_path / "r.xml").read_text()]
    fragment = "0123456789abcdef0123"
    assert all(fragment not in text for text in texts)


def test_a_missing_rollback_route_is_named_by_the_preflight_not_blamed_on_auth(run):
    result, _ = run(["missing-route:/rollback"])
    assert result.exit_code == 3 and "no route for POST /rollback" in step(result, "0.5").hint
    assert step(result, "4.4").status == SKIP


def test_an_unreachable_s3_leaves_no_phantom_probe(sandbox):
    target = dataclasses.replace(sandbox_target(sandbox), s3_endpoint_url="http://127.0.0.1:1")
    out = io.StringIO()
    result = validate(
        resolve(RunFlags(client="direct"), {}, target=target), console=make_console(file=out, no_color=True)
    )
    text = out.getvalue()
    assert result.verdict == GATE_FAILED and result.exit_code == 3, text
    assert result.cleanup.leftover == [] and "Left in S3" not in text


def test_control_characters_from_servers_are_neutralised():
    from zorora_e2e_plugin.core.redact import make_redactor

    redact = make_redactor(["s3cr3t-token"])
    assert redact("a\x1b[2J\x00 s3cr3t-token\n\tb") == "a\\x1b[2J\\x00 ***\n\tb"


@pytest.mark.slow
def test_a_full_run_takes_at_most_15_sequential_round_trips(run, sandbox):
    """0.5 lists the customer's prefixes once its two probes that could write have answered, beside its
    read-only probes; 3.2's ml-audit-log goes out beside 3.1's S3 reads; 3.3 reads the archive its rollback
    wrote beside the listing that names it (the key its answer's rollback_at gives); 4.1-4.4 go out beside
    phase 4's setup writes; the cleanup deletes from the listing 4.5 took beside its reads (nothing is sent
    between them): 15, where it was 18 (19 with the versioning read and 5.2's HEADs). At 200 ms a request,
    requests sent together overlap whatever the machine's load, so the count is the plan's structure."""
    del sandbox.request_log[:]
    result, text = run(faults=["latency:200"])
    assert result.verdict == PASSED, text
    log = [r for r in sandbox.request_log if r.kind in ("api", "s3")]
    assert sequential_round_trips([(r.started, r.ended) for r in log]) <= 15
    phase_1 = min(r.started for r in log if r.kind == "s3" and r.method == "PUT" and "/model_metrics/" in r.path)
    writers = [r for r in log if r.kind == "api" and r.method == "POST" and r.ended < phase_1]  # 0.5's two probes
    listings = [r for r in log if r.kind == "s3" and "list-type=2" in r.query and r.started < phase_1]
    assert len(writers) == 2 and len(listings) == 3
    assert all(listing.started >= writer.ended for listing in listings for writer in writers)  # never before them
    audit = [r for r in log if r.kind == "api" and r.path.endswith("/audit-log") and r.status == 200]
    promote = next(r for r in log if r.kind == "api" and r.path.endswith("/promote") and r.status == 200)
    after_promote = [r for r in audit if r.started >= promote.ended]
    rollback = next(r for r in log if r.kind == "api" and r.path.endswith("/rollback") and r.status == 200)
    archive_reads = [r for r in log if r.kind == "s3" and r.method == "GET" and "/archived/" in r.path]
    assert len(archive_reads) == 1 and archive_reads[0].started < rollback.ended + 0.2  # beside 3.3's listing
    no_token = next(r for r in log if r.kind == "api" and r.path.endswith("/rollback") and r.status == 401)
    gate_puts = [r for r in log if r.kind == "s3" and r.method == "PUT" and r.started > rollback.ended]
    assert len(gate_puts) == 2 and all(abs(p.started - no_token.started) < 0.2 for p in gate_puts)  # 4.4 beside
    assert len(after_promote) == 1 and after_promote[0].started < promote.ended + 0.2  # 3.2: 3.1's wave


def test_an_object_landing_after_4_5s_listing_is_still_removed_and_the_proof_stands(sandbox):
    """5.1 deletes what 4.5 listed; an object written after that listing (a late write) is found by 5.2's own
    listing, deleted, and only then are the prefixes proven empty."""
    settings = resolve(RunFlags(client="direct"), {}, target=sandbox_target(sandbox))
    late_key = f"customer_tailored/{settings.customer_id}/late-write.json"

    class LateWrite(Reporter):
        def step_finished(self, result):
            if result.id == "4.5":
                sandbox.s3_client().put_object(Bucket=sandbox.bucket, Key=late_key, Body=b"{}")

    out = io.StringIO()
    result = validate(
        settings, console=make_console(file=out, no_color=True), options=RunOptions(observers=[LateWrite()])
    )
    assert result.verdict == PASSED and result.cleanup.proven_empty, out.getvalue()
    assert objects_of(sandbox, settings.customer_id) == []


@pytest.mark.slow
def test_a_4_5_cut_off_by_the_deadline_that_ends_during_the_cleanup_leaves_no_stale_listing_for_5_1(
    sandbox, monkeypatch
):
    """4.5 is cut off by the deadline and still running after the drain: clean_up drops the listing and 5.1
    lists for itself. 4.5 then ends during that cleanup, storing the listing it took before 5.1 deleted
    everything, and, having ended after the cleanup began, sends the cleanup round again: that second 5.1
    must not delete (and count) the first one's keys again from 4.5's stale listing."""
    import threading
    import time

    from zorora_e2e_plugin.plan import p4_errors
    from zorora_e2e_plugin.run import execution as run

    runners, listed, first_5_1_done = [], [], threading.Event()

    class Captured(run.Runner):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            runners.append(self)

    original = p4_errors._listing_for_cleanup

    def late_listing(ctx):
        found = original(ctx)  # taken now, as 4.5 does; handed back only after the first cleanup's 5.1
        listed.append(sorted(k for ks in (found or {}).values() for k in ks))
        first_5_1_done.wait(30)
        return found

    class Timing(Reporter):
        def step_finished(self, result):
            if result.id == "4.6":  # 4.5's wave gets 0.3 s before the deadline
                runners[0].deadline_at = time.monotonic() + 0.3
            if result.id == "5.1" and not first_5_1_done.is_set():
                first_5_1_done.set()
                time.sleep(0.5)  # 4.5 ends (and stores its listing) while the first cleanup is running

    monkeypatch.setattr(run, "Runner", Captured)
    monkeypatch.setattr(p4_errors, "_listing_for_cleanup", late_listing)
    settings = resolve(RunFlags(client="direct", timeout="1"), {}, target=sandbox_target(sandbox))
    out = io.StringIO()
    result = validate(settings, console=make_console(file=out, no_color=True), options=RunOptions(observers=[Timing()]))
    text = out.getvalue()
    assert step(result, "4.5").actual.startswith("no result before the deadline"), text
    assert listed and listed[0], text  # 4.5 listed the run's objects
    assert result.cleanup.proven_empty and objects_of(sandbox, settings.customer_id) == [], text
    assert result.cleanup.deleted == len(listed[0]), (result.cleanup.deleted, listed[0], text)
