"""`ml-validate-e2e` inside a REPL: the stand-in host (tests/standin, written from docs/platform.md, section 1),
the real engine, and sandboxes over real loopback HTTP and S3.

Every run goes through the REPL's dispatch (`repl.handle(line)`), so what the user would see is
what is asserted: the console output, the returned verdict, and what the host does with it
(printed with markup, rendered as Markdown, "Unknown command" after a CommandError).
"""

from __future__ import annotations

import builtins
import json
import os
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from helpers.engine import STEPS
from helpers.repl import run
from standin.harness import output, wait_for_threads

import zorora_e2e_plugin
from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.repl import command as repl_command
from zorora_e2e_plugin.repl import invocation as repl_run

DEAD_URL = "http://127.0.0.1:9/prod/api/v1"


@pytest.fixture
def dead_target(monkeypatch):
    """The REPL's ml-* commands point nowhere: only --sandbox can pass."""
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    monkeypatch.delenv("TEST_CUSTOMER_ID", raising=False)
    monkeypatch.delenv("TEST_ACTOR", raising=False)


@pytest.fixture
def repl(host, dead_target):
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    return repl


# ----------------------------------------------------------------------------------- registration


def test_register_adds_a_remote_command_of_the_hosts_class(host, dead_target):
    repl = host.repl()
    command = zorora_e2e_plugin.register(repl)
    assert isinstance(command, host.RemoteCommand)
    assert repl.remote_commands["ml-validate-e2e"] is command
    assert command.name == "ml-validate-e2e" and command.description
    assert "Registered remote command: ml-validate-e2e" in output(repl)
    assert "Error" not in output(repl)


def test_register_twice_registers_once(host, dead_target):
    repl = host.repl()
    first = zorora_e2e_plugin.register(repl)
    assert zorora_e2e_plugin.register(repl) is first
    assert output(repl).count("Registered remote command: ml-validate-e2e") == 1


def test_command_holds_the_repls_client(repl):
    ours = repl.remote_commands["ml-validate-e2e"]
    assert ours.http_client is repl.remote_commands["ml-list-challengers"].http_client
    assert repl_command.find_repl_client(repl, exclude=ours) is ours.http_client


def test_find_repl_client_needs_the_hosts_client_class(host, dead_target):
    repl = host.repl(ona_commands=False)

    class Other(host.RemoteCommand):
        def execute(self, args, context):
            return ""

    repl.register_remote_command(Other("ml-other", "not an ONA command", http_client=object()))
    repl.register_remote_command(Other("xx-other", "not ml-", http_client=host.ZororaHTTPClient(DEAD_URL)))
    assert repl_command.find_repl_client(repl) is None


def test_lookup_is_case_sensitive_as_in_the_host(repl):
    assert run(repl, "ML-VALIDATE-E2E --sandbox") is None
    assert "Unknown remote command: ML-VALIDATE-E2E" in output(repl)


# ----------------------------------------------------------------------------------- sandbox runs


def test_sandbox_run_passes_every_phase_and_leaves_the_session_as_it_was(repl, monkeypatch):
    monkeypatch.setenv("ZORORA_ACTOR", "alice")
    monkeypatch.setenv("ZORORA_AUTO_CONFIRM", "false")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    env_before = dict(os.environ)
    threads_before = threading.enumerate()

    verdict = run(repl, "ml-validate-e2e --sandbox")

    text = output(repl)
    assert verdict.startswith(f"✓ E2E validation passed: {STEPS}/{STEPS} steps"), text
    assert verdict.endswith("nothing left in S3.")
    for phase in range(6):
        assert f"Phase {phase} ·" in text
    assert "Zorora's ml-* command classes + ZororaHTTPClient" in text
    assert "✗" not in text and "Unknown command" not in text and "Traceback" not in text
    assert dict(os.environ) == env_before
    assert wait_for_threads(threads_before) == []
    promote = repl.remote_commands["ml-promote"]
    assert promote.ui is repl.ui  # the REPL's own command still prompts


def test_preflight_only_sandbox_is_quick_and_runs_phase_0_only(repl):
    run(repl, "ml-validate-e2e --preflight-only --sandbox")  # imports warm
    started = time.monotonic()
    verdict = run(repl, "ml-validate-e2e --preflight-only --sandbox")
    took = time.monotonic() - started
    text = output(repl)
    assert verdict.startswith("✓ Preflight passed: 5/5 steps"), text
    assert "Phase 1" not in text and "(preflight only)" in text
    assert took < 5.0  # ~0.2 s on an idle machine; generous for loaded CI


