"""The one confirmation before a run writes to a real deployment: the prompt itself
(`zorora_e2e_plugin.console.confirm`, answered through prompt_toolkit's pipe input) and when
`ml-validate-e2e` asks, what it says, and what happens on each answer."""

from __future__ import annotations

import io
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.plain_text import PlainTextOutput
from standin.harness import output

import zorora_e2e_plugin
from zorora_e2e_plugin.console.confirm import confirm
from zorora_e2e_plugin.console.terminal import can_prompt


def answer(keys: str, text: str = "This writes things.") -> bool:
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        return confirm(text, input=pipe, output=DummyOutput())


@pytest.mark.parametrize(
    "keys, expected",
    [
        ("y\r", True),
        ("Y\r", True),
        ("yes\r", True),
        (" YES \r", True),
        ("n\r", False),
        ("no\r", False),
        ("N\r", False),
        ("\r", False),
        ("\x1b", False),
        ("\x03", False),
        ("\x04", False),
        ("yes please\r", False),
        ("abc\r", False),
        ("nyes\r", False),
        ("x\x7fy\r", True),  # a line, edited like any other
    ],
)
def test_a_line_answered_with_enter(keys, expected):
    assert answer(keys) is expected


@pytest.mark.parametrize("keys", ["no\r", "yes\r", "y\r", "nope\r", "\r", "\x03", "\x04", "no\rtyped-ahead"])
def test_nothing_typed_at_the_question_reaches_the_next_prompt(keys):
    """Zorora reads its next command from the same input: a key left behind (the `o` of `no` once a single
    key answered) would be run as a command (a web search for "o")."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.input.typeahead import get_typeahead

    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        confirm("This writes things.", input=pipe, output=DummyOutput())
        assert get_typeahead(pipe) == []
        pipe.send_text("next\r")
        assert PromptSession(input=pipe, output=DummyOutput()).prompt() == "next"


def test_the_question_shows_the_text():
    screen = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("n\r")
        assert (
            confirm(
                "Writes s3://bucket/prefix/ on https://api.example/prod", input=pipe, output=PlainTextOutput(screen)
            )
            is False
        )
    shown = screen.getvalue()
    assert "Writes s3://bucket/prefix/ on https://api.example/prod" in shown and "Proceed? [y/N]" in shown


def test_no_terminal_means_no_question_and_no(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert can_prompt() is False
    assert confirm("anything") is False


def test_an_app_session_input_counts_as_a_terminal():
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        assert can_prompt() is True
        pipe.send_text("y\r")
        assert confirm("text") is True


# ------------------------------------------------------------------------- inside ml-validate-e2e


def _non_local_url(url: str) -> str:
    """The sandbox's URL under this machine's host name: reachable, but not 'local' to the
    settings (only localhost and loopback addresses are), so a run asks before writing."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        addresses = set()
    if "127.0.0.1" not in addresses:
        pytest.skip(f"host name {name!r} does not resolve to 127.0.0.1")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{name}:{parts.port}", parts.path, "", ""))


@pytest.fixture
def remote_repl(host, monkeypatch, sandbox_instance):
    for key, value in sandbox_instance.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ONA_API_BASE_URL", _non_local_url(sandbox_instance.api_url))
    for key in ("TEST_CUSTOMER_ID", "TEST_ACTOR", "ZORORA_AUTO_CONFIRM"):
        monkeypatch.delenv(key, raising=False)
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    calls = []
    client = repl.remote_commands["ml-list-challengers"].http_client
    real = client.request
    monkeypatch.setattr(client, "request", lambda *a, **k: calls.append(a[:2]) or real(*a, **k))
    repl.calls = calls
    return repl


def _type(repl, line: str, keys: str):
    """Run `line` with `keys` typed at any question; when one was asked, the REPL's next prompt then reads
    `next` from the same input and must get exactly that: nothing typed at the question is left for it."""
    from prompt_toolkit import PromptSession

    screen = io.StringIO()
    ours = repl.remote_commands["ml-validate-e2e"]
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=PlainTextOutput(screen)):
        pipe.send_text(keys)
        before = len(repl.responses)
        repl.handle(line)
        assert len(repl.responses) == before + 1 and repl.responses[-1] == ""
        if "Proceed?" in screen.getvalue():  # asked: the answer's line was all consumed, and only it
            pipe.send_text("next\r")
            assert PromptSession(input=pipe, output=DummyOutput()).prompt() == "next"
    return ours.last_verdict, screen.getvalue()


