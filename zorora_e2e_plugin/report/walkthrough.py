"""The presenter's walkthrough (`--walkthrough`) and the state views (`--show-state`).

A `Presenter` is one more Reporter on the run (the runner does not know it is there). Before each phase it
says what the phase proves, why it matters and which requests it is about to send, then waits for Enter
(`q` stops: the remaining phases are skipped, the cleanup still runs, the verdict is "interrupted").
After phase 1, 3.1, 3.3, 4 and 5 it shows the state in S3 (state_views.py), read through the run's Store.

Pauses do not count against --deadline: the run moves the deadline on by the time spent paused and drawing
views (its control handle's `paused(seconds)`: run/execution.py's RunControl), and leaves that time out of the
run's duration; a phase's time in the summary ends with its last step, before the pause that opens the next.
Ctrl-C at a pause stops the run like `q` (its exit code stays 130).
A pause waits on the terminal in the CLI (`TerminalPause`), on prompt_toolkit in the REPL (`PromptPause`).
"""

from __future__ import annotations

import dataclasses
import select
import sys
import time
from typing import Callable

from rich.text import Text

from ..console.lines import hanging, words
from ..core.outcomes import SKIP
from ..core.steps import Reporter

REFUSED = (
    "--walkthrough waits for Enter before each phase: it needs a terminal (use --show-state to see the "
    "state views without pausing)."
)
STOPPED = "Stopped at the pause before phase {phase}: the phases left are skipped; the cleanup still runs."


def sends_lines(phase) -> list[tuple[str, str]]:
    """(who, what it sends) for each step of `phase` in the order they run, as the plan declares it
    (Step.sends; a step that sends nothing says why)."""
    rows: list[tuple[str, str]] = []
    if phase.setup_sends:
        rows.append(("setup", ", ".join(phase.setup_sends)))
    for wave in phase.waves:
        for step in wave:
            rows.append(
                (
                    step.id,
                    ", ".join(step.sends) if step.sends else "nothing" + (f" ({step.quiet})" if step.quiet else ""),
                )
            )
    return rows


@dataclasses.dataclass(frozen=True)
class Options:
    """What the presenter asked for: `pause` (a TerminalPause/PromptPause) for --walkthrough; `show_state`."""

    pause: Callable | None = None
    show_state: bool = False

    @property
    def active(self) -> bool:
        return self.pause is not None or self.show_state


def options_from(namespace, pause: Callable) -> Options | None:
    """The presenter's flags as Options (None: neither given). `pause`: the face's way to wait."""
    walk, show = bool(getattr(namespace, "walkthrough", False)), bool(getattr(namespace, "show_state", False))
    if not (walk or show):
        return None
    return Options(pause=pause if walk else None, show_state=show or walk)


def answer(line: str) -> str:
    """What a line typed at a pause means: q (quit, qq, ...) or stop stops; anything else goes on."""
    word = line.strip().lower()
    return "stop" if word.startswith("q") or word == "stop" else "go"


class TerminalPause:
    """Waits for a line on the terminal (stdin). Returns "go" or "stop". A signal recorded meanwhile
    (`signals.received` grew: cleanup runs with signals only recorded) or raised (Ctrl-C) means stop."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin

    def __call__(self, console, prompt: str, signals=None) -> str:
        before = len(signals.received) if signals is not None else 0  # counted before the prompt shows: a Ctrl-C
        try:  # typed the moment it appears is this pause's, recorded or raised
            console.print(Text(prompt, style="bold"), end="", highlight=False)
            console.file.flush()
            while True:
                if signals is not None and len(signals.received) > before:
                    break
                ready, _, _ = select.select([self.stream], [], [], 0.1)
                if ready:
                    line = self.stream.readline()  # the terminal echoed its newline
                    if line:
                        return answer(line)
                    break  # end of input: nobody to wait for
        except KeyboardInterrupt:
            pass
        console.print()
        return "stop"


class PromptPause:
    """Waits on prompt_toolkit (inside the REPL: nothing typed reaches the REPL afterwards). Ctrl-C/Ctrl-D stop."""

    def __init__(self, input=None, output=None):
        self.input, self.output = input, output

    def __call__(self, console, prompt: str, signals=None) -> str:
        from prompt_toolkit import PromptSession

        from ..console.last_line import release

        release()  # the prompt writes to the terminal itself: the console's last line ends first
        session: PromptSession = PromptSession(input=self.input, output=self.output)
        try:
            line = session.prompt(prompt)
        except (KeyboardInterrupt, EOFError):
            return "stop"
        return answer(line)


class Uncontrolled:
    """A presenter's control handle on no run (run.RunControl is the real one)."""

    def stop(self) -> None: ...
    def paused(self, seconds: float) -> None: ...
    def why_skipped(self, phase) -> str:
        return ""