def test_every_flag_reaches_the_run(repl, tmp_path):
    report_json, report_xml = tmp_path / "e2e.json", tmp_path / "e2e.xml"
    verdict = run(
        repl,
        "ml-validate-e2e --sandbox --keep-data --customer-id zorora-e2e-test-flags-1 "
        f"--actor alice-bot --bucket e2e-flag-bucket --json {report_json} --junit '{report_xml}' --yes",
    )
    text = output(repl)
    assert verdict.startswith("✓ E2E validation passed"), text
    assert "test data kept (--keep-data)" in verdict
    assert "zorora-e2e-test-flags-1" in text and "alice-bot" in text and "s3://e2e-flag-bucket" in text
    assert "Test data kept (--keep-data) under:" in text
    data = json.loads(report_json.read_text())
    assert data["verdict"] == PASSED and data["customer_id"] == "zorora-e2e-test-flags-1"
    assert data["bucket"] == "e2e-flag-bucket" and data["cleanup"]["kept"] is True
    suite = ET.parse(report_xml).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(data["steps"])


def test_json_path_expands_home(repl, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    verdict = run(repl, "ml-validate-e2e --preflight-only --sandbox --json ~/pre.json")
    assert verdict.startswith("✓ Preflight passed")
    assert json.loads((tmp_path / "pre.json").read_text())["verdict"] == PASSED


def test_unwritable_report_path_is_refused_before_the_run(repl, tmp_path):
    """Checked with the settings, before phase 0 (issue 9 item 11): no crash, nothing run."""
    verdict = run(repl, f"ml-validate-e2e --preflight-only --sandbox --json {tmp_path}/missing-dir/x.json")
    assert verdict.startswith(repl_run.ERROR)
    assert "cannot write --json" in output(repl) and "Phase 0" not in output(repl)


# ------------------------------------------------------------------------ help, usage, settings errors


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_to_the_console(repl, flag):
    verdict = run(repl, f"ml-validate-e2e {flag}")
    assert verdict == repl_run.HELP_VERDICT
    text = output(repl)
    for option in (
        "--preflight-only",
        "--sandbox",
        "--keep-data",
        "--customer-id",
        "--actor",
        "--bucket",
        "--json",
        "--junit",
        "--yes",
        "zorora-validation-bot",
    ):
        assert option in text


@pytest.mark.parametrize(
    "line",
    [
        "ml-validate-e2e --bogus",
        "ml-validate-e2e sandbox",
        "ml-validate-e2e --customer-id",
        "ml-validate-e2e --json",
        "ml-validate-e2e --preflight",  # no abbreviations: a typo must not run something else
        "ml-validate-e2e --sandbox=yes",
        "/ml-validate-e2e --sandbox --bogus",
        "ml-validate-e2e '--oops[/red]' [bold]",  # outside text in the error message: printed, not parsed
        "ml-validate-e2e --sweep --sandbox",  # a sweep cleans the deployment's bucket, never a sandbox
    ],
)
def test_usage_errors_are_one_red_line_as_zororas_own(repl, line):
    verdict = run(repl, line)
    text = output(repl)
    assert verdict.startswith(repl_run.ERROR) and verdict.endswith(repl_run.HELP), verdict
    assert text.strip().splitlines()[-1] == verdict  # the one line, nothing else: no usage block, no verdict
    assert "usage:" not in text and "Traceback" not in text and "Unknown command" not in text
    assert "Phase 0" not in text


def test_missing_token_is_a_settings_verdict_naming_what_to_set(host, monkeypatch, sandbox_instance):
    monkeypatch.setenv("ONA_API_BASE_URL", sandbox_instance.api_url)
    monkeypatch.setenv("ONA_API_TOKEN", "")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict = run(repl, "ml-validate-e2e --preflight-only")
    assert verdict.startswith(repl_run.ERROR)
    text = output(repl)
    assert "ONA_API_TOKEN" in text and "restart Zorora" in text
    assert "--token" not in text  # the REPL command has no --token (nor --token-from-ssm)
    assert "Phase 0" not in text


def test_refuses_a_customer_id_that_is_not_a_test_id(repl):
    verdict = run(repl, "ml-validate-e2e --sandbox --customer-id acme-prod")
    assert verdict.startswith(repl_run.ERROR)
    assert "zorora-e2e-test-" in output(repl) and "Phase 0" not in output(repl)
    assert "writes, promotes and deletes" in output(repl)  # why it was refused
    assert "restart Zorora" not in output(repl)  # nothing to do with what Zorora read at start-up


def test_a_refused_customer_id_of_a_real_target_has_no_restart_hint(host, monkeypatch, sandbox_instance):
    monkeypatch.setenv("ONA_API_BASE_URL", sandbox_instance.api_url)
    monkeypatch.setenv("ONA_API_TOKEN", sandbox_instance.token)
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    assert run(repl, "ml-validate-e2e --preflight-only --customer-id acme-prod").startswith(repl_run.ERROR)
    assert "writes, promotes and deletes" in output(repl) and "restart Zorora" not in output(repl)


# ------------------------------------------------------------------------------------- verdicts


@pytest.mark.slow
def test_each_ending_shows_its_verdict_once_and_returns_nothing_to_repeat(repl):
    """The host prints what a command returns twice (as text, then as Markdown): the command prints its
    verdict once itself and returns an empty string."""
    lines = [
        "ml-validate-e2e --sandbox",
        "ml-validate-e2e --preflight-only --sandbox",
        "ml-validate-e2e --bogus",
        "ml-validate-e2e --sandbox --customer-id nope",
    ]
    for line in lines:
        before = len(output(repl))
        verdict = run(repl, line)
        assert verdict and repl.responses[-1] == ""
        shown = output(repl)[before:]
        assert shown.count(verdict) == 1, shown
        assert "\n" not in verdict


@pytest.mark.parametrize(
    "line, last",
    [
        ("ml-validate-e2e --preflight-only --sandbox", "✓ Preflight passed"),
        ("ml-validate-e2e --phaes 3", "Error: unknown flag --phaes (did you mean --phase?)"),
        ("ml-validate-e2e --help", "  ml-validate-e2e --sweep --dry-run"),
        ("ml-validate-e2e --history", ""),
    ],
)
def test_one_blank_line_after_the_last_line_as_after_zororas_own_commands(repl, line, last):
    """The host prints a command's return value, then shows it again as Markdown between two blank lines: the
    returned string prints as nothing and the last line is left open, so exactly one blank line follows it."""
    before = len(output(repl))
    run(repl, line)
    shown = output(repl)[before:]
    assert shown.endswith("\n\n") and not shown.endswith("\n\n\n"), repr(shown[-200:])
    assert shown.rstrip("\n").splitlines()[-1].startswith(last), repr(shown[-200:])


def test_outside_text_in_a_verdict_cannot_end_the_repl(repl, monkeypatch):
    from zorora_e2e_plugin.report import console as report
    from zorora_e2e_plugin.report import verdict_line as verdict_module

    line = "✗ E2E validation failed: body [/oops] [bold]x[/bold]"
    for module in (report, verdict_module):  # the console view's verdict line and the one the REPL returns
        monkeypatch.setattr(module, "verdict_line", lambda result: line)
    verdict = run(repl, "ml-validate-e2e --preflight-only --sandbox")
    assert verdict is not None  # the host printed it with markup without raising
    assert "[/oops]" in output(repl) and "[bold]x[/bold]" in output(repl)
    assert run(repl, "ml-validate-e2e --bogus").startswith(repl_run.ERROR)  # still alive


@pytest.fixture
def faulty(host, monkeypatch, request):
    """A REPL whose ml-* commands point at a sandbox with the faults given by indirect parametrize."""
    from zorora_e2e_plugin.sandbox import Sandbox

    sandbox = Sandbox(faults=request.param).start()
    try:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        repl = host.repl()
        zorora_e2e_plugin.register(repl)
        yield repl
    finally:
        sandbox.stop()


@pytest.mark.slow
@pytest.mark.parametrize("faulty", [["no-audit"]], indirect=True)
def test_a_failed_validation_returns_its_verdict_not_a_command_error(faulty):
    verdict = run(faulty, "ml-validate-e2e")
    text = output(faulty)
    assert verdict.startswith("✗ E2E validation failed:"), text
    assert "nothing left in S3" in verdict
    assert "Unknown command" not in text and "Error:" not in text


@pytest.mark.parametrize("faulty", [["bad-token"]], indirect=True)
def test_a_failed_gate_returns_its_verdict(faulty):
    verdict = run(faulty, "ml-validate-e2e")
    assert verdict.startswith("✗ Preflight gate failed (step ") and "0.2" in verdict
    assert "no test data written" in verdict and "⏭ Phases 1–4  skipped (20 steps)" in output(faulty)


# ---------------------------------------------------------------- reuse of the REPL's own client


def test_reuses_the_client_the_repls_ml_commands_hold(host, target_env, monkeypatch):
    repl = host.repl()  # ml-* commands built from ONA_* = the sandbox
    zorora_e2e_plugin.register(repl)
    client = repl.remote_commands["ml-list-challengers"].http_client
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)  # only the registered client knows the target
    monkeypatch.setenv("ONA_API_TOKEN", "wrong")
    calls = []
    real_request = client.request

    def spy(method, path, *args, **kwargs):
        calls.append((method, path))
        return real_request(method, path, *args, **kwargs)

    monkeypatch.setattr(client, "request", spy)
    verdict = run(repl, "ml-validate-e2e")  # loopback target: no confirmation
    assert verdict.startswith("✓ E2E validation passed"), output(repl)
    assert ("POST", "/promote") in calls and ("POST", "/rollback") in calls
    assert target_env.api_url in output(repl)


