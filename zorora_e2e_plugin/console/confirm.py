"""One yes/no question before a run writes to a real deployment (prompt_toolkit).

`confirm(text)` shows `text` and reads one line, like Zorora's own questions: `y` or `yes` and Enter mean
yes; anything else, an empty line, Esc, Ctrl-C and Ctrl-D mean no. The whole line is consumed, so nothing
typed at the question reaches the REPL's next prompt. Without a terminal it does not ask and answers no
(`terminal.can_prompt`; the caller says how to skip the question). Tests pass prompt_toolkit's
`create_pipe_input()` and `DummyOutput()` as `input`/`output`, or set them for a whole block with
`prompt_toolkit.application.create_app_session(input=..., output=...)`.
"""

from __future__ import annotations

from typing import Any

from . import terminal

QUESTION = "Proceed? [y/N] "


def is_yes(line: str) -> bool:
    """The answer a typed line means: y/yes (any case, surrounding spaces ignored) and nothing else."""
    return str(line).strip().lower() in ("y", "yes")


def confirm(text: str, *, input: Any | None = None, output: Any | None = None, question: str = QUESTION) -> bool:
    """Ask once, a line answered with Enter; True only for y/yes. Never raises for Ctrl-C/Ctrl-D (they
    answer no)."""
    if not terminal.can_prompt(input):
        return False
    from prompt_toolkit import PromptSession

    from .last_line import release

    release()  # the question writes to the terminal itself: the console's last line ends first
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


__all__ = ["QUESTION", "confirm", "is_yes"]
