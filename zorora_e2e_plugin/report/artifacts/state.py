"""The state views' data for the HTML report (what `--show-state` shows on the console, as data): the test
world in S3 after phase 1, the registry, archive and audit events before and after 3.1 and 3.3, what phase 4
refused, and the prefixes after the cleanup. A Reporter that reads S3 through the run's store at those
moments (from the main thread, between steps: never inside a step's time); a read that fails is kept as a
note and never fails the run. Only watching when --html is asked for.
"""

from __future__ import annotations

from typing import Any, Callable

from ...core.outcomes import SKIP
from ...core.steps import Reporter
from ...s3.customer_state import S3State
from ..state_views import ENTRY_FIELDS, PHASE_4

WATCHED = ("3.1", "3.3")


class StateCollector(Reporter):
    def __init__(self, world, open_store: Callable):
        self.world, self.open_store = world, open_store
        self.trees: list[dict] = []  # {"title", "listing": {prefix: [{Key, Size}]}} or {"title", "error"}
        self.changes: list[dict] = []  # {"step", "before": S3State|None, "after": S3State|None, "error"}
        self.results: dict[str, Any] = {}
        self._before: dict[str, S3State | None] = {}
        self._after_setup = False

    def _snapshot(self) -> S3State:
        return S3State.read(self.open_store(), self.world)

    def _tree(self, title: str) -> None:
        try:
            store = self.open_store()
            self.trees.append({"title": title, "listing": {p: store.list_objects(p) for p in self.world.prefixes}})
        except Exception as exc:
            self.trees.append({"title": title, "error": f"could not list S3: {exc}"})

    # -- Reporter ------------------------------------------------------------------------------------
    def phase_started(self, phase) -> None:
        if (
            phase.id > 1
            and not self._after_setup
            and self.results.get("1.2") is not None
            and self.results["1.2"].status != SKIP
        ):
            self._after_setup = True
            self._tree("The test world in S3 after phase 1")

    def step_started(self, step) -> None:
        if step.id in WATCHED:
            try:
                self._before[step.id] = self._snapshot()
            except Exception:
                self._before[step.id] = None

    def step_finished(self, result) -> None:
        self.results[result.id] = result
        if result.id in WATCHED and result.status != SKIP:
            change = {
                "step": result.id,
                "title": result.title,
                "before": self._before.get(result.id),
                "after": None,
                "error": "",
            }
            try:
                change["after"] = self._snapshot()
            except Exception as exc:
                change["error"] = f"could not read S3: {exc}"
            self.changes.append(change)
        if result.id == "5.2":
            self._tree("The test customer's prefixes after the cleanup (phase 5)")

    def refusals(self) -> list[Any]:
        """Phase 4's steps that ran: what each sent and whether it was refused."""
        return [self.results[i] for i in PHASE_4 if i in self.results and self.results[i].status != SKIP]


def registry_rows(before: S3State | None, after: S3State | None) -> list[tuple]:
    """(entry, field, before, after) for every field either side has, production first."""
    old = (before.registry if before else {}) or {}
    new = (after.registry if after else {}) or {}
    rows = []

    def entry(label: str, a: dict, b: dict) -> None:
        for field in ENTRY_FIELDS:
            x, y = (a or {}).get(field), (b or {}).get(field)
            if x is not None or y is not None:
                rows.append((label, field, x, y))

    entry("production", old.get("production") or {}, new.get("production") or {})
    olds = {c.get("model_id"): c for c in old.get("challengers") or [] if isinstance(c, dict)}
    news = {c.get("model_id"): c for c in new.get("challengers") or [] if isinstance(c, dict)}
    for model in list(olds) + [m for m in news if m not in olds]:
        entry("challenger", olds.get(model) or {}, news.get(model) or {})
    return rows


__all__ = ["StateCollector", "registry_rows"]