def test_builds_a_client_from_the_environment_when_none_is_registered(host, target_env):
    repl = host.repl(ona_commands=False)
    command = zorora_e2e_plugin.register(repl)
    assert command.http_client is None
    verdict = run(repl, "ml-validate-e2e --preflight-only")
    assert verdict.startswith("✓ Preflight passed"), output(repl)
    assert "Zorora's ml-* command classes" in output(repl)


def test_a_token_zorora_read_with_its_scheme_is_named_as_the_cause(host, target_env, monkeypatch):
    """Issue 29 item 8, in a session: ONA_API_TOKEN='Bearer …' when Zorora started. Its client sends 'Bearer Bearer
    …' for every ml-* command, and the run goes through that client: the gate fails at 0.2 naming the scheme (not
    "re-read SSM"), says to restart Zorora, and the client keeps the token Zorora read."""
    monkeypatch.setenv("ONA_API_TOKEN", "Bearer " + target_env.token)
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    client = repl.remote_commands["ml-list-challengers"].http_client
    verdict = run(repl, "ml-validate-e2e --preflight-only")
    shown = output(repl)
    assert verdict.startswith("✗ Preflight gate failed (step 0.2)") and "fix your settings" in verdict, shown
    assert "ZE-AUTH-004" in shown and "ZE-AUTH-001" not in shown and "re-read SSM" not in shown, shown
    assert "'Bearer Bearer …'" in shown and "restart Zorora" in shown, shown
    assert client.auth_token == "Bearer " + target_env.token  # Zorora's client as it was


