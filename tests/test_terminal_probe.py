"""The one terminal probe (terminal.py): one answer per question, in each context the faces meet."""

import io

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from zorora_e2e_plugin.console import terminal
from zorora_e2e_plugin.report.console import make_console


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_piped_stdin_means_nobody_to_ask(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert terminal.stdin_is_terminal() is False and terminal.can_prompt() is False


@pytest.mark.parametrize("stdin", [None, "closed"])
def test_no_stdin_or_a_closed_one_means_nobody_to_ask(monkeypatch, stdin):
    if stdin == "closed":
        stdin = io.StringIO()
        stdin.close()
    monkeypatch.setattr("sys.stdin", stdin)
    assert terminal.can_prompt() is False


def test_a_terminal_on_stdin_or_a_prompt_toolkit_session_input_is_someone_to_ask(monkeypatch):
    monkeypatch.setattr("sys.stdin", _Tty())
    assert terminal.can_prompt() is True
    monkeypatch.setattr("sys.stdin", io.StringIO())
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        assert terminal.can_prompt() is True  # the REPL's (or a test's) prompt_toolkit input
    assert terminal.can_prompt() is False
    with create_pipe_input() as pipe:
        assert terminal.can_prompt(pipe) is True  # an explicit input


@pytest.mark.parametrize("env", [{}, {"CI": "true"}, {"NO_COLOR": "1"}])
def test_a_console_on_a_pipe_cuts_nothing_and_redraws_nothing(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    console = make_console(file=io.StringIO(), no_color="NO_COLOR" in env)
    assert (terminal.is_terminal(console), terminal.can_redraw(console), terminal.line_width(console)) == (
        False,
        False,
        None,
    )


@pytest.mark.parametrize("env", [{}, {"CI": "true"}, {"NO_COLOR": "1"}])
def test_a_terminal_console_cuts_lines_to_its_width_and_redraws(monkeypatch, env):
    monkeypatch.delenv("TERM", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    console = Console(file=io.StringIO(), force_terminal=True, width=100, no_color="NO_COLOR" in env)
    assert (terminal.is_terminal(console), terminal.can_redraw(console), terminal.line_width(console)) == (
        True,
        True,
        100,
    )
    assert terminal.line_width(Console(file=io.StringIO(), force_terminal=True, width=8)) == terminal.NARROWEST


def test_a_dumb_terminal_cuts_lines_but_never_redraws(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    assert terminal.is_terminal(console) is True and terminal.can_redraw(console) is False


def test_stdout_is_a_terminal_only_when_it_says_so(monkeypatch):
    monkeypatch.setattr("sys.stdout", _Tty())
    assert terminal.stdout_is_terminal() is True
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert terminal.stdout_is_terminal() is False
