"""TextEnum: a str-valued enum (statuses, verdicts, whose move) that is its plain value wherever text is made.

Its members equal their values ("fail" == FAIL), hash as them (a dict keyed by the word finds the member) and
stay words in JSON, f-strings, `str()` and `%s`: the Python 3.11 change to `format()` of a mixed-in str enum
("Status.FAIL") does not reach the reports.
"""

from __future__ import annotations

import enum


class TextEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)