def test_a_token_with_its_scheme_is_used_without_it_when_the_run_builds_its_client(host, target_env, monkeypatch):
    """Without a registered ONA client the run builds its own from ONA_API_TOKEN: the scheme is dropped, and said."""
    monkeypatch.setenv("ONA_API_TOKEN", "Bearer " + target_env.token)
    repl = host.repl(ona_commands=False)
    zorora_e2e_plugin.register(repl)
    verdict = run(repl, "ml-validate-e2e --preflight-only")
    shown = output(repl)
    assert verdict.startswith("✓ Preflight passed"), shown
    assert "ONA_API_TOKEN starts with the scheme 'Bearer'" in " ".join(shown.split()), shown


def test_the_repls_promote_still_prompts_after_a_run(host, target_env, sandbox_world, monkeypatch):
    monkeypatch.setenv("ZORORA_AUTO_CONFIRM", "false")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    env_before = dict(os.environ)
    assert run(repl, "ml-validate-e2e").startswith("✓ E2E validation passed")
    assert dict(os.environ) == env_before
    asked = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": asked.append(prompt) or "no")
    answer = run(repl, f"ml-promote {sandbox_world.customer_id} {sandbox_world.challenger_id} a good reason to promote")
    assert answer == "Promotion cancelled by user"
    assert len(asked) == 1 and "Promote challenger" in asked[0]


# ------------------------------------------------------------------------------------------ Ctrl-C


