"""The engineer at the REPL (issue 10): `ml-validate-e2e` has the CLI's run flags that make sense in a
session, shows each thing once, names settings mistakes as such, never suggests a flag it does not have,
and says where its reports went and how to remove kept data. Driven through the stand-in host."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from helpers.repl import run_shown

import zorora_e2e_plugin
from zorora_e2e_plugin.config.faces import REPL
from zorora_e2e_plugin.repl import invocation as repl_run

DEAD_URL = "http://127.0.0.1:9/prod/api/v1"
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*[39][0-7]m")  # a foreground colour (bold or dim may stay)


@pytest.fixture
def repl(host, monkeypatch):
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    monkeypatch.delenv("TEST_CUSTOMER_ID", raising=False)
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    return repl


# ------------------------------------------------------------------------------------ flag parity


def test_phase_runs_that_phase_plus_what_it_needs(repl):
    verdict, shown = run_shown(repl, "ml-validate-e2e --sandbox --phase 2")
    assert verdict.startswith("✓ E2E validation passed"), shown
    for phase in ("Phase 0", "Phase 1", "Phase 2", "Phase 5"):
        assert phase in shown
    assert "Phase 3" not in shown and "Phase 4" not in shown


@pytest.mark.parametrize(
    "line, named",
    [
        ("ml-validate-e2e --sandbox --phase 7", "--phase"),
        ("ml-validate-e2e --sandbox --timeout 0", "--timeout"),
        ("ml-validate-e2e --sandbox --deadline soon", "--deadline"),
    ],
)
def test_timeout_deadline_and_phase_are_checked_like_the_clis(repl, line, named):
    verdict, shown = run_shown(repl, line)
    assert verdict.startswith(repl_run.ERROR) and named in shown and "Phase 0" not in shown


def test_timeout_and_deadline_reach_the_run(repl, monkeypatch):
    from zorora_e2e_plugin.run import validate as engine

    seen = []
    real = engine.validate
    monkeypatch.setattr(engine, "validate", lambda settings, **kw: seen.append(settings) or real(settings, **kw))
    verdict, shown = run_shown(repl, "ml-validate-e2e --sandbox --preflight-only --timeout 7 --deadline 90")
    assert verdict.startswith("✓ Preflight passed"), shown
    assert seen[0].timeout == 7 and seen[0].deadline == 90


def test_no_color_for_this_run_only(host, monkeypatch):
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    repl = host.repl(console=host.console(color=True))
    zorora_e2e_plugin.register(repl)
    _verdict, plain = run_shown(repl, "ml-validate-e2e --sandbox --preflight-only --no-color")
    assert "Phase 0" in plain and not ANSI_COLOUR.search(plain)
    _verdict, coloured = run_shown(repl, "ml-validate-e2e --sandbox --preflight-only")
    assert ANSI_COLOUR.search(coloured)  # the REPL's console got its colours back


def test_fault_with_sandbox_shows_a_broken_deployment_diagnosed(repl):
    verdict, shown = run_shown(repl, "ml-validate-e2e --sandbox --fault stage-prefix --fault no-audit")
    assert verdict.startswith("✗ Preflight gate failed"), shown
    assert "stage" in shown  # the diagnosis names the stage prefix


def test_fault_needs_the_sandbox_and_a_known_name(repl):
    verdict, shown = run_shown(repl, "ml-validate-e2e --fault stage-prefix")
    assert verdict.startswith(repl_run.ERROR) and "use it with --sandbox" in verdict
    verdict, shown = run_shown(repl, "ml-validate-e2e --sandbox --fault nonsense")
    assert verdict.startswith(repl_run.ERROR) and "unknown fault" in shown and "stage-prefix" in shown


# ----------------------------------------------------------------------------- each thing once


def test_help_is_shown_once_and_nothing_else(repl):
    verdict, shown = run_shown(repl, "ml-validate-e2e --help")
    assert verdict == "" and shown.count("usage: ml-validate-e2e") == 1
    assert "help shown above" not in shown
    for flag in ("--phase", "--timeout", "--deadline", "--no-color", "--fault"):
        assert flag in shown


def test_the_verdict_is_shown_once(repl):
    verdict, shown = run_shown(repl, "ml-validate-e2e --sandbox")
    assert verdict.startswith("✓ E2E validation passed") and shown.count(verdict) == 1, shown
    assert shown.rstrip().endswith(verdict)


# ----------------------------------------------------------------------------- reports and kept data


def test_reports_say_where_they_were_written_and_json_has_start_and_target(repl, tmp_path):
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    verdict, shown = run_shown(
        repl, f"ml-validate-e2e --sandbox --preflight-only --json {tmp_path}/r.json --junit {tmp_path}/r.xml"
    )
    assert verdict.startswith("✓ Preflight passed"), shown
    flat = " ".join(shown.split())
    assert f"--json report written to {tmp_path}/r.json" in flat
    assert f"--junit report written to {tmp_path}/r.xml" in flat
    data = json.loads((tmp_path / "r.json").read_text())
    started = datetime.datetime.fromisoformat(data["started_at"])
    assert started.utcoffset() == datetime.timedelta(0) and before <= started
    assert data["target"].startswith("http://127.0.0.1:") and data["target"].endswith("/prod/api/v1")


def test_keep_data_prints_the_sweep_that_removes_it(host, target_env):
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, "ml-validate-e2e --keep-data --customer-id zorora-e2e-test-kept-1")
    assert "test data kept" in verdict, shown
    sweep = (
        "ml-validate-e2e --sweep --customer-id zorora-e2e-test-kept-1 --bucket sa-api-client-output "
        "--older-than 0s --yes"
    )
    assert sweep in " ".join(shown.split())
    verdict, shown = run_shown(repl, sweep)  # and it does remove it
    assert verdict.startswith("✓ Sweep: deleted"), shown
    verdict, shown = run_shown(repl, sweep)
    assert verdict.startswith("✓ Sweep: nothing older than 0s"), shown
    assert shown.count("older than 0s") == 1  # said once, not again as a summary


def test_a_cancelled_confirmation_is_said_once(host, target_env, monkeypatch):
    from zorora_e2e_plugin.console import confirm, terminal

    monkeypatch.setattr(terminal, "can_prompt", lambda input=None: True)
    monkeypatch.setattr(confirm, "confirm", lambda text, **kw: False)
    monkeypatch.setattr("zorora_e2e_plugin.run.validate.needs_confirmation", lambda settings: True)  # loopback asks
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, "ml-validate-e2e")
    assert verdict.startswith("✗ Cancelled: nothing was written"), shown  # asked after the gate passed
    assert " ".join(shown.split()).lower().count("nothing was written") == 1, shown


# ---------------------------------------------------------------------------------- settings mistakes


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/", "http://127.0.0.1:8765", "http://h.example/prod", "http://h.example/prod/api/v2"]
)
def test_a_base_url_that_is_not_the_apis_is_a_settings_error(host, monkeypatch, url):
    monkeypatch.setenv("ONA_API_BASE_URL", url)
    monkeypatch.setenv("ONA_API_TOKEN", "tok-123456")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, "ml-validate-e2e --preflight-only")
    flat = " ".join(shown.split())
    assert verdict.startswith(repl_run.ERROR), shown
    assert "/api/v1" in flat and "restart Zorora" in flat and "Phase 0" not in flat
    assert "deploy it" not in flat and "--base-url" not in flat


def test_the_cli_names_a_wrong_base_url_as_a_settings_error():
    from zorora_e2e_plugin.config.checks import SettingsError
    from zorora_e2e_plugin.config.flags import RunFlags
    from zorora_e2e_plugin.config.settings import resolve

    with pytest.raises(SettingsError, match=r"ends in /api/v1.*--base-url or ONA_API_BASE_URL"):
        resolve(RunFlags(base_url="http://host:8765/", token="t"), {})
    for good in ("https://a.example/prod/api/v1", "https://a.example/prod/api/v1/", "http://127.0.0.1:1/api/v1"):
        assert resolve(RunFlags(base_url=good, token="t"), {}).base_url == good.rstrip("/")


@pytest.mark.parametrize(
    "env, cli_only",
    [
        ({"ONA_API_BASE_URL": "https://u:p@a.example/prod/api/v1"}, "--token"),
        ({"AWS_REGION": "moon"}, "--region"),
        ({"AWS_ENDPOINT_URL_S3": "ftp://s3.example"}, "--s3-endpoint-url"),
    ],
)
def test_settings_messages_name_no_flag_the_repl_command_lacks(host, monkeypatch, env, cli_only):
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "tok-123456")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, "ml-validate-e2e --preflight-only")
    assert verdict.startswith(repl_run.ERROR), shown
    assert cli_only not in shown


def test_step_hints_in_a_session_name_no_cli_only_flag():
    """The plan's diagnoses name what the user changes through slots; in a session the REPL face fills them with
    what a session changes (the environment Zorora started with), never a flag the REPL command lacks."""
    from zorora_e2e_plugin.core import catalogue as diagnose

    hints = [
        diagnose.TOKEN_MISMATCH,
        diagnose.for_s3("NoSuchBucket"),
        diagnose.for_s3("EndpointConnectionError"),
        diagnose.S3_CLIENT,
        diagnose.REDIRECT.fill(target="https://elsewhere.example/"),
    ]
    for hint in hints:
        shown = REPL.hint(hint)
        for flag in ("--token-from-ssm", "--region", "--s3-endpoint-url", "--base-url"):
            assert flag not in shown, shown
    assert "AWS_REGION" in REPL.hint(diagnose.for_s3("NoSuchBucket"))


def test_no_hint_text_of_the_plan_names_a_cli_only_flag_in_a_session():
    """A face words a hint when it shows it: every string the steps, the diagnoses and the cleanup can put in a
    hint (read from their source, f-string pieces included) names no flag the session lacks (what the faces name
    differently is a slot, such as {base_url}), and the REPL's words for each slot name none either, so a hint
    added later cannot slip a CLI-only flag into the REPL."""
    import ast
    import glob
    import os

    from zorora_e2e_plugin.cli import build_parser
    from zorora_e2e_plugin.config.faces import CLI
    from zorora_e2e_plugin.config.flags import session_parser
    from zorora_e2e_plugin.core.diagnosis import SLOTS, Diagnosis, Whose

    def long_flags(parser):
        return {o for a in parser._actions for o in a.option_strings if o.startswith("--")}

    cli_run = build_parser()._subparsers._group_actions[0].choices["run"]
    cli_only = long_flags(cli_run) - long_flags(session_parser(lambda text: None, prog="ml-validate-e2e"))
    assert {"--base-url", "--token-from-ssm", "--region", "--s3-endpoint-url"} <= cli_only
    package = os.path.dirname(zorora_e2e_plugin.__file__)
    sources = glob.glob(os.path.join(package, "plan", "**", "*.py"), recursive=True) + [
        os.path.join(package, *name.split("/")) for name in ("core/catalogue.py", "run/waves.py", "run/cleanup.py")
    ]
    texts = [
        node.value
        for path in sources
        for node in ast.walk(ast.parse(open(path).read()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "--" in node.value
    ]
    assert len(texts) > 10

    def leaks(text):
        return [flag for flag in cli_only if re.search(re.escape(flag) + r"(?![\w-])", text)]

    for text in texts:
        assert not leaks(text), (leaks(text), text)
    assert {name for name, _words in REPL.slots} == {name for name, _words in CLI.slots} == set(SLOTS)
    for slot in SLOTS:
        shown = REPL.hint(Diagnosis("ZE-TEST-001", Whose.SETTINGS, "{" + slot + "}"))
        assert shown and "{" not in shown and not leaks(shown), (slot, shown)


def test_a_step_hint_in_the_repl_names_what_the_session_changes(host, target_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # S3 does not answer
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, "ml-validate-e2e --preflight-only --timeout 2")
    assert verdict.startswith("✗ Preflight gate failed"), shown
    flat = " ".join(shown.split())
    assert "AWS_ENDPOINT_URL_S3" in flat and "--s3-endpoint-url" not in flat and "--region" not in flat
