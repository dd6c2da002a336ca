"""Who the runner talks to, between it and the reporters: `Fanout` hands every event to several reporters;
`QuietWhenClosed` keeps the console view from ever cutting a run short (a closed stdout silences it, a
signal waits until a line is out) and always lets go of the console at the end (`close`).
"""

from __future__ import annotations

import threading

from ..core.steps import Reporter


class Fanout(Reporter):
    """Passes every event to several reporters (the console view, plus any observer a caller adds). Each is a
    `Reporter` (core/steps.py; a subclass: the events it does not care about are the interface's no-ops), and only
    that interface is called."""

    def __init__(self, reporters):
        self.reporters = list(reporters)
        strays = [type(r).__name__ for r in self.reporters if not isinstance(r, Reporter)]
        if strays:
            raise TypeError(f"not a Reporter: {', '.join(strays)}")

    def run_started(self, header, phases) -> None:
        for reporter in self.reporters:
            reporter.run_started(header, phases)

    def phase_started(self, phase) -> None:
        for reporter in self.reporters:
            reporter.phase_started(phase)

    def step_started(self, step) -> None:
        for reporter in self.reporters:
            reporter.step_started(step)

    def step_finished(self, result) -> None:
        for reporter in self.reporters:
            reporter.step_finished(result)

    def run_finished(self, result) -> None:
        for reporter in self.reporters:
            reporter.run_finished(result)

    def notice(self, text: str) -> None:
        for reporter in self.reporters:
            reporter.notice(text)


class _Relay(Reporter):
    """The console view's wrappers: every event, and the console's own `log_request` and `close`, handed on to
    `self.reporter` through `_each(event, *args)`."""

    reporter: Reporter

    def _each(self, event: str, *args) -> None:
        raise NotImplementedError

    def run_started(self, header, phases) -> None:
        self._each("run_started", header, phases)

    def phase_started(self, phase) -> None:
        self._each("phase_started", phase)

    def step_started(self, step) -> None:
        self._each("step_started", step)

    def step_finished(self, result) -> None:
        self._each("step_finished", result)

    def run_finished(self, result) -> None:
        self._each("run_finished", result)

    def notice(self, text: str) -> None:
        self._each("notice", text)

    def log_request(self, text: str) -> None:  # --log-requests, from the sandbox's threads: the console only
        self._each("log_request", text)


class QuietWhenClosed(_Relay):
    """The console view, dropped (not the run) the first time its output fails: a closed stdout
    (`zorora-e2e run ... | head -1`) must never cut a run short. The run goes on silently, waits for its
    requests, cleans up, writes its reports and exits with the code its verdict deserves.

    A signal never interrupts a print: raised inside rich's Console.print it can leave the console
    buffering forever (nothing printed again). It is held, and raised once the line is out."""

    def __init__(self, reporter: Reporter, signals=None):
        self.reporter = reporter
        self.signals = signals
        self.closed = False

    def _each(self, event: str, *args) -> None:
        if self.closed:
            return
        if self.signals is not None and threading.current_thread() is threading.main_thread():
            with self.signals.held():
                self._call(event, *args)
        else:
            self._call(event, *args)

    def _call(self, event: str, *args) -> None:
        try:
            getattr(self.reporter, event)(*args)
        except (OSError, ValueError, SystemExit):
            # BrokenPipeError, EPIPE/EBADF, "I/O operation on closed file"; and rich's own answer to a broken
            # pipe on stdout (Console.on_broken_pipe: /dev/null over stdout, then SystemExit(1))
            self.closed = True

    def close(self) -> None:
        """However the run ended (an exception, a Ctrl-C, a closed stdout): the live line stops and the console
        is left as it was found. Never raises."""
        close = getattr(self.reporter, "close", None)
        if close is None:
            return
        if self.signals is not None and threading.current_thread() is threading.main_thread():
            with self.signals.held():
                self._close(close)
        else:
            self._close(close)

    def _close(self, close) -> None:
        try:
            close()
        except Exception:  # a dead stdout: LiveSteps.stop() has let go of the console already
            self.closed = True


class HeldUntilAStepRuns(_Relay):
    """The console view's phase headers, skipped-step lines and notices are held until the first step starts
    (at once, in a run that runs); a run stopped before any step ran (q or Ctrl-C at the walkthrough's first
    pause) drops them: its whole summary is one line (verdict_line.nothing_ran)."""

    def __init__(self, reporter: Reporter):
        self.reporter = reporter
        self.held: list[tuple[str, tuple]] = []  # (event, args) until a step starts
        self.running = False

    def _each(self, event: str, *args) -> None:
        if not self.running:
            if event in ("phase_started", "step_finished", "notice"):
                self.held.append((event, args))
                return
            if event == "step_started" or (event == "run_finished" and not _nothing_ran(args[0])):
                self._release()
            elif event == "run_finished":
                self.held, self.running = [], True
        getattr(self.reporter, event)(*args)

    def _release(self) -> None:
        self.running = True
        held, self.held = self.held, []
        for event, args in held:
            getattr(self.reporter, event)(*args)

    def close(self) -> None:
        close = getattr(self.reporter, "close", None)
        if close is not None:
            close()


def _nothing_ran(result) -> bool:
    from .verdict_line import nothing_ran

    return nothing_ran(result)