@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
def test_ctrl_c_mid_run_cleans_up_and_the_repl_stays_usable(repl, monkeypatch):
    """Ctrl-C while promote is in flight: SIGINT reaches the main thread (steps run in workers)."""
    import _thread

    from zorora_e2e_plugin import client as client_module

    real = client_module.ZororaClient.promote

    def promote_and_ctrl_c(self, *args, **kwargs):
        _thread.interrupt_main()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(client_module.ZororaClient, "promote", promote_and_ctrl_c)
    env_before = dict(os.environ)
    threads_before = threading.enumerate()
    verdict = run(repl, "ml-validate-e2e --sandbox")
    text = output(repl)
    assert verdict.startswith("⚠ E2E validation interrupted"), text
    assert "cleanup ran: nothing left in S3" in verdict
    assert "Phase 5 ·" in text and "5.2" in text
    assert dict(os.environ) == env_before and wait_for_threads(threads_before) == []
    monkeypatch.undo()
    assert run(repl, "ml-validate-e2e --preflight-only --sandbox").startswith("✓ Preflight passed")


@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
def test_a_real_sigint_mid_run(repl, monkeypatch):
    """SIGINT delivered to the main thread (what Ctrl-C does), wherever the run is at that moment."""
    import _thread

    from zorora_e2e_plugin import client as client_module

    real = client_module.ZororaClient.list_challengers
    fired = []

    def list_then_interrupt(self, *args, **kwargs):
        if not fired:
            fired.append(True)
            _thread.interrupt_main()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(client_module.ZororaClient, "list_challengers", list_then_interrupt)
    verdict = run(repl, "ml-validate-e2e --sandbox")
    assert fired and verdict.startswith("⚠"), output(repl)
    assert "interrupted" in verdict
    assert run(repl, "ml-validate-e2e --bogus").startswith(repl_run.ERROR)


@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
def test_a_ctrl_c_after_the_run_cleaned_up_keeps_its_verdict(repl, monkeypatch):
    """Ctrl-C after the engine proved the prefixes empty and returned (the host's handler is back): the
    verdict stands; no "cleanup may not have finished" while the bucket is empty."""
    import _thread

    from zorora_e2e_plugin.report import console as report
    from zorora_e2e_plugin.report import verdict_line as verdict_module

    real, fired = verdict_module.verdict_line, []

    def verdict_then_ctrl_c(result):
        if not fired:
            fired.append(True)
            _thread.interrupt_main()
        return real(result)

    for module in (report, verdict_module):  # the console view's verdict line and the one the REPL returns
        monkeypatch.setattr(module, "verdict_line", verdict_then_ctrl_c)
    verdict = run(repl, "ml-validate-e2e --sandbox")
    text = output(repl)
    assert fired and verdict.startswith("✓ E2E validation passed"), text + str(verdict)
    assert "may not have finished" not in text + verdict and "may be left" not in text


def test_ctrl_c_before_the_run_writes_nothing(repl, monkeypatch):
    from zorora_e2e_plugin.config import settings

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(settings, "resolve", interrupted)
    verdict = run(repl, "ml-validate-e2e --preflight-only")
    assert verdict == "⚠ ml-validate-e2e interrupted before the run: nothing was written."


def test_ctrl_c_escaping_the_sandbox_run_is_contained(repl, monkeypatch):
    from zorora_e2e_plugin.run import in_sandbox as sandbox_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sandbox_run, "validate_in_sandbox", interrupted)
    verdict = run(repl, "ml-validate-e2e --sandbox")
    assert verdict.startswith("⚠ ml-validate-e2e --sandbox interrupted")


def test_an_unexpected_error_is_reported_not_raised(repl, monkeypatch):
    from zorora_e2e_plugin.run import in_sandbox as sandbox_run

    def boom(*args, **kwargs):
        raise RuntimeError("boom [/x] from somewhere")

    monkeypatch.setattr(sandbox_run, "validate_in_sandbox", boom)
    verdict = run(repl, "ml-validate-e2e --sandbox")
    assert verdict.startswith("✗ ml-validate-e2e --sandbox crashed")
    assert "RuntimeError: boom [/x] from somewhere" in output(repl)
    assert run(repl, "ml-validate-e2e --bogus").startswith(repl_run.ERROR)


# ----------------------------------------------------------------------------------- the console


