"""Words whole at any width (issue 30 item 2), read off a terminal emulator's screen (pyte) at 80, 100 and 120
columns: the full run, the readiness check and the walkthrough, in the CLI and in the REPL (the stand-in host; the
real Zorora REPL in test_readiness_real_zorora.py).

What a person sees: no line the terminal itself had to fold (the program never writes a line longer than the
screen: it wraps between words, each next line under the text it continues); every word of what the run said
(its steps, details, the readiness answer and gates, the commands to copy, the walkthrough's explanations) is on
the screen whole, bar a single word longer than a line (which may be folded); and nothing is cut with '…'.
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest
from standin.harness import REPO_ROOT, subprocess_env

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

ROWS = 600  # tall enough for a whole run: nothing scrolls off, the screen is what was shown
WIDTHS = (80, 100, 120)
CUSTOMER = "zorora-e2e-test-20261201000000-abcdef"


class FoldingScreen(pyte.Screen):
    """A screen that notes each time the terminal itself folded a line (a character drawn past the last column)."""

    def __init__(self, columns, lines):
        super().__init__(columns, lines)
        self.folds = []

    def draw(self, data: str) -> None:
        for char in data:
            if self.cursor.x >= self.columns and pyte.modes.DECAWM in self.mode and char.isprintable():
                self.folds.append(self.text_of(self.cursor.y))
            super().draw(char)

    def text_of(self, row: int) -> str:
        line = self.buffer[row]
        return "".join(line[x].data for x in range(self.columns)).rstrip()

    def text(self) -> str:
        return "\n".join(row.rstrip() for row in self.display).rstrip()


def show(args, width, *, answers=(), env=None, repl_line=None):
    """Run `zorora-e2e ARGS` (or type `repl_line` into the stand-in REPL) in a pseudo-terminal `width` columns wide;
    the screen at the end. `answers`: (what to wait for, what to type), in order."""
    screen = FoldingScreen(width, ROWS)
    stream = pyte.Stream(screen)
    here = os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH"))))  # this checkout's code
    environment = subprocess_env(
        TERM="xterm-256color",
        COLUMNS=str(width),
        LINES=str(ROWS),
        ZORORA_E2E_HISTORY="0",
        PYTHONPATH=here,
        **(env or {}),
    )
    if repl_line is None:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "zorora_e2e_plugin.cli", *args],
            env=environment,
            cwd=str(REPO_ROOT),
            encoding="utf-8",
            timeout=120,
            dimensions=(ROWS, width),
        )
    else:
        from standin.harness import STANDIN_DIR

        environment.update(ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1", ONA_API_TOKEN="x")
        child = pexpect.spawn(
            sys.executable,
            [str(STANDIN_DIR / "standin_repl.py")],
            env=environment,
            cwd=str(REPO_ROOT),
            encoding="utf-8",
            timeout=120,
            dimensions=(ROWS, width),
        )
        answers = (("zorora> ", repl_line + "\r"), *answers, ("zorora> ", "exit\r"))
    seen = ""
    try:
        for wanted, typed in answers:
            while wanted not in seen:
                seen += _read(child, stream)
            seen = seen[seen.index(wanted) + len(wanted) :]
            child.send(typed)
        while True:
            try:
                stream.feed(child.read_nonblocking(65536, timeout=120))
            except pexpect.EOF:
                break
    finally:
        child.close(force=True)
    return screen


def _read(child, stream) -> str:
    data = child.read_nonblocking(65536, timeout=120)
    stream.feed(data)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", data)


def words_of(*texts) -> set:
    """The words of `texts`, without the punctuation around them (a reason is shown in parentheses)."""
    return {word.strip("()[]{},;:'\"") for text in texts for word in str(text or "").split()} - {""}


def check(screen, said, width):
    """No fold by the terminal, no '…', and every word of `said` (short enough to fit a line) whole on screen."""
    shown = screen.text()
    folds = [row for row in screen.folds if not row.startswith("zorora> ")]  # what the user typed is the user's
    assert folds == [], f"the terminal folded {len(folds)} line(s), e.g. {folds[:3]}\n{shown}"
    assert not re.search(r"…(?!/)", shown), shown  # nothing cut ('…/archived/...': the prefix its title names)
    on_screen = words_of(shown)
    missing = sorted(w for w in said if len(w) <= width - 2 and w not in on_screen)  # longer: may be folded
    assert missing == [], f"broken or missing words at {width} columns: {missing[:20]}\n{shown}"


def report_words(path) -> set:
    """The words of what the run said, from its --json report: each step's title, what it expected and got, its
    fix; the readiness answer, command, gates, production and last events."""
    data = json.loads(path.read_text())
    said = words_of(
        *(s[k] for s in data["steps"] for k in ("title", "expected", "actual", "hint") if s["status"] != "skip")
    )
    readiness = data.get("readiness")
    if readiness:
        said |= words_of(
            readiness["answer"]["line"],
            readiness["answer"]["command"],
            *(f"{g['gate']} {g['value']} {g['limit']}" for g in readiness["gates"]),
            *(readiness["production"].values()),
            *((readiness.get(k) or {}).get("reason") for k in ("last_promotion", "last_rollback")),
        )
    return said


@pytest.fixture(scope="module")
def sandbox():
    from zorora_e2e_plugin.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb
        s3 = sb.s3_client()  # what --keep-data kept: the sandbox's S3 is shared by the test session
        for item in s3.list_objects_v2(Bucket=sb.bucket).get("Contents", []):
            if CUSTOMER in item["Key"]:
                s3.delete_object(Bucket=sb.bucket, Key=item["Key"])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_full_run_keeps_its_words_whole(sandbox, tmp_path, width):
    report = tmp_path / "r.json"
    customer = f"{CUSTOMER}{width}"
    screen = show(["run", "--keep-data", "--customer-id", customer, "--json", str(report)], width, env=sandbox.env())
    command = (
        "zorora-e2e sweep --customer-id",
        customer,
        "--bucket sa-api-client-output --s3-endpoint-url",
        sandbox.s3_endpoint_url,
        "--older-than 0s --yes",
    )
    check(screen, report_words(report) | words_of(*command), width)
    rows = screen.text().splitlines()
    at = next(i for i, row in enumerate(rows) if row.startswith("Remove it with:"))
    assert rows[at + 1].lstrip().startswith("zorora-e2e sweep"), rows[at : at + 4]  # the command on its own line(s)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_readiness_check_keeps_its_words_whole(tmp_path, width):
    report = tmp_path / "r.json"
    screen = show(["demo", "--seed-customer", "acme", "--for", "acme", "--json", str(report)], width)
    said = report_words(report)
    check(screen, said, width)
    assert {"+6.1", "drift", "evening", "windows"} <= said  # the words the issue saw broken
    command = json.loads(report.read_text())["readiness"]["answer"]["command"]
    rows = [row.strip() for row in screen.text().splitlines()]
    at = rows.index("to promote, type:")
    assert " ".join(rows[at + 1 : at + 3]).startswith(command) or rows[at + 1] == command, rows[at : at + 3]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_walkthrough_keeps_its_words_whole(tmp_path, width):
    from zorora_e2e_plugin.plan import cleanup_phase, phases
    from zorora_e2e_plugin.report.walkthrough import sends_lines

    report = tmp_path / "r.json"
    pauses = [(f"Next: phase {p} ·", "") for p in range(6)]
    answers = [(wanted, "\r") for wanted, _ in pauses]
    screen = show(["demo", "--walkthrough", "--json", str(report)], width, answers=answers)
    plan = [*phases(), cleanup_phase()]
    said = report_words(report) | words_of(
        *(p.proves for p in plan), *(what for p in plan for _, what in sends_lines(p))
    )
    check(screen, said, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_readiness_check_in_the_repl_keeps_its_words_whole(tmp_path, width):
    report = tmp_path / "r.json"
    screen = show((), width, repl_line=f"ml-validate-e2e --sandbox --seed-customer acme --for acme --json {report}")
    check(screen, report_words(report), width)