@pytest.mark.slow
def test_asks_once_with_what_where_and_which_url_then_runs(remote_repl, monkeypatch):
    from zorora_e2e_plugin.console import confirm as confirm_module

    questions = []
    real = confirm_module.confirm
    monkeypatch.setattr(confirm_module, "confirm", lambda text, **kw: questions.append(text) or real(text, **kw))
    verdict, asked = _type(remote_repl, "ml-validate-e2e --customer-id zorora-e2e-test-confirm-1", "yes\r")
    assert verdict.startswith("✓ E2E validation passed"), output(remote_repl)
    host_name = socket.gethostname()
    assert len(questions) == 1 and "Proceed? [y/N]" in asked
    flat = " ".join(asked.split())
    assert "zorora-e2e-test-confirm-1" in flat
    assert "s3://sa-api-client-output/customer_tailored/zorora-e2e-test-confirm-1/" in flat
    assert "promote and rollback" in flat and f"http://{host_name}:" in flat
    assert ("POST", "/promote") in remote_repl.calls


@pytest.mark.parametrize("keys", ["no\r", "n\r", "\r", "\x03", "\x04", "yes please\r"])
def test_no_or_ctrl_c_writes_nothing(remote_repl, keys):
    """The question comes after the preflight gate (issue 16, 12): phase 0 ran (it writes only its probe, which
    it removes), then no ends the run; Zorora's commands never ran and nothing of the customer's was written."""
    verdict, asked = _type(remote_repl, "ml-validate-e2e", keys)
    assert verdict.startswith("✗ Cancelled: nothing was written"), output(remote_repl)
    shown = output(remote_repl)
    assert "Proceed? [y/N]" in asked and "Phase 0" in shown and "✓ 0.5" in shown
    assert shown.index("✓ 0.5") < shown.index("Phases 1–4  skipped")  # asked between the gate and phase 1
    assert remote_repl.calls == [] and "✓ 1.1" not in shown
    assert " ".join(shown.split()).lower().count("nothing was written") == 1, shown


def test_yes_flag_skips_the_question(remote_repl):
    verdict, asked = _type(remote_repl, "ml-validate-e2e --yes", "no\r")
    assert verdict.startswith("✓ E2E validation passed"), output(remote_repl)
    assert "Proceed?" not in asked


def test_preflight_only_does_not_ask(remote_repl):
    verdict, asked = _type(remote_repl, "ml-validate-e2e --preflight-only", "no\r")
    assert verdict.startswith("✓ Preflight passed"), output(remote_repl)
    assert "Proceed?" not in asked


def test_without_a_terminal_it_refuses_and_says_how(remote_repl, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    remote_repl.handle("ml-validate-e2e")
    assert (
        remote_repl.remote_commands["ml-validate-e2e"].last_verdict
        == "✗ ml-validate-e2e cancelled: nothing was written."
    )
    assert "Re-run with --yes" in output(remote_repl) and remote_repl.calls == []


def test_a_loopback_target_does_not_ask(host, monkeypatch, sandbox_instance):
    for key, value in sandbox_instance.env().items():
        monkeypatch.setenv(key, value)
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    verdict, asked = _type(repl, "ml-validate-e2e", "no\r")
    assert verdict.startswith("✓ E2E validation passed") and "Proceed?" not in asked


# ------------------------------------------------------------------------- the rule both faces follow


def _settings(**flags):
    from zorora_e2e_plugin.config.flags import RunFlags
    from zorora_e2e_plugin.config.settings import resolve

    return resolve(
        RunFlags(
            base_url="https://api.example/prod/api/v1",
            token="tok-123456",
            customer_id="zorora-e2e-test-rule-1",
            **flags,
        ),
        {},
    )


@pytest.mark.parametrize(
    "flags, terminal, answer, allowed, said",
    [
        ({}, False, None, False, "Not asking without a terminal: nothing was written. Re-run with --yes to proceed."),
        ({"assume_yes": True}, False, None, True, None),
        ({"phases": [0]}, False, None, True, None),  # the preflight writes only its probe: never asks
        ({}, True, True, True, None),
        ({}, True, False, False, "Cancelled: nothing was written."),
    ],
)
def test_may_write_is_the_one_rule(monkeypatch, flags, terminal, answer, allowed, said):
    """engine.may_write: a run that writes to a non-local target asks; --yes skips the question; without a
    terminal to ask on it refuses (nothing written). `zorora-e2e run` and `ml-validate-e2e` both call it."""
    from zorora_e2e_plugin.console import confirm as confirm_module
    from zorora_e2e_plugin.console import terminal as terminal_module
    from zorora_e2e_plugin.run.validate import may_write

    asked, lines = [], []
    monkeypatch.setattr(terminal_module, "can_prompt", lambda input=None: terminal)
    monkeypatch.setattr(confirm_module, "confirm", lambda text, **kw: asked.append(text) or answer)
    assert may_write(_settings(**flags), lambda text, style="": lines.append(text)) is allowed
    assert len(asked) == (1 if answer is not None else 0)
    if said:
        assert lines[-1] == said
    else:
        assert lines == []
    if not terminal and not allowed:  # what would have been written is shown, so the user can judge --yes
        assert "s3://sa-api-client-output/customer_tailored/zorora-e2e-test-rule-1/" in "\n".join(lines)
