"""One step run in a daemon thread, so that the main thread can always take Ctrl-C: whatever the step does (a
pass, a StepOutcome, an unexpected error) ends as one plain StepResult, redacted and clipped.

`waiting_on(thread)`: which request a step's thread is waiting on right now, read from its stack (no client
needs to report it): the deadline's hint names the request that hung (`GET /prod/api/v1/challengers`,
`S3 ListObjectsV2 ...`).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Callable
from urllib.parse import urlencode, urlsplit

from ..config.faces import CLI
from ..core import catalogue
from ..core.diagnosis import Diagnosis, describe
from ..core.outcomes import FAIL, PASS, WARN, StepOutcome, StepResult
from ..core.steps import Step

FIELD_LIMIT = 600
TRACEBACK_LIMIT = 8000  # the traceback of an unexpected error: --json and --debug only


def clip(text: str, limit: int = FIELD_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _tail(text: str, limit: int) -> str:
    """The end of a (redacted) traceback: the innermost frames are the ones that matter."""
    return text if len(text) <= limit else "…" + text[-limit:]


class StepWorker(threading.Thread):
    """A daemon thread running one step, so that the main thread can always take Ctrl-C."""

    def __init__(
        self,
        step: Step,
        ctx: object,
        redact: Callable[[str], str],
        phase: int,
        reword: Callable[[Diagnosis], str] = CLI.hint,
    ) -> None:
        super().__init__(daemon=True, name=f"zorora-e2e-step-{step.id}")
        self.step, self.ctx, self.redact, self.phase, self.reword = step, ctx, redact, phase, reword
        self.result: StepResult | None = None
        self.started = time.monotonic()
        self.ended: float | None = None  # monotonic time its step returned
        self.done = threading.Event()  # set once `result` is final; waited on instead of join()/is_alive()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.ended = time.monotonic()
            self.done.set()

    def wait(self, timeout: float) -> bool:
        """Not Thread.join(): on CPython 3.11 a Ctrl-C inside join() can mark a thread that is still
        running as finished (is_alive() False, no result yet). The event's wait is safe to interrupt, and it
        returns as the step ends (a 2 ms sleep loop woke up to 2 ms late at every wave's end)."""
        return self.done.wait(max(0.0, timeout))

    def _run(self) -> None:
        started = self.started
        status, expected, actual, config_error, where = PASS, "", "", False, ""
        diagnosis: Diagnosis | None = None
        try:
            detail = self.step.fn(self.ctx)
            actual = "" if detail is None else str(detail)
        except StepOutcome as exc:
            status, expected, actual, diagnosis = exc.status, exc.expected, exc.actual, exc.hint
            config_error = exc.config_error
            if status == FAIL and not self.step.critical:
                status = WARN
        except BaseException as exc:  # a bug or an unexpected answer: still a result, never a traceback
            status, actual = FAIL, f"{type(exc).__name__}: {exc}"
            diagnosis = catalogue.INTERNAL
            where = traceback.format_exc()

        def clean(text: str) -> str:  # redact first, then cut: a cut token would slip past the redaction
            return clip(self.redact(text))

        if diagnosis is None and status in (FAIL, WARN):  # every failing or warning step names a cause: one
            diagnosis = catalogue.UNNAMED  # without is a gap in the validator, said as such
        # the hint in the words of the face the run came from (config/faces.py), as it is redacted
        hint = clean(self.reword(diagnosis)) if diagnosis is not None else ""
        known = describe(diagnosis, hint)

        self.result = StepResult(
            id=self.step.id,
            phase=self.phase,
            title=self.step.title,
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            expected=clean(expected),
            actual=clean(actual),
            hint=hint,
            config_error=config_error and status == FAIL,
            traceback=_tail(self.redact(where), TRACEBACK_LIMIT),
            diagnosis=known,
        )


def waiting_on(thread: threading.Thread) -> str | None:
    """The request `thread` is inside now (the outermost HTTP or S3 call on its stack), None when none."""
    frame = sys._current_frames().get(thread.ident) if thread.ident is not None else None
    found = None
    while frame is not None:  # innermost first: keep the outermost match
        code, local = frame.f_code, frame.f_locals
        if code.co_name == "_make_api_call" and "operation_name" in local:
            params = local.get("api_params") or {}
            what = params.get("Key") or params.get("Prefix") or ""
            found = f"S3 {local['operation_name']}" + (f" {what}" if what else "")
        elif code.co_name == "request" and code.co_filename.endswith(("requests/sessions.py", "requests\\sessions.py")):
            parts = urlsplit(str(local.get("url") or ""))
            params = local.get("params")
            query = parts.query or (urlencode(params) if isinstance(params, dict) else "")
            found = f"{str(local.get('method', '')).upper()} {parts.path}" + (f"?{query}" if query else "")
        frame = frame.f_back
    return found


# ALL: __all__ = ["StepWorker", "clip", "FIELD_LIMIT"]
