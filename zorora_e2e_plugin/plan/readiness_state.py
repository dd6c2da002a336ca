"""What the readiness phase (plan/readiness.py, `--for`) learns as its steps run (`ctx.readiness`), the answer
6.6 gives, and the --json readiness block made of them."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from ..readiness_gates import UNANSWERABLE, Answer, Gate
from ..readiness_target import ReadinessTarget


@dataclasses.dataclass
class ReadinessState:
    """What the readiness steps learned (ctx.readiness), and the answer 6.6 gave."""

    target: ReadinessTarget
    bucket: str
    now: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc))
    challenger: Optional[str] = None
    entry: Optional[Dict] = None
    others: List[Dict] = dataclasses.field(default_factory=list)
    listed: Optional[List[str]] = None  # the model ids ml-list-challengers answered
    registry: Optional[Dict] = None
    production: Optional[Dict] = None
    last_events: Dict[str, Dict] = dataclasses.field(default_factory=dict)  # "promote"/"rollback" -> event
    challenger_metrics: Any = None
    production_metrics: Any = None
    diff: Any = None
    diff_error: str = ""
    missing: Dict[str, str] = dataclasses.field(default_factory=dict)  # step id -> what could not be read
    gates: List[Gate] = dataclasses.field(default_factory=list)
    answer: Optional[Answer] = None

    @property
    def customer(self) -> str:
        return self.target.customer_id

    @property
    def registry_key(self) -> str:
        return f"customer_tailored/{self.customer}/latest_model.json"

    @property
    def audit_key(self) -> str:
        return f"audit_logs/{self.customer}/events.json"

    def first_missing(self) -> Optional[str]:
        for key in ("registry", "6.1", "6.3", "6.4", "6.5"):
            if key in self.missing:
                return self.missing[key]
        return None

    def block(self, redact=lambda text: text) -> Dict:
        """The --json readiness block, every text in it through the run's redactor (servers' answers included)."""
        return _redacted(self._block(), redact)

    def _block(self) -> Dict:
        ans = self.answer or Answer(UNANSWERABLE, f"⚠ not answerable for {self.customer}: the readiness phase "
                                                  "did not finish (see its steps)")
        return {
            "customer_id": self.customer, "challenger_id": self.challenger,
            "challenger_given": self.target.challenger_id is not None,
            "gates": [g.to_dict() for g in self.gates],
            "server_verdict": self.diff.get("verdict") if isinstance(self.diff, dict) else None,  # /diff's own
            "diff": self.diff if isinstance(self.diff, dict) else {"error": self.diff_error or None},
            "production": {k: (self.production or {}).get(k) for k in ("model_id", "promoted_at", "promoted_by")},
            "last_promotion": self.last_events.get("promote"), "last_rollback": self.last_events.get("rollback"),
            "other_challengers": self.others,
            "answer": {"kind": ans.kind, "line": ans.line, "command": ans.command}, "warnings": list(ans.warnings),
        }


def _redacted(value: Any, redact) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, redact) for v in value]
    return value


__all__ = ["ReadinessState"]
