"""The line that moves while a step runs: one line per running step with a spinner and its elapsed time,
redrawn in place under the report and erased when the step's result line is printed.

Only on a terminal (`terminal.can_redraw`: not a dumb one): piped, in CI or through `| tee`, nothing of this
is ever drawn and no control code is written. Everything printed on the same console while it runs (result
lines, notices, request-log lines from the sandbox's threads) goes above it through rich's Live: nothing
tears the line.

It must never leave the console broken (the REPL's console lives on after the run): `stop()` always ends
the rich Live and its ticker, swallows a dead stdout, and may be called any number of times from anywhere.
The ticker is our own daemon thread (not rich's), so that a write error ends it quietly instead of printing
a thread traceback.
"""

from __future__ import annotations

import threading
import time

from rich.text import Text

from ..console.terminal import can_redraw
from ..core.durations import duration_text
from ..core.redact import neutralise

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
TICK = 0.1  # seconds between redraws: the spinner turns, the elapsed time counts


class _Running:
    """The renderable: one line per running step, in the order they started (nothing when none runs)."""

    def __init__(self, view: LiveSteps):
        self.view = view

    def __rich_console__(self, console, options):
        now = time.monotonic()
        frame = FRAMES[int(now / TICK) % len(FRAMES)]
        running = list(self.view.running.items())
        for number, (step_id, (title, started)) in enumerate(running, 1):
            line = Text("  ", no_wrap=True, overflow="ellipsis", end="" if number == len(running) else "\n")
            line.append(frame, style="cyan")
            line.append(f" {step_id}  ")
            elapsed = f"  {duration_text(now - started)}"
            name = Text(neutralise(title))
            name.truncate(max(1, options.max_width - line.cell_len - len(elapsed)), overflow="ellipsis")
            line.append_text(name)
            line.append(elapsed, style="dim")
            line.truncate(options.max_width, overflow="ellipsis")
            yield line


class LiveSteps:
    """Shows which steps are running. `started`/`finished` as steps come and go (the Live runs only while a
    step does); `stop()` at a phase's end and always at the end of a run."""

    def __init__(self, console):
        self.console = console
        self.enabled = can_redraw(console)
        self.running: dict[str, tuple[str, float]] = {}
        self._lock = threading.RLock()
        self._live = None
        self._ticker: threading.Thread | None = None
        self._halt = threading.Event()
        self.broken = False  # the console failed once: never draw again

    def started(self, step_id: str, title: str) -> None:
        if not self.enabled or self.broken:
            return
        with self._lock:
            self.running[step_id] = (title, time.monotonic())
            if self._live is None:
                self._start()
            else:
                self._refresh()

    def finished(self, step_id: str) -> None:
        """A step is done. When none runs any more the Live ends: an idle Live would go on redrawing its
        (empty) line, and `\r\x1b[2K` every tick erases whatever is written after it without a newline (a
        walkthrough's pause prompt and the keys typed at it)."""
        with self._lock:
            self.running.pop(step_id, None)
            if not self.running:
                self._end_live()

    def _start(self) -> None:
        from rich.live import Live

        live = Live(
            _Running(self),
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live = live
        try:
            live.start(refresh=True)
        except (Exception, SystemExit):  # no terminal after all, a dead stdout: the run goes on without it
            self._broke()
            return
        self._halt = threading.Event()
        self._ticker = threading.Thread(target=self._tick, args=(live, self._halt), daemon=True, name="zorora-e2e-live")
        self._ticker.start()

    def _tick(self, live, halt: threading.Event) -> None:
        while not halt.wait(TICK):
            with self._lock:
                if halt.is_set() or self._live is not live:
                    return
                if not self._refresh():
                    return

    def _refresh(self) -> bool:
        try:
            assert self._live is not None  # called while drawing (a live line stopped already: _broke, as before)
            self._live.refresh()
            return True
        except (Exception, SystemExit):  # a closed stdout (OSError, ValueError, rich's SystemExit): stop drawing
            self._broke()
            return False

    def _broke(self) -> None:
        self.broken = True
        self._end_live()

    def stop(self) -> None:
        """Erase the running lines and end the Live (idempotent; never raises)."""
        with self._lock:
            self.running.clear()
            self._end_live()

    def _end_live(self) -> None:
        live, self._live = self._live, None
        self._halt.set()
        if live is None:
            return
        try:
            live.stop()
        except (Exception, SystemExit):  # the terminal went away: the console must still forget this Live
            self.broken = True
            _forget(self.console, live)


def _forget(console, live) -> None:
    """What Live.stop() does to the console, minus the writing: this Live off the console's stack of Lives and
    off its render hooks (and nothing else: a Live of the host's own stays)."""
    for name in ("_live_stack", "_render_hooks"):
        try:
            held = getattr(console, name, None)
            if held is not None and live in held:
                held.remove(live)
        except Exception:
            pass
