"""A diagnosis as data: a stable id (`ZE-AUTH-001`, in the manner of Django's system-check ids), whose move
the fix is (`whose`) and the hint itself. Tests and CI assert ids, never the prose.

A Diagnosis *is* its hint text (a str), so every step that raises `StepFailed(expected, actual, hint)` with a
plain string keeps working; `.format()` and `.replace()` keep the id. A hint that reaches the runner as a plain
string is identified by the catalogue text it contains (`identify`).
"""

from __future__ import annotations

from typing import Dict, Optional

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


def _fixed_parts(template: str):
    """The literal pieces of a template (between its {fields}), longest first."""
    import re

    parts = re.split(r"(?<!\{)\{[^{}]*\}(?!\})", template)
    return sorted((p.replace("{{", "{").replace("}}", "}") for p in parts if len(p) >= 12), key=len, reverse=True)


def identify(text: str) -> Optional[Diagnosis]:
    """The catalogue entry whose text a plain hint holds (earliest in the text wins), or None."""
    from . import diagnose  # noqa: F401 (the catalogue's entries are written there)

    best = None
    for entry in CATALOGUE.values():
        for part in _fixed_parts(entry)[:1]:
            at = text.find(part)
            if at >= 0 and (best is None or (at, -len(part)) < best[0]):
                best = ((at, -len(part)), entry)
    return best[1] if best else None


def describe(hint: str, config_error: bool = False, phase: int = 0) -> Optional[Dict[str, str]]:
    """`{id, whose, hint}` for a step's hint ('' -> None): its own id when it is a Diagnosis, else the catalogue
    entry its text holds, else unclassified. Whose, then: the settings when the step said so; the deployment in
    the preflight (phase 0); after it, what the Lambda did with the test world (the platform)."""
    if not hint:
        return None
    return _described(hint, config_error, phase)


def unhinted(config_error: bool = False, phase: int = 0) -> Dict[str, str]:
    """A failure whose step named no fix still says whose move it is (the check's expected/got say what)."""
    return {**_described(" ", config_error, phase), "hint": ""}


def _described(hint: str, config_error: bool, phase: int) -> Dict[str, str]:
    known = hint if isinstance(hint, Diagnosis) and hint.id != UNCLASSIFIED else identify(str(hint))
    if known is None:
        whose = SETTINGS if config_error else DEPLOYMENT if phase == 0 else PLATFORM
        return {"id": UNCLASSIFIED, "whose": whose, "hint": str(hint)}
    return {"id": known.id, "whose": known.whose, "hint": str(hint)}
