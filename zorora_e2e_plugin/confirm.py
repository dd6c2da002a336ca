"""One yes/no question before a run writes to a real deployment (prompt_toolkit).

`confirm(text)` shows `text` and waits for y or n; Enter, Esc, Ctrl-C and Ctrl-D mean no. Without a
terminal it does not ask and answers no (the caller says to pass --yes). Tests pass prompt_toolkit's
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


def confirm(text: str, *, input: Optional[Any] = None, output: Optional[Any] = None,
            question: str = QUESTION) -> bool:
    """Ask once; True only for y/Y. Never raises for Ctrl-C/Ctrl-D (they answer no)."""
    if not can_prompt(input):
        return False
    from prompt_toolkit import PromptSession
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    def answer(value: bool):
        def handler(event) -> None:
            event.app.current_buffer.text = "yes" if value else "no"
            event.app.exit(result=value)
        return handler

    for key in ("y", "Y"):
        bindings.add(key)(answer(True))
    for key in ("n", "N", "enter", "escape", "c-c", "c-d"):
        bindings.add(key, eager=True)(answer(False))

    @bindings.add("<any>")
    def _ignore(event) -> None:
        pass

    message = FormattedText([("", text.rstrip() + "\n"), ("bold", question)])
    session: PromptSession = PromptSession(message, key_bindings=bindings, input=input, output=output)
    try:
        return bool(session.prompt())
    except (KeyboardInterrupt, EOFError):
        return False


__all__ = ["QUESTION", "can_prompt", "confirm"]
