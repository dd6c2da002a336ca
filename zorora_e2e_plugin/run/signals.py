"""How a run learns that it should stop: SIGINT (Ctrl-C), SIGTERM (`timeout`, a CI cancel, `docker stop`)
and SIGHUP (the terminal closed) all end a run the same way.

One `SignalGuard` per process at a time. Its handler first *records* the signal, and only then, while the
guard is `raising`, raises `RunInterrupted` (a KeyboardInterrupt) in the main thread. A recorded signal is
never lost: Python drops an exception raised inside a weakref callback or a `__del__` ("Exception ignored
in: <WeakSet ...>"), so the runner also polls `received` (and the guard keeps that printout, with its
traceback, off stderr). Cleanup and everything after the proof that the
prefixes are empty run with `raising` off: a signal there is recorded, and changes only the exit code.

Signals the process ignores (`nohup`, a shell's `&`) stay ignored; handlers not set from Python are left
alone. Only the main thread can install handlers; elsewhere there is no guard (and no signal to take).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, Callable, Optional, Union

HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class RunInterrupted(KeyboardInterrupt):
    """A handled signal, delivered as the KeyboardInterrupt every layer already knows how to end on."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# what signal.getsignal() gives back and signal.signal() takes (None: a handler not set from Python)
_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]


class SignalGuard:
    def __init__(self) -> None:
        self.received: list[int] = []
        self.raising = True
        self._saved: dict[int, _Handler] = {}
        self._installed = False
        self._unraisable: Callable[[sys.UnraisableHookArgs], Any] | None = None  # the hook before install()

    # -- lifetime ----------------------------------------------------------------------------
    def install(self) -> SignalGuard:
        global _active
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in HANDLED:
            previous = signal.getsignal(signum)
            if previous is None or previous == signal.SIG_IGN:
                continue  # not set from Python (cannot be restored), or deliberately ignored
            self._saved[signum] = previous
            signal.signal(signum, self._handle)
        self._installed = True
        self._unraisable = sys.unraisablehook
        sys.unraisablehook = self._quiet_unraisable
        _active = self
        return self

    def _quiet_unraisable(self, unraisable: sys.UnraisableHookArgs) -> None:
        """A signal landing in a weakref callback or a `__del__` (garbage collected in the main thread): Python
        drops the RunInterrupted raised there and prints "Exception ignored in ..." with a traceback. It was
        recorded first and the runner polls `received`, so nothing is lost: only the printout is left out.
        Anything else goes to the hook that was there before."""
        if isinstance(unraisable.exc_value, RunInterrupted):
            return
        (self._unraisable or sys.__unraisablehook__)(unraisable)

    def restore(self) -> None:
        """Put the host's handlers back (the REPL's own Ctrl-C handling, for one)."""
        global _active
        if not self._installed:
            return
        for signum, previous in self._saved.items():
            try:
                signal.signal(signum, previous)
            except (TypeError, ValueError):
                pass
        self._saved.clear()
        self._installed = False
        if sys.unraisablehook == self._quiet_unraisable:  # another hook set since is left in place
            sys.unraisablehook = self._unraisable or sys.__unraisablehook__
        if _active is self:
            _active = None

    # -- the handler -------------------------------------------------------------------------
    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.raising:
            raise RunInterrupted(signum)

    @property
    def first(self) -> int | None:
        return self.received[0] if self.received else None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No exception while the body runs; a signal that arrived meanwhile is raised afterwards (when the
        guard is raising). For Thread.start(): interrupted inside it, a thread may or may not be running."""
        before, raising = len(self.received), self.raising
        self.raising = False
        try:
            yield
        finally:
            self.raising = raising
        if raising and len(self.received) > before:
            raise RunInterrupted(self.received[before])

    def redeliver(self) -> None:
        """After restore(), in a host (the REPL): a SIGTERM or SIGHUP asked the whole process to end, not
        just the run. The run has cleaned up; now the host's own handler gets the signal. Ctrl-C only ever
        meant the run."""
        for signum in self.received:
            if signum != signal.SIGINT:
                signal.raise_signal(signum)
                return

    def stop_raising(self) -> None:
        self.raising = False


_active: SignalGuard | None = None


@contextlib.contextmanager
def guard() -> Iterator[SignalGuard]:
    """The active guard, or a new one installed for the body and restored afterwards."""
    existing = _active
    if existing is not None and threading.current_thread() is threading.main_thread():
        yield existing
        return
    new = SignalGuard().install()
    try:
        yield new
    finally:
        new.restore()
        new.redeliver()


def uninterrupted(action: Callable[[], None], signals: SignalGuard | None = None) -> None:
    """Run `action` as one step as far as signals are concerned: a Ctrl-C/SIGTERM that arrives meanwhile is held
    and delivered afterwards (interrupted inside Thread.start(), a thread may or may not be running, and starting
    it again crashes in threading). Without a guard (a Runner used on its own), SIGINT alone is held."""
    if signals is not None and threading.current_thread() is threading.main_thread():
        with signals.held():
            action()
        return
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        action()  # Ctrl-C only ever lands in the main thread; None: a handler not set from Python, left alone
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        action()
    finally:
        signal.signal(signal.SIGINT, previous)
    if held and callable(previous):
        previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt here
