"""A diagnosis as data: a stable id (`ZE-AUTH-001`, in the manner of Django's system-check ids), whose move
the fix is (`whose`) and the hint itself. Tests and CI assert ids, never the prose.

A Diagnosis *is* its hint text (a str), so every step that raises `StepFailed(expected, actual, hint)` with a
plain string keeps working; `.format()` and `.replace()` keep the id. A hint that reaches the runner as a plain
string is identified by the catalogue text it contains (`identify`).
"""

from __future__ import annotations

from typing import Dict

SETTINGS = "settings"  # the engineer's own settings: token, URL (stage, API id), region, bucket, AWS credentials
DEPLOYMENT = "deployment"  # the infrastructure: API Gateway routes, the Lambda's environment, IAM, bucket policy
PLATFORM = "platform"  # the platform's code: what the Lambda does with a request it received
VALIDATOR = "validator"  # a bug in zorora-e2e itself

WHOSE_WORDS = {SETTINGS: "your settings", DEPLOYMENT: "the deployment", PLATFORM: "the platform's Lambda code",
               VALIDATOR: "zorora-e2e itself"}

UNCLASSIFIED = "ZE-CHECK-000"  # a step's own hint, in no catalogue entry


class Diagnosis(str):
    """A hint with its id and whose move it is."""

    id: str
    whose: str

    def __new__(cls, text: str, id: str = UNCLASSIFIED, whose: str = DEPLOYMENT):
        self = super().__new__(cls, text)
        self.id, self.whose = id, whose
        return self

    def _same(self, text: str) -> "Diagnosis":
        return Diagnosis(text, self.id, self.whose)

    def format(self, *args, **kwargs) -> "Diagnosis":
        return self._same(str.format(self, *args, **kwargs))

    def replace(self, old: str, new: str, count: int = -1) -> "Diagnosis":
        return self._same(str.replace(self, old, new, count))

    def __add__(self, other: str) -> "Diagnosis":
        return self._same(str(self) + other)

    def __reduce__(self):
        return (Diagnosis, (str(self), self.id, self.whose))


CATALOGUE: Dict[str, Diagnosis] = {}  # id -> the diagnosis as written (a template where it has {fields})


def register(id: str, whose: str, text: str) -> Diagnosis:
    assert id not in CATALOGUE, id
    assert whose in WHOSE_WORDS, whose
    CATALOGUE[id] = Diagnosis(text, id, whose)
    return CATALOGUE[id]


def diagnosis_id(step) -> str:
    """The step's diagnosis id, when the results carry one (`diagnosis` {id, whose, hint}, or an id)."""
    for name in ("diagnosis_id", "diagnosis"):
        value = getattr(step, name, None)
        if isinstance(value, dict):
            value = value.get("id")
        elif value is not None and not isinstance(value, str):
            value = getattr(value, "id", None)
        if value:
            return str(value)
    return ""
