"""One yes/no question before a run writes to a real deployment (prompt_toolkit).

`confirm(text)` shows `text` and reads one line, like Zorora's own questions: `y` or `yes` and Enter mean
yes; anything else, an empty line, Esc, Ctrl-C and Ctrl-D mean no. The whole line is consumed, so nothing
typed at the question reaches the REPL's next prompt. Without a terminal it does not ask and answers no
(the caller says how to skip the question). Tests pass prompt_toolkit's
`create_pipe_input()` and `DummyOutput()` as `input`/`output`, or set them for a whole block with
`prompt_toolkit.application.create_app_session(input=..., output=...)`.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

QUESTION = "Proceed? [y/N] "


def can_prompt(input: Optional[Any] = None) -> bool:
    """True when there is someone to ask: an explicit prompt_toolkit input, an input set on the
    current prompt_toolkit app session (`create_app_session(input=...)`, as tests do), or a
    terminal on stdin."""
    if input is not None or _session_input() is not None:
        return True
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _session_input() -> Optional[Any]:
    """The input given explicitly to the current prompt_toolkit app session, if any."""
    if "prompt_toolkit" not in sys.modules:
        return None
    try:
        from prompt_toolkit.application.current import get_app_session

        return getattr(get_app_session(), "_input", None)
    except Exception:
        return None


def is_yes(line: str) -> bool:
    """The answer a typed line means: y/yes (any case, surrounding spaces ignored) and nothing else."""
    return str(line).strip().lower() in ("y", "yes")


def confirm(text: str, *, input: Optional[Any] = None, output: Optional[Any] = None,
            question: str = QUESTION) -> bool:
    """Ask once, a line answered with Enter; True only for y/yes. Never raises for Ctrl-C/Ctrl-D (they
    answer no)."""
    if not can_prompt(input):
        return False
    from prompt_toolkit import PromptSession
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape")  # a lone Esc (once prompt_toolkit's escape timeout has passed)
    @bindings.add("c-c")
    @bindings.add("c-d")
    def _no(event) -> None:
        event.app.exit(result="")

    message = FormattedText([("", text.rstrip() + "\n"), ("bold", question)])
    session: PromptSession = PromptSession(message, key_bindings=bindings, input=input, output=output)
    try:
        return is_yes(session.prompt() or "")
    except (KeyboardInterrupt, EOFError):
        return False
    finally:
        _drop_typeahead(session)


def _drop_typeahead(session) -> None:
    """Keys that arrived with the answer but after its Enter stay with the plugin: prompt_toolkit keeps them
    for the next prompt on the same input (the REPL's), which would run them as a command."""
    try:
        from prompt_toolkit.input.typeahead import clear_typeahead

        clear_typeahead(session.app.input)
    except Exception:
        pass


__all__ = ["QUESTION", "can_prompt", "confirm", "is_yes"]
