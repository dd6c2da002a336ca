"""A diagnosis as data: a stable id (`ZE-AUTH-001`, in the manner of Django's system-check ids), whose move
the fix is (`whose`) and the hint's text. Tests and CI assert ids, never the prose.

The text is a template. What the two faces name differently (where the base URL is set, "then restart
Zorora", ...) is a slot, `{base_url}`, that a face fills when it shows the hint (`words`, config/faces.py's
`Face.hint`); what a run fills in (`fill`) and details added to it (`with_detail`, `with_lead`) are taken as
plain text, so a brace in a route or a key stays a brace. A Diagnosis is not a str: it is shown only through a
face.

Every diagnosis is a catalogue entry (core/catalogue.py): there is no catch-all id, and every failing or warning
step carries one, whose `whose` is true.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable, Mapping

from .text_enum import TextEnum


class Whose(TextEnum):
    """Whose move the fix is. Its value is the word in --json, JUnit and the history."""

    SETTINGS = "settings"  # the engineer's own settings: token, URL (stage, API id), region, bucket, AWS credentials
    DEPLOYMENT = "deployment"  # the infrastructure: API Gateway routes, the Lambda's environment, IAM, bucket policy
    PLATFORM = "platform"  # the platform's code: what the Lambda does with a request it received
    VALIDATOR = "validator"  # a bug in zorora-e2e itself
    MODEL = "model"  # the model's state: the challenger itself (re-evaluate or retrain it); nothing is broken


SETTINGS, DEPLOYMENT, PLATFORM, VALIDATOR = Whose.SETTINGS, Whose.DEPLOYMENT, Whose.PLATFORM, Whose.VALIDATOR
MODEL = Whose.MODEL

WHOSE_WORDS: dict[str, str] = {
    SETTINGS: "your settings",
    DEPLOYMENT: "the deployment",
    PLATFORM: "the platform's Lambda code",
    VALIDATOR: "zorora-e2e itself",
    MODEL: "the model's state",
}

# What a face names in its own words (config/faces.py gives each face a phrase for every one of them).
SLOTS = (
    "base_url",  # where the API's base URL is set
    "token_from_ssm",  # how the token read from SSM reaches the run
    "token_setting",  # where the token is set
    "region",  # where the bucket's region is set (the CLI: the flag and the variable)
    "region_flag",  # the same, where the CLI names only its flag
    "s3_endpoint",  # where the S3 endpoint is set (the CLI: the flag and the variable)
    "s3_endpoint_flag",  # the same, where the CLI names only its flag
)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class _Slot(str):
    """A slot met while filling: written back as it was, for the face."""


class _Filler(string.Formatter):
    """Fills a template's fields with plain text (escaped) and leaves the face's slots as they are."""

    def parse(self, format_string):
        for literal, field, spec, conversion in super().parse(format_string):
            yield _escape(literal), field, spec, conversion

    def get_value(self, key, args, kwargs):
        if key in SLOTS and key not in kwargs:
            return _Slot(key)
        return super().get_value(key, args, kwargs)

    def convert_field(self, value, conversion):
        return value if isinstance(value, _Slot) else super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        if isinstance(value, _Slot):
            return "{" + value + "}"
        return _escape(super().format_field(value, format_spec))


class _Phrases(dict):
    def __missing__(self, key: str) -> str:  # a field nobody filled: shown as the template has it
        return "{" + key + "}"


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """A hint with its id and whose move it is. `text` is a template (see the module's docstring)."""

    id: str
    whose: Whose
    text: str

    def fill(self, **fields) -> Diagnosis:
        """The same diagnosis with its {fields} filled in (as `str.format` would; the face's slots stay)."""
        return dataclasses.replace(self, text=_Filler().vformat(self.text, (), fields))

    def with_detail(self, detail: str) -> Diagnosis:
        """The same diagnosis, `detail` (plain text) appended."""
        return dataclasses.replace(self, text=self.text + _escape(detail)) if detail else self

    def with_lead(self, lead: str) -> Diagnosis:
        """The same diagnosis, `lead` (plain text) put before it."""
        return dataclasses.replace(self, text=_escape(lead) + self.text) if lead else self

    def words(self, phrases: Mapping[str, str]) -> str:
        """The hint as shown: each slot in the words `phrases` has for it (a face's)."""
        return self.text.format_map(_Phrases(phrases))

    def __format__(self, spec: str) -> str:
        raise TypeError(f"{self.id}: a diagnosis is shown through a face (Face.hint), not formatted as it is")


CATALOGUE: dict[str, Diagnosis] = {}  # id -> the diagnosis as written (a template where it has {fields})


def register(id: str, whose: Whose, text: str) -> Diagnosis:
    assert id not in CATALOGUE, id
    CATALOGUE[id] = Diagnosis(id, Whose(whose), text)
    return CATALOGUE[id]


def joined(hints: Iterable[Diagnosis | None], separator: str = " | ") -> Diagnosis | None:
    """Several hints as one (None for none): their texts in order; the id and whose of the first."""
    given = [hint for hint in hints if hint]
    if not given:
        return None
    return Diagnosis(given[0].id, given[0].whose, _escape(separator).join(hint.text for hint in given))


def describe(diagnosis: Diagnosis | None, hint: str) -> dict[str, str] | None:
    """`{id, whose, hint}` as the reports carry it (None without a diagnosis). `hint`: its text as shown."""
    if diagnosis is None:
        return None
    return {"id": diagnosis.id, "whose": diagnosis.whose, "hint": hint}


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
