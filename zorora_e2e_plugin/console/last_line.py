"""The last line of a command left open in the REPL, so that one blank line follows it, as after Zorora's own
commands.

Zorora prints what a command returns, then shows it again as Markdown between two blank lines (docs/platform.md,
the REPL). The command returns a string that prints as nothing (repl/invocation.Returned); what it printed itself
ends with a newline, and the host's two blank lines would make three. While `LastLineOpen` is on the console's
file, the newline that ends the last line written is held back: the next write sends it first, and at the end it
is dropped, so the host's first blank line ends the line and its second is the one blank line.

It holds only while `holding` (the REPL command turns it off while a run's live line, threads and questions are
about); `release()` writes a held newline at once, and every question asked on the terminal calls it first
(console/confirm.py, the walkthrough's pause): a prompt_toolkit question writes to the terminal itself, not
through the console.
"""

from __future__ import annotations

import threading

_current: LastLineOpen | None = None


class LastLineOpen:
    """A console's file that holds back the newline ending the last line written (see the module)."""

    def __init__(self, console):
        self.console = console
        self._saved = getattr(console, "_file", None)  # None: the console writes to sys.stdout as it is then
        self.file = console.file
        self.holding = True
        self.pending = False
        self._lock = threading.RLock()

    # -- a file, for rich ------------------------------------------------------------------------------
    def write(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            out = ("\n" if self.pending else "") + text
            self.pending = self.holding and out.endswith("\n")
            self.file.write(out[:-1] if self.pending else out)
        return len(text)

    def flush(self) -> None:
        self.file.flush()

    def __getattr__(self, name):  # isatty, fileno, encoding, ...: the terminal's own
        return getattr(self.file, name)

    # -- for the command and for questions ---------------------------------------------------------------
    def hold(self, on: bool) -> None:
        with self._lock:
            if not on:
                self.release()
            self.holding = on

    def release(self) -> None:
        """The held newline, written now (before a question, or when holding stops)."""
        with self._lock:
            if self.pending:
                self.pending = False
                try:
                    self.file.write("\n")
                    self.file.flush()
                except (OSError, ValueError):
                    pass

    @classmethod
    def install(cls, console) -> LastLineOpen:
        global _current
        held = cls(console)
        console.file = held
        _current = held
        return held

    def close(self) -> None:
        """The console's own file back; a held newline is dropped (the host's blank line ends the line)."""
        global _current
        with self._lock:
            self.pending = False
            self.console.file = self._saved
            if _current is self:
                _current = None


def release() -> None:
    """Before a question on the terminal: the last line ended (a no-op outside a REPL command)."""
    held = _current
    if held is not None:
        held.release()


__all__ = ["LastLineOpen", "release"]
