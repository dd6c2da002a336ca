"""The one terminal probe (httpie's `Environment`, reduced to what this plugin asks): is there someone to ask
on stdin, is the console a terminal whose lines are cut to its width, can it redraw a line in place.

Every face and view asks here, so each question has one answer in each context:

- the CLI on a terminal: all yes; piped, in CI (`CI=true` changes nothing here: only a terminal counts) or
  through `| tee`: no line is cut, nothing is redrawn, and nobody is asked (`--yes` is needed to write);
- the REPL: stdin is the terminal Zorora's prompt_toolkit session reads; a prompt_toolkit app session given an
  input (`create_app_session(input=...)`, as tests do) counts as someone to ask;
- the console questions are rich's own answers (`is_terminal`, `is_dumb_terminal`, `width`), so
  `force_terminal`, `FORCE_COLOR`, `TERM=dumb` and a console on a `StringIO` decide as rich does.
  Colour (`NO_COLOR`, `--no-color`) is the console's business and changes none of these answers; the
  encoding of the stream is console_encoding's.
"""

from __future__ import annotations

import sys
from typing import Any

NARROWEST = 20  # a terminal narrower than this is taken to be this wide


def _is_a_tty(stream) -> bool:
    """False when the stream is closed, None or replaced by something without isatty."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def stdin_is_terminal() -> bool:
    """A terminal on stdin."""
    return _is_a_tty(sys.stdin)


def stdout_is_terminal() -> bool:
    """A terminal on stdout: someone is watching the run as it starts."""
    return _is_a_tty(sys.stdout)


MAX_SECRET = 64 * 1024  # a token is a few dozen characters; stdin is never read without bound


def read_secret(prompt: str) -> str:
    """One secret from stdin, never echoed: asked for without echo on a terminal, else the first line of what
    stdin holds (a pipe, a file: `aws ssm get-parameter ... | zorora-e2e run --token -`), surrounding whitespace
    off. ValueError saying why when there is none."""
    if stdin_is_terminal():
        import getpass

        try:
            value = getpass.getpass(prompt)
        except EOFError:
            value = ""
    else:
        if sys.stdin is None:
            raise ValueError("stdin is closed")
        try:
            value = sys.stdin.readline(MAX_SECRET + 1)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"stdin could not be read ({type(exc).__name__})") from None
        if len(value) > MAX_SECRET:
            raise ValueError(f"the first line of stdin is longer than {MAX_SECRET // 1024} KiB")
    value = value.strip()
    if not value:
        raise ValueError("nothing on stdin" if not stdin_is_terminal() else "nothing was typed")
    return value


def can_prompt(input: Any | None = None) -> bool:
    """True when there is someone to ask: an explicit prompt_toolkit input, an input set on the current
    prompt_toolkit app session (`create_app_session(input=...)`, as tests do), or a terminal on stdin."""
    return input is not None or _session_input() is not None or stdin_is_terminal()


def _session_input() -> Any | None:
    """The input given explicitly to the current prompt_toolkit app session, if any (prompt_toolkit is never
    imported for this: without it loaded there is no session)."""
    if "prompt_toolkit" not in sys.modules:
        return None
    try:
        from prompt_toolkit.application.current import get_app_session

        return getattr(get_app_session(), "_input", None)
    except Exception:
        return None


def is_terminal(console) -> bool:
    """The console writes to a terminal: its lines are cut to the width (anywhere else they are written whole)."""
    return bool(getattr(console, "is_terminal", False))


def can_redraw(console) -> bool:
    """The console can redraw a line in place (the live line): a terminal that is not dumb."""
    return is_terminal(console) and not getattr(console, "is_dumb_terminal", False)


def line_width(console) -> int | None:
    """The width lines must fit in: the terminal's (at least NARROWEST); None (whole lines) when not a terminal."""
    if is_terminal(console):
        return max(NARROWEST, int(console.width))
    return None


__all__ = [
    "NARROWEST",
    "can_prompt",
    "can_redraw",
    "is_terminal",
    "line_width",
    "stdin_is_terminal",
    "stdout_is_terminal",
    "read_secret",
]
