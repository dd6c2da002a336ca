"""What is in S3 at the moments a presenter wants to show (walkthrough.Presenter calls these): the test
world as a tree after phase 1, the registry before -> after, the archive and the audit events after 3.1 and
3.3, what phase 4 refused and proof that nothing changed, the empty prefixes after phase 5.

Reads go through the run's Store; a read that fails is shown as such and never fails the run. Everything
read from S3 or the API reaches the console as rich Text (never markup), redacted with the run's redactor.

Ids are never split: on a terminal a before → after pair that does not fit the width goes on two lines, and
the audit table turns into one block per event when its columns would have to cut a model id or an actor;
piped (CI, `| tee`), nothing is wrapped at all: every line is written whole, like the step lines.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..console.lines import hanging, words
from ..console.terminal import line_width
from ..core.outcomes import FAIL, PASS, SKIP, WARN
from ..core.redact import neutralise
from ..s3.customer_state import S3State

ENTRY_FIELDS = ("model_id", "promoted_at", "promoted_by", "status", "trained_at", "evaluated_at")
PHASE_4 = ("4.1", "4.2", "4.3", "4.4", "4.6")
UNLIMITED = 100_000  # the width tables are laid out in when nothing is wrapped (piped output)


def _size(n: Any) -> str:
    try:
        n = int(n)
    except (TypeError, ValueError):
        return "?"
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"


def _request(declared: str) -> str:
    """A declared request without its note when the note is long: "GET /challengers"."""
    head, _, note = declared.partition(" (")
    return declared if len(note) <= 24 else head


class StateViews:
    def __init__(self, console, *, world, open_store: Callable, redact: Callable[[str], str]):
        self.console, self.world, self.open_store, self.redact = console, world, open_store, redact
        self.before: S3State | None = None  # the registry as last shown (3.1's "before", then 3.3's)
        self.after_3_3: S3State | None = None
        self.results: dict[str, Any] = {}
        self.steps: dict[str, Any] = {}  # the plan's Steps by id (what each sends), as the phases start

    @property
    def limit(self) -> int | None:
        """The width lines must fit in: the terminal's; None (no wrapping at all) when piped."""
        return line_width(self.console)

    # -- helpers -------------------------------------------------------------------------------
    def text(self, value: Any, style: str = "", short: bool = True) -> Text:
        """Outside text as rich Text: redacted, neutralised; the customer id shortened to {C}, as the step
        lines do."""
        value = self.redact(str(value))
        if short:
            value = value.replace(self.world.customer_id, "{C}")
        return Text(neutralise(value), style=style)

    def _print(self, renderable) -> None:
        if self.limit is None:  # piped: whole lines, never wrapped
            if isinstance(renderable, Text):
                self.console.print(renderable, highlight=False, soft_wrap=True)
            else:  # a table laid out at its natural width, then written line by line
                options = self.console.options.update(width=UNLIMITED, max_width=UNLIMITED, no_wrap=False)
                for segments in self.console.render_lines(renderable, options, pad=False):
                    line = Text()
                    for segment in segments:
                        if not segment.control:
                            line.append(segment.text, style=segment.style)
                    line.rstrip()
                    self.console.print(line, highlight=False, soft_wrap=True)
            return
        if isinstance(renderable, Text):  # between words, under the words it continues (a table wraps in its cells)
            words(self.console, renderable, indent=2)
            return
        self.console.print(renderable, highlight=False)

    def _fits(self, width: int) -> bool:
        return self.limit is None or width <= self.limit

    def _title(self, title: str) -> None:
        self._print(Text(""))
        self._print(Text(f"◆ {title}", style="bold blue"))

    def _read(self) -> S3State | None:
        try:
            return S3State.read(self.open_store(), self.world)
        except Exception as exc:  # a view never fails the run
            self._print(self.text(f"  (could not read S3 for this view: {exc})", "dim"))
            return None

    # -- the moments ---------------------------------------------------------------------------
    def record(self, result) -> None:
        self.results[result.id] = result

    def remember_before(self) -> None:
        self.before = self._read()

    def after_phase(self, phase: int) -> None:
        if phase == 1 and self.results.get("1.2") is not None:
            self.world_tree("The test world in S3 (after phase 1; {C} = the customer id)")
        elif phase == 4 and any(self.results.get(i) is not None and self.results[i].status != SKIP for i in PHASE_4):
            self.refusals()

    def after_step(self, result) -> None:
        self.record(result)
        if result.status == SKIP:
            return
        after = self._read()
        if after is None:
            return
        what = "ml-promote" if result.id == "3.1" else "ml-rollback"
        self._title(f"Registry before → after {what} (step {result.id}; {{C}} = {self.world.customer_id})")
        self.registry_diff(self.before, after)
        self.archive(after)
        self.audit(after.events)
        self.before = after
        if result.id == "3.3":
            self.after_3_3 = after

    def after_cleanup(self, run_result) -> None:
        self.world_tree("The test customer's prefixes after cleanup (phase 5)")

    # -- the views -----------------------------------------------------------------------------
    def world_tree(self, title: str) -> None:
        w = self.world
        try:
            store = self.open_store()
            listing = {p: store.list_objects(p) for p in w.prefixes}
        except Exception as exc:
            self._print(self.text(f"  (could not list S3 for this view: {exc})", "dim"))
            return
        self._title(title)
        tree = Tree(self.text(f"s3://{w.bucket}/", "bold", short=False))
        for prefix, objects in listing.items():
            branch = tree.add(self.text(prefix, "cyan", short=False))
            if not objects:
                branch.add(Text("(empty)", style="green"))
            for obj in objects:
                key = str(obj.get("Key", ""))
                label = self.text(key[len(prefix) :] if key.startswith(prefix) else key)
                label.append(f"  {_size(obj.get('Size'))}", style="dim")
                branch.add(label)
        self._print(tree)

    def registry_diff(self, before: S3State | None, after: S3State) -> None:
        old = (before.registry if before else {}) or {}
        new = after.registry or {}
        rows = []  # (entry, field, before, after)

        def entry_rows(label: str, a: dict, b: dict) -> None:
            for field in ENTRY_FIELDS:
                x, y = (a or {}).get(field), (b or {}).get(field)
                if x is None and y is None:
                    continue
                rows.append((label, field, "—" if x is None else x, "—" if y is None else y))
                label = ""

        entry_rows("production", old.get("production") or {}, new.get("production") or {})
        olds = {c.get("model_id"): c for c in old.get("challengers") or [] if isinstance(c, dict)}
        news = {c.get("model_id"): c for c in new.get("challengers") or [] if isinstance(c, dict)}
        for model in list(olds) + [m for m in news if m not in olds]:
            x, y = olds.get(model), news.get(model)
            if x is not None and y is not None:
                entry_rows("challenger", x, y)
            else:
                rows.append(("challenger", "model_id", model if x else "—", model if y else "— (removed)"))
        if not rows:
            self._print(Text("  (registry empty)", style="dim"))
            return
        self._print(Text(f"{'':<12}{'field':<14}before → after", style="bold"))
        for label, field, was, is_now in rows:
            self._pair(label, field, was, is_now)

    def _pair(self, label: str, field: str, before: Any, after: Any) -> None:
        """One field, before → after; on two lines when one would not fit the terminal (never a split id)."""
        changed = before != after
        head = Text(f"{label:<12}", style="bold")
        head.append(f"{field:<14}")
        old = self.text(before, "red" if changed else "dim")
        mark = Text(" → " if changed else " = ", style="yellow" if changed else "dim")
        new = self.text(after, "green" if changed else "dim")
        line = head + old + mark + new
        if self._fits(line.cell_len):
            self._print(line)
            return
        self._print(head + old)
        self._print(Text(" " * (head.cell_len - 3)) + Text(mark.plain.strip() + "  ", style=mark.style) + new)

    def archive(self, snap: S3State) -> None:
        objects = snap.archive_objects or []
        self._print(self.text(f"Archive ({self.world.archive_prefix}): {len(objects)} object(s)", "bold"))
        for obj in objects:
            key = str(obj.get("Key", ""))
            line = self.text(
                f"  …/archived/{key[len(self.world.archive_prefix) :]}"
                if key.startswith(self.world.archive_prefix)
                else f"  {key}"
            )
            line.append(f"  {_size(obj.get('Size'))}", style="dim")
            self._print(line)

    def audit(self, events: list[dict]) -> None:
        self._print(Text(f"Audit log: {len(events)} event(s)", style="bold"))
        if not events:
            return
        keys = ("timestamp", "actor", "action", "model_id", "reason")
        rows = [[self.text((e if isinstance(e, dict) else {}).get(k, "")) for k in keys] for e in events]
        whole = [
            max([len(h)] + [row[i].cell_len for row in rows])
            for i, h in enumerate(("time", "actor", "action", "model"))
        ]
        if self._fits(sum(whole) + 2 * 4 + 12):  # a table whose id columns are whole, the reason wrapping at words
            table = Table(title=None, box=None, pad_edge=False, header_style="bold")
            for column in ("time", "actor", "action", "model"):
                table.add_column(column, no_wrap=True)
            table.add_column("reason", overflow="fold", min_width=12)
            for row in rows:
                table.add_row(*row)
            self._print(table)
            return
        for time_, actor, action, model, reason in rows:  # narrow: one block per event
            self._print(Text("  ") + Text(action.plain, style="bold") + Text("  ") + time_ + Text("  by ") + actor)
            hanging(self.console, Text("    model   ", style="dim"), model)  # wrapped under itself
            hanging(self.console, Text("    reason  ", style="dim"), reason)

    def refusals(self) -> None:
        self._title("Phase 4: what was refused")
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("step", no_wrap=True)
        table.add_column("sent", overflow="fold", min_width=14)
        table.add_column("outcome", no_wrap=True)
        table.add_column("answer", overflow="fold", min_width=16)
        for step_id in PHASE_4:
            r = self.results.get(step_id)
            if r is None:
                continue
            ok = r.status in (PASS, WARN)
            step = self.steps.get(step_id)
            sent = (
                ", ".join(_request(item) for item in step.sends)
                if step is not None and step.sends
                else "nothing"
                if step is not None
                else ""
            )
            table.add_row(
                self.text(r.id),
                self.text(sent),
                Text(
                    "refused" if ok else ("NOT refused" if r.status == FAIL else r.status),
                    style="green" if ok else "bold red",
                ),
                self.text(r.actual or r.expected or ""),
            )
        self._print(table)
        now = self._read()
        if now is None or self.after_3_3 is None:
            return
        self._print(Text("Proof nothing changed (S3 after the rollback → now):", style="bold"))
        gate = self.world.gate_challenger_model_id
        then = dataclasses.replace(self.after_3_3, registry=dict(self.after_3_3.registry))
        now_reg = dict(now.registry)
        now_reg["challengers"] = [
            c for c in now_reg.get("challengers") or [] if not (isinstance(c, dict) and c.get("model_id") == gate)
        ]
        same_registry = now_reg == then.registry
        same_audit = now.events == then.events
        for ok, what in (
            (
                same_registry,
                "registry unchanged (apart from the gate-failing challenger the test wrote itself for 4.6)",
            ),
            (same_audit, f"audit log unchanged: {len(now.events)} event(s)"),
            (
                len(now.archives or []) == len(then.archives or []),  # S3State.read lists them
                f"archive unchanged: {len(now.archives or [])} object(s)",
            ),
        ):
            self._print(Text(f"  {'✓' if ok else '✗'} {what}", style="green" if ok else "bold red"))
        if not same_registry:
            self.registry_diff(then, dataclasses.replace(now, registry=now_reg))


__all__ = ["StateViews"]
