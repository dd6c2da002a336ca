"""What the plan's steps share: the run's Context, the archive keys they listed (ArchiveListing; the S3 state they
read is s3/customer_state.py's S3State), and Checks, which collects every broken expectation of a step before failing
it once.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..client import OnaClient, RawHttp
from ..config.settings import Settings
from ..core.diagnosis import Diagnosis, joined
from ..core.outcomes import Cleanup, StepFailed, StepSkipped, StepWarning
from ..s3.customer_state import S3State
from ..s3.store import Store, pool_thread_name
from .seed_data import SeedData


@dataclasses.dataclass
class ArchiveListing:
    """The archive keys (customer_tailored/{C}/archived/) as last listed. `stale`: the API was asked to promote
    or roll back since, so it may have written archives not seen yet (only a new listing can name them)."""

    keys: list[str] = dataclasses.field(default_factory=list)
    stale: bool = False

    def listed(self, keys: list[str]) -> None:
        self.keys, self.stale = list(keys), False

    def known(self) -> list[str]:
        """The keys, when no promote/rollback happened since they were listed; else none."""
        return [] if self.stale else list(self.keys)


@dataclasses.dataclass
class Context:
    """Everything the steps share. Steps of one wave touch disjoint fields.

    What the run is given:
      settings, client (ZororaClient | DirectClient), raw (RawHttp, below the command layer), store_factory
      (the S3 client, made once on first use: `store`), world (the test customer's keys and documents).
    What the steps learn, in plan order:
      preflight              0.1's RawResponse, reused by 0.2
      probe_pending          0.4's probe object (the run's claim on its customer id) may exist
      probe_refused          ... or S3 refused it (the credentials, the bucket): nothing was written
      claimed, claim_etag    ... this run wrote it (its ETag: an object at that key with another is another run's)
      claim_lost             another run holds the customer id (0.4 fails; nothing else is written or judged)
      claim_settled          set when 0.4's claim has its answer (0.5 lists the prefixes after it)
      prefixes_proven_empty  0.5 listed the customer's prefixes after its probes: empty
      owns_prefixes          1.1 (or 0.5, for a fresh customer) proved them this run's: cleanup may delete there
      wrote                  phase 1 (or a server accepting 0.5's probes) may have written under them
      written                keys written (or tried: a timeout may still have written them), named for cleanup
      archives               the archive keys as last listed, and whether a promote/rollback happened since
      audit_after_promote    ml-audit-log's answer (or its StepFailed), asked by 3.1 and judged by 3.2
      snapshot               3.3's S3State: the "before" picture of phase 4's side-effect check (4.5)
      gate_written           phase 4's setup added the challenger that fails its gates
      gate_error             ... or why it could not (4.6 fails with it)
      bucket_versioning()    the bucket's versioning, asked once (0.4), for the cleanup
      keeps_versions()       ... as it answered, without asking (0.4 left a version of its probe)
      cleanup_listing        the run's prefixes as 4.5 listed them (the plan's last wave), for 5.1; None: list
      cleanup                what phase 5 deleted, and what may be left (results.Cleanup)
      cleanup_cause          what refused 5.1's deletes (a Diagnosis): 5.2 names it for what is left
      readiness              --for: the readiness phase's ReadinessState (plan/readiness/phase.py)
    """

    settings: Settings
    client: OnaClient  # ZororaClient | DirectClient
    raw: RawHttp
    store_factory: Callable[[], Store]
    world: SeedData
    preflight: Any = None
    owns_prefixes: bool = False
    wrote: bool = False
    probe_pending: bool = False
    probe_refused: bool = False
    claimed: bool = False
    claim_etag: str = ""
    claim_lost: bool = False
    claim_error: str | None = None  # the S3 code that stopped 0.4's claim (None: none did)
    claim_settled: threading.Event = dataclasses.field(default_factory=threading.Event)
    prefixes_proven_empty: bool = False
    gate_written: bool = False
    gate_error: StepFailed | StepSkipped | None = None
    gate_writes: threading.Event | None = None  # set when phase 4's setup writes (in the background) ended
    snapshot: S3State | None = None
    audit_after_promote: Any = None
    audit_retries: list[Any] = dataclasses.field(default_factory=list)  # the reads 3.1 retried for 3.2
    cleanup_listing: dict[str, list[str]] | None = None
    readiness: Any = None
    written: set = dataclasses.field(default_factory=set)
    archives: ArchiveListing = dataclasses.field(default_factory=lambda: ArchiveListing())
    cleanup: Cleanup = dataclasses.field(default_factory=Cleanup)
    cleanup_cause: Diagnosis | None = None
    # 0.1 and 0.5 run at once; each may need the other's answers to name one cause once (a wrong token, a
    # wrong stage): set when 0.1's answer (`preflight`) and 0.5's probe answers (`route_answers`) are in
    preflight_ready: threading.Event = dataclasses.field(default_factory=threading.Event)
    route_answers: dict[str, Any] | None = None
    # one cause, one finding: a later step names the step that already reported the cause
    metrics_missing: str | None = None  # the phase 2 step whose metrics lookup got the Lambda's 404
    accepted: dict[str, tuple] = dataclasses.field(default_factory=dict)  # phase 4 step -> reasons it sent
    # that the server accepted (the step failed for it; 4.5 does not count its traces again)
    routes_ready: threading.Event = dataclasses.field(default_factory=threading.Event)
    routes_started: threading.Event = dataclasses.field(default_factory=threading.Event)  # 0.5 runs (a Ctrl-C
    # may have kept it from starting: then 0.1 does not wait for it)
    strays_reported: bool = False  # 0.5 said the S3 endpoint ignores `prefix` (phase 5 does not repeat it)
    mutations: Any = None  # mutations.MutationLedger: promote/rollback requests that got no answer
    late_effects: set = dataclasses.field(default_factory=set)  # keys that appeared while the cleanup waited
    settled: bool = False  # the cleanup waited for unanswered mutations
    _store: Store | None = None
    _versioning: Any = ()  # () not asked yet; then Store.versioning()'s answer
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store

    def bucket_versioning(self) -> str | None:
        """The bucket's versioning ("Enabled", "Suspended", "", None: S3 would not say), asked once per run
        (0.4 asks beside its other requests; the cleanup reads it). Never raises."""
        if self._versioning == ():
            try:
                answer = self.store.versioning()
            except Exception:  # no S3 client for these settings: 0.4 says why
                answer = None
            self._versioning = answer
        return self._versioning

    def keeps_versions(self) -> bool:
        """The bucket keeps object versions (Enabled or Suspended), as bucket_versioning() was told; never asks
        S3: False when nothing asked yet."""
        return bool(self._versioning)

    def parallel(self, *calls: Callable[[], Any]) -> list[Any]:
        """Run independent calls at once; results in order; the first exception is raised."""
        with ThreadPoolExecutor(
            max_workers=len(calls), thread_name_prefix=pool_thread_name()
        ) as pool:  # each call in a
            futures = [pool.submit(contextvars.copy_context().run, c) for c in calls]  # copy of the step's context
            return [f.result() for f in futures]


class Checks:
    """Collects every broken expectation of a step, then fails once with all of them; without one, the
    step passes with a warning for each assumption the deployment does differently (`warn`)."""

    def __init__(self, hint: Diagnosis | None = None):
        self.failures: list[tuple] = []
        self.warnings: list[tuple] = []
        self.hint = hint  # the step's diagnosis for a broken expectation that names none of its own

    def warn(self, expected: str, actual: Any, hint: Diagnosis | None = None) -> None:
        """Not a failure: the deployment differs from what the sandbox assumes (name the assumption)."""
        self.warnings.append((expected, as_text(actual), hint))

    def that(self, ok: bool, expected: str, actual: Any, hint: Diagnosis | None = None) -> bool:
        if not ok:
            self.failures.append((expected, as_text(actual), hint))
        return ok

    def equal(self, label: str, actual: Any, expected: Any, hint: Diagnosis | None = None) -> bool:
        return self.that(actual == expected, f"{label} == {expected!r}", f"{label} = {actual!r}", hint)

    def done(self, detail: str = "") -> str:
        if self.failures:
            expected = "; ".join(f[0] for f in self.failures)
            actual = "; ".join(f[1] for f in self.failures)
            raise StepFailed(expected, actual, next((f[2] for f in self.failures if f[2]), self.hint))
        if self.warnings:
            expected = "; ".join(w[0] for w in self.warnings)
            actual = "; ".join(w[1] for w in self.warnings)
            raise StepWarning(
                expected,
                f"{detail}; but {actual}" if detail else actual,
                joined(w[2] for w in self.warnings) or self.hint,
            )
        return detail


def as_text(value: Any) -> str:
    """As text. Never cut here: the runner redacts secrets first and cuts after, so that a token cut in
    half can never slip past the redaction."""
    return value if isinstance(value, str) else json.dumps(value, default=str)
