"""The run's results as files: `--json` and `--junit` (JUnit XML that always parses). Plain data in, files
out; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import stat
import xml.etree.ElementTree as ET

from ..core.outcomes import FAIL, SKIP, WARN, RunResult
from ..core.redact import neutralise


@dataclasses.dataclass
class Written:
    """What a writer of report files did: `paths` it wrote ({flag: path}, in the order written), `errors` one line
    per file it could not write, `notes` other lines to show (with --debug, the failing steps' curl lines)."""

    paths: dict[str, str] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def could_not_write(flag: str, path, exc: BaseException) -> str:
    """The line that says a report file was not written, and why."""
    reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
    return f"could not write the {flag} report {os.fspath(path)}: {reason}"


def open_report(path: str, binary: bool = False):
    """The report file, opened for writing without ever blocking: a path that became a named pipe (FIFO)
    since the settings were checked would block the open until a reader came, beyond any signal. Anything but
    a regular file is refused (OSError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o666)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a named pipe, device or socket): nothing written")
        os.ftruncate(fd, 0)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write_json(result: RunResult, path: str, step_extras: dict | None = None) -> None:
    data = result.to_dict()
    for step in data.get("steps", []):  # a failing step's curl line (artifacts/curl.py)
        curl = (step_extras or {}).get(step.get("id"), {}).get("curl")
        if curl:
            step["curl"] = curl
    with open_report(path) as handle:  # ensure_ascii: every odd character as a \u escape
        json.dump(standard(data), handle, indent=2, allow_nan=False)
        handle.write("\n")


def standard(value):
    """`value` as standard JSON can carry it: a NaN or an infinity (an answer may hold one; Python's parser accepts
    them, jq, JSON.parse and Go do not) becomes the word for it, a string."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: standard(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [standard(item) for item in value]
    return value


# XML 1.0 allows only tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD and U+10000-U+10FFFF; anything else (NUL and the
# other C0 controls, lone surrogates, U+FFFE, U+FFFF) makes the whole file unparseable.
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """A value as XML 1.0 can carry it: control characters (C0, DEL, C1) and characters XML forbids become
    visible escapes (`\\x1b`, `\\uffff`)."""
    text = neutralise("" if value is None else str(value))
    return _XML_FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _case_properties(case, step, extras: dict) -> None:
    """route (what the step sent), ms, diagnosis id (when the step has one)."""
    from ..core.diagnosis import diagnosis_id

    values = [
        ("route", ", ".join(extras.get("routes", []))),
        ("ms", str(step.duration_ms)),
        ("diagnosis", diagnosis_id(step)),
    ]
    properties = ET.SubElement(case, "properties")
    for name, value in values:
        if value:
            ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})


def write_junit(result: RunResult, path: str, step_extras: dict | None = None) -> None:
    x = xml_text
    suite = ET.Element(
        "testsuite",
        {
            "name": "zorora-e2e",
            "tests": str(len(result.steps)),
            "failures": str(result.count(FAIL)),
            "skipped": str(result.count(SKIP)),
            "errors": "0",
            "time": f"{result.duration_ms / 1000:.3f}",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", result.verdict),
        ("customer_id", result.customer_id),
        ("client", result.client),
        ("target", result.target),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": x(value)})
    for step in result.steps:  # plan order (RunResult keeps its steps so)
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"zorora-e2e.phase{step.phase}",
                "name": x(f"{step.id} {step.title}"),
                "time": f"{step.duration_ms / 1000:.3f}",
            },
        )
        _case_properties(case, step, (step_extras or {}).get(step.id, {}))
        d = step.diagnosis or {}
        body = "\n".join(
            f"{k}: {v}"
            for k, v in (
                ("expected", step.expected),
                ("got", step.actual),
                ("fix", step.hint),
                ("diagnosis", d and f"{d['id']} ({d['whose']})"),
            )
            if v
        )
        if step.status == FAIL:
            failure = {"message": x(step.actual or "failed")}
            if d:
                failure["type"] = x(d["id"])  # the diagnosis id: what CI groups failures by
            ET.SubElement(case, "failure", failure).text = x(body)
        elif step.status == SKIP:
            ET.SubElement(case, "skipped", {"message": x(step.actual or "skipped")})
        elif step.status == WARN:
            ET.SubElement(case, "system-out").text = x("warning\n" + body)
    with open_report(path, binary=True) as handle:
        ET.ElementTree(suite).write(handle, encoding="utf-8", xml_declaration=True)


def write_reports(
    result: RunResult,
    *,
    json_path: str | None = None,
    junit_path: str | None = None,
    step_extras: dict | None = None,
) -> Written:
    """Writes the reports asked for. Returns what it wrote and one line per report that could not be written,
    and records those on the result: a report asked for and missing makes a non-zero exit (2 when the run itself
    passed)."""
    done = Written()
    for path, writer, flag in ((json_path, write_json, "--json"), (junit_path, write_junit, "--junit")):
        if not path:
            continue
        try:
            writer(result, path, step_extras)
            done.paths[flag] = path
        except (OSError, ValueError) as exc:  # ValueError: UnicodeEncodeError and kin, should one slip through
            done.errors.append(could_not_write(flag, path, exc))
    result.report_errors.extend(done.errors)
    return done