class Presenter(Reporter):
    """The walkthrough and the state views, as a Reporter. `open_store()`: the run's Store; `world`: its
    SeedData; `redact`: the run's redactor; `control`: its handle on the run (run.RunControl): `stop()` ends
    the run like Ctrl-C (cleanup still runs), `paused(seconds)` is time not to count against the deadline,
    `why_skipped(phase)` is "interrupted" when the run was interrupted (no more views or pauses), another reason
    when that phase will be skipped (no pause)."""

    def __init__(self, options: Options, console, *, world, open_store, redact, signals=None, control=None):
        from .state_views import StateViews

        self.options, self.console, self.signals = options, console, signals
        self.control = control if control is not None else Uncontrolled()
        self.steps: dict = {}  # step id -> Step, of the phases seen
        self.views = (
            StateViews(console, world=world, open_store=open_store, redact=redact)
            if options.show_state or options.pause
            else None
        )
        self.stopped = False
        self.ran = False  # a step has run (not only been skipped)
        self.last_phase: int | None = None
        self.cleaned_up = False  # the last phase heard of is the cleanup

    def _timed(self, fn, *args) -> None:
        began = time.monotonic()
        try:
            fn(*args)
        except (OSError, ValueError):  # a closed stdout: the run goes on without the presenter
            self.options = Options()
            self.views = None
        except Exception as exc:  # a bug in a view never costs the run (or its cleanup)
            self.views = None
            try:
                words(self.console, Text(f"(state views off: {type(exc).__name__}: {exc})", style="dim"))
            except Exception:
                pass
        finally:
            self.control.paused(time.monotonic() - began)

    def phase_started(self, phase) -> None:
        self._timed(self._before, phase)

    def parts(self):
        """(leading, trailing): the leading part hears of phases and the run's end before the console (the
        explanation and pause come before a phase's header, the last view before the summary); the trailing
        part hears of steps after it (a registry diff comes under its step's line)."""
        return _Part(self, ("phase_started", "run_finished")), _Part(self, ("step_finished",))

    def step_finished(self, result) -> None:
        self.ran = self.ran or result.status != SKIP
        step = self.steps.get(result.id)
        if self.views is not None and step is not None and step.changes_registry:
            self._timed(self.views.after_step, result)
        elif self.views is not None:
            self.views.record(result)

    def run_finished(self, result) -> None:
        if self.views is not None and self.cleaned_up:
            self._timed(self.views.after_cleanup, result)
        elif self.views is not None and self.last_phase is not None and not self.stopped:  # no cleanup ran
            self._timed(self.views.after_phase, self.last_phase)  # (--keep-data, or nothing written)

    def _before(self, phase) -> None:
        self.steps.update({step.id: step for step in phase.steps})
        if self.views is not None:
            self.views.steps.update({step.id: step for step in phase.steps})
        skipped = self.control.why_skipped(phase)
        if skipped == "interrupted":  # Ctrl-C, a signal: straight on to the cleanup, as without the walkthrough
            self.stopped = True
        if self.views is not None and self.last_phase is not None and not self.stopped:
            self.views.after_phase(self.last_phase)
        self.last_phase, self.cleaned_up = phase.id, phase.cleans_up
        if self.views is not None and phase.changes_registry and not self.stopped:
            self.views.remember_before()
        if self.options.pause is None or self.stopped or skipped:  # nothing to wait for
            return
        c = self.console  # on a terminal each line wraps between words, under the words it continues
        c.print(Text(""))
        words(c, Text(f"▶ Next: phase {phase.id} · {phase.name}", style="bold magenta"), indent=2)
        words(c, Text(phase.proves))
        words(c, Text("It sends:", style="dim"))
        rows = sends_lines(phase)
        wide = max((len(who) for who, _ in rows), default=0)
        for who, what in rows:
            hanging(c, Text(f"  {who:<{wide}}  ", style="dim"), Text(what, style="dim"))
        prompt = "[Enter] run cleanup (it always runs) " if phase.cleans_up else "[Enter] run this phase · q stop "
        said = self.options.pause(c, prompt, self.signals)
        if said == "stop" and not phase.cleans_up:
            self.stopped = True
            if self.ran:  # else the verdict says it in one line: nothing ran, nothing written
                words(c, Text(STOPPED.format(phase=phase.id), style="bold yellow"))
            self.control.stop()


class _Part(Reporter):
    def __init__(self, presenter: Presenter, events):
        self.presenter, self.events = presenter, events

    def phase_started(self, phase) -> None:
        if "phase_started" in self.events:
            self.presenter.phase_started(phase)

    def step_finished(self, result) -> None:
        if "step_finished" in self.events:
            self.presenter.step_finished(result)

    def run_finished(self, result) -> None:
        if "run_finished" in self.events:
            self.presenter.run_finished(result)


__all__ = [
    "Uncontrolled",
    "sends_lines",
    "Options",
    "options_from",
    "Presenter",
    "PromptPause",
    "REFUSED",
    "STOPPED",
    "TerminalPause",
]