def test_the_report_is_coloured_on_a_colour_console(host, dead_target):
    repl = host.repl(console=host.console(color=True))
    zorora_e2e_plugin.register(repl)
    run(repl, "ml-validate-e2e --preflight-only --sandbox")
    assert "\x1b[32m" in output(repl)  # green ticks


def test_the_report_honours_no_colour(host, dead_target):
    repl = host.repl(console=host.console(color=True, no_color=True))
    zorora_e2e_plugin.register(repl)
    verdict = run(repl, "ml-validate-e2e --preflight-only --sandbox")
    assert verdict.startswith("✓ Preflight passed")
    assert "\x1b[32m" not in output(repl) and "\x1b[31m" not in output(repl)


def test_works_without_a_ui(host, dead_target, capsys):
    class Bare:
        def __init__(self):
            self.remote_commands = {}

        def register_remote_command(self, command):
            self.remote_commands[command.name] = command

    bare = Bare()
    command = zorora_e2e_plugin.register(bare)
    assert command.execute(["--preflight-only", "--sandbox"], {"actor": "me"}) == repl_run.RETURNED
    assert command.last_verdict.startswith("✓ Preflight passed")
    shown = capsys.readouterr().out
    assert "Phase 0" in shown and shown.count("✓ Preflight passed") == 1


@pytest.mark.parametrize(
    "error, expected",
    [
        (KeyboardInterrupt, "⚠ E2E validation interrupted; its cleanup may not have finished (see above)."),
        (
            RuntimeError("bug"),
            "✗ ml-validate-e2e crashed during the run (details above); check for leftover test data.",
        ),
    ],
)
def test_an_interrupt_or_bug_escaping_a_real_run_names_the_leftovers(host, target_env, monkeypatch, error, expected):
    from zorora_e2e_plugin.run import validate as engine

    def escape(*args, **kwargs):
        raise error

    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    monkeypatch.setattr(engine, "validate", escape)
    verdict = run(repl, "ml-validate-e2e --customer-id zorora-e2e-test-left-1")
    assert verdict == expected
    # the sweep typed in the same session, which reaches the same S3 the run wrote to (here the sandbox's,
    # from AWS_ENDPOINT_URL_S3 in Zorora's environment, as the run did)
    assert (
        "ml-validate-e2e --sweep --customer-id zorora-e2e-test-left-1 --bucket sa-api-client-output "
        "--older-than 0s --yes" in " ".join(output(repl).split())
    )
    assert "zorora-e2e sweep" not in output(repl)


def test_usage_text_for_docs():
    assert repl_command.usage_text().startswith("usage: ml-validate-e2e [-h] [--preflight-only] [--sandbox]")


# ----------------------------------------------------------------------------------- sweep and verdict


def test_sweep_in_the_repl_lists_then_deletes_only_test_customers(host, target_env):
    s3 = target_env.s3_client()
    bucket = target_env.bucket
    left = "zorora-e2e-test-20200101000000-killed"
    keys = [f"customer_tailored/{left}/latest_model.json", f"audit_logs/{left}/events.json"]
    decoy = "audit_logs/zorora-e2e-testing-real/events.json"
    for key in keys + [decoy]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    try:
        repl = host.repl()
        zorora_e2e_plugin.register(repl)
        verdict = run(repl, f"ml-validate-e2e --sweep --dry-run --older-than 0s --customer-id {left}")
        assert verdict.startswith("Sweep (dry run): 2 object(s)") and left in output(repl)
        assert len(s3.list_objects_v2(Bucket=bucket, Prefix=f"audit_logs/{left}/").get("Contents", [])) == 1
        verdict = run(repl, f"ml-validate-e2e --sweep --yes --older-than 0s --customer-id {left}")
        assert verdict == "✓ Sweep: deleted 2 object(s) of 1 test customer(s)."
        for key in keys:
            assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=key)
        assert s3.get_object(Bucket=bucket, Key=decoy)["Body"].read() == b"{}"
    finally:
        for key in keys + [decoy]:
            s3.delete_object(Bucket=bucket, Key=key)


@pytest.mark.slow
def test_the_verdict_is_shown_by_the_host_only(repl):
    verdict = run(repl, "ml-validate-e2e --preflight-only --sandbox")
    # the host prints the returned verdict and renders it again as Markdown; the report adds no third copy
    assert output(repl).count(verdict) <= 2 and verdict in output(repl)
