"""Bad input judged before anything is written, reports other programs read, and the sandbox's own input
(issue 9, items 10-13).

* every value that goes into an HTTP header (the actor, the token, ZORORA_ACTOR) is judged when the settings
  are read: exit 2 naming the setting and the fix, not one request sent;
* --json/--junit paths are checked before phase 0; a report that could not be written is a non-zero exit;
* `zorora-e2e sandbox` refuses bad flags in one line, answers JSON to anything, does not wait forever on a
  client that stops mid-body, and logs no traceback for a metrics_ref naming an impossible bucket;
* the JUnit XML parses whatever a server sent, and the terminal never receives a control character.

Everything runs on loopback.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
import xml.etree.ElementTree as ET

import pytest
from helpers.cli import cli, cli_in_process
from helpers.figures import count, leftover_check
from helpers.results import customer_keys
from helpers.sandbox import customer, module_sandbox
from helpers.wire import LoopbackServer, QuietHandler

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Listen, Sandbox

CANARY = "canary-TOKEN-8e1b5d90c2f47a36"


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, token=CANARY, bucket="zorora-e2e-rel-input") as sb:
        yield sb


def api_requests_since(sandbox, start):
    return [r for r in sandbox.request_log[start:]]


# ----------------------------------------------------------------------------- header values (item 10)

HEADER_CASES = {  # flags, environment, words the message must contain
    "actor-non-latin-1": (["--actor", "Łukasz"], {}, ["--actor", "Latin-1", "X-Actor", "'Lukasz'"]),
    "test-actor-non-latin-1": ([], {"TEST_ACTOR": "Łukasz"}, ["TEST_ACTOR", "Latin-1"]),
    "zorora-actor-non-latin-1": ([], {"ZORORA_ACTOR": "Łukasz"}, ["ZORORA_ACTOR", "Latin-1", "X-Actor"]),
    "actor-emoji": (["--actor", "bot 🤖"], {}, ["--actor", "Latin-1"]),
    "actor-header-injection": (["--actor", "bot\r\nX-Injected: 1"], {}, ["--actor", "carriage return"]),
    "actor-c1-csi": (["--actor", "bot\x9b2J"], {}, ["--actor", "U+009B"]),
    "token-non-latin-1": (["--token", CANARY + "Ł"], {}, ["--token", "Latin-1", "Authorization"]),
    "env-token-euro": ([], {"ONA_API_TOKEN": CANARY + "€x"}, ["ONA_API_TOKEN", "Latin-1"]),
    "token-cr": (["--token", CANARY + "\r"], {}, ["--token", "carriage return"]),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_a_value_that_cannot_go_into_a_header_is_refused_before_anything_is_sent(sandbox, tmp_path, case):
    args, extra, words = HEADER_CASES[case]
    cid = customer("hdr")
    start = len(sandbox.request_log)
    done = cli(
        "run",
        "--client",
        "direct",
        "--no-color",
        "--customer-id",
        cid,
        "--json",
        str(tmp_path / "r.json"),
        *args,
        env={**sandbox.env(), **extra},
    )
    count("header_values")
    assert done.returncode == 2, done.stdout + done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "unexpected error" not in done.stdout
    assert CANARY not in done.stdout + done.stderr and CANARY[-8:] not in done.stdout + done.stderr
    assert "\r" not in done.stderr and "\x9b" not in done.stderr  # the value is shown escaped, never raw
    assert api_requests_since(sandbox, start) == []  # judged at settings time: nothing sent, nothing written
    assert customer_keys(sandbox, cid) == [] and not (tmp_path / "r.json").exists()


def test_a_latin_1_actor_goes_through_header_and_body(sandbox, tmp_path):
    """Headers are Latin-1: 'José' can be sent in X-Actor (one byte for é) and in the UTF-8 JSON body; the
    sandbox records it as promoted_by and the audit actor, and the full run passes."""
    cid = customer("latin1")
    done = cli(
        "run",
        "--client",
        "direct",
        "--no-color",
        "--customer-id",
        cid,
        "--actor",
        "José",
        "--json",
        str(tmp_path / "r.json"),
        env=sandbox.env(),
    )
    count("header_values")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "José" in done.stdout
    assert leftover_check(customer_keys(sandbox, cid)) == []


# ----------------------------------------------------------------------------- report paths (item 11)


def report_cases(tmp_path):
    regular = tmp_path / "a-file"
    regular.write_text("x")
    return {
        "json-in-missing-dir": (["--json", str(tmp_path / "no-such-dir" / "r.json")], "--json"),
        "junit-is-a-directory": (["--junit", str(tmp_path)], "is a directory"),
        "json-under-a-file": (["--json", str(regular / "r.json")], "Not a directory"),
        "same-file-twice": (["--json", str(tmp_path / "r.out"), "--junit", str(tmp_path / "r.out")], "same file"),
    }


@pytest.mark.parametrize(
    "case", ["json-in-missing-dir", "junit-is-a-directory", "json-under-a-file", "same-file-twice"]
)
def test_an_unwritable_report_path_is_refused_before_phase_0(sandbox, tmp_path, case):
    args, words = report_cases(tmp_path)[case]
    start = len(sandbox.request_log)
    done = cli_in_process("run", "--client", "direct", "--no-color", *args, env=sandbox.env())
    count("report_paths")
    assert done.returncode == 2, done.stdout + done.stderr
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert api_requests_since(sandbox, start) == []  # no promote, no rollback, not even the preflight
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # the check left nothing behind


class RemoveAtPhase(Reporter):
    """Removes a directory when a phase starts: a report path that was fine at the start and is gone at the end."""

    def __init__(self, phase, directory):
        self.phase, self.directory = phase, directory

    def phase_started(self, phase):
        if phase.id == self.phase:
            shutil.rmtree(self.directory)


@pytest.mark.slow
def test_a_report_that_could_not_be_written_makes_a_non_zero_exit(sandbox, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    settings = resolve(
        RunFlags(
            client="direct",
            customer_id=customer("rep"),
            json_path=str(reports / "r.json"),
            junit_path=str(reports / "r.xml"),
        ),
        {},
        target=sandbox_target(sandbox),
    )
    out = __import__("io").StringIO()
    result = validate(
        settings,
        console=make_console(file=out, no_color=True),
        options=RunOptions(observers=[RemoveAtPhase(5, reports)]),
    )
    count("report_paths")
    assert result.verdict == PASSED, out.getvalue()
    assert result.exit_code == 2 and len(result.report_errors) == 2, result.report_errors
    assert "could not write the --json report" in out.getvalue()
    assert "could not write the --junit report" in out.getvalue()
    assert leftover_check(customer_keys(sandbox, settings.customer_id)) == []


# ----------------------------------------------------------------------------- the sandbox's input (item 12)


def _busy_port():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder


@pytest.mark.parametrize(
    "case", ["busy-port", "port-99999", "negative-port", "unassignable-host", "invalid-bucket", "invalid-region"]
)
def test_bad_sandbox_flags_are_one_line_with_exit_2(case):
    holder = _busy_port()
    try:
        args = {
            "busy-port": ["--port", str(holder.getsockname()[1])],
            "port-99999": ["--port", "99999"],
            "negative-port": ["--port", "-1"],
            "unassignable-host": ["--host", "192.0.2.1"],  # TEST-NET-1: never this machine's; no DNS
            "invalid-bucket": ["--bucket", "Not_A_Bucket"],
            "invalid-region": ["--region", "mars-central"],
        }[case]
        done = cli("sandbox", *args, timeout=60)
    finally:
        holder.close()
    count("sandbox_input")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1 and lines[0].startswith("zorora-e2e: "), done.stderr
    assert "Traceback" not in done.stderr and "export" not in done.stdout
    word = {
        "busy-port": "already in use",
        "port-99999": "between 0 and 65535",
        "negative-port": "between 0 and 65535",
        "unassignable-host": "not an address of this machine",
        "invalid-bucket": "not a valid S3 bucket name",
        "invalid-region": "not an AWS region",
    }[case]
    assert word in lines[0], lines[0]


def _exchange(port, data, timeout=10.0):
    conn = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        conn.sendall(data)
        received = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return received
            received += chunk
    finally:
        conn.close()


def _port(sandbox):
    return int(sandbox.api_url.split(":")[2].split("/")[0])


@pytest.mark.parametrize(
    "request_line",
    [
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\xfc\x03\x03\r\n\r\n",
        b"GET /prod/api/v1/challengers HTTP/9.9\r\n\r\n",
        b"one two three four five\r\n\r\n",
        b"GET " + b"a" * 70000 + b"\r\n\r\n",
    ],
    ids=["one-word", "tls-hello", "http-9.9", "five-words", "line-too-long"],
)
def test_a_garbage_request_gets_a_json_answer(sandbox, request_line):
    answer = _exchange(_port(sandbox), request_line)
    count("sandbox_input")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4") or head.startswith(b"HTTP/1.1 5"), answer[:300]
    assert b"content-type: application/json" in head.lower(), head
    assert "message" in json.loads(body), body
    assert b"GARBAGE" not in body and b"four" not in body  # the garbage is not echoed


def test_a_client_that_sends_half_a_body_is_cut_off():
    """Content-Length 100, 5 bytes sent, then silence: the server answers 408 after its read timeout and frees
    the thread; it goes on serving, and stops promptly."""
    before = set(threading.enumerate())
    with Sandbox(listen=Listen(read_timeout=0.5)) as sb:
        conn = socket.create_connection(("127.0.0.1", _port(sb)), timeout=20)
        conn.sendall(
            b"POST /prod/api/v1/promote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"a":'
        )
        answer = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        conn.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"message": "Request Timeout"}
        healthy = _exchange(_port(sb), b"GET /prod/api/v1/challengers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert healthy.startswith(b"HTTP/1.1 401"), healthy[:200]  # no token: the Lambda answered
    assert [t.name for t in threading.enumerate() if t not in before and t.is_alive()] == []
    count("sandbox_input")


def test_a_metrics_ref_naming_an_impossible_bucket_logs_no_traceback(
    sandbox_instance, sandbox_make_world, sandbox_http, caplog
):
    world = sandbox_make_world(sandbox_instance)
    registry = world.registry()
    registry["production"]["metrics_ref"] = "s3://Not_A_Bucket!/x/backtest_results.json"
    world.put_json(world.registry_key, registry)
    with caplog.at_level(logging.DEBUG):
        answer = sandbox_http.get(f"/metrics/{world.production_id}")
    count("sandbox_input")
    assert answer.status_code == 404 and "error" in answer.json(), answer.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


# ----------------------------------------------------------------------------- reports other programs read (13)

ODD_BODY = (
    '{"error": "odd \ufffe and \uffff, a C1 CSI \x9b31m, NUL \x00, ESC \x1b[2J, surrogate-free emoji \U0001f600 and é"}'
).encode("utf-8")


class _OddServer(LoopbackServer):
    """Answers every request 500 with a body carrying characters XML 1.0 forbids and terminal controls."""

    def __init__(self):
        class Handler(QuietHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ODD_BODY)))
                self.end_headers()
                self.wfile.write(ODD_BODY)

            do_GET = do_POST = _answer

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/prod/api/v1"


@pytest.mark.parametrize("colour", ["plain", "rich"])
def test_junit_parses_and_the_terminal_gets_no_controls_whatever_the_server_sent(sandbox, tmp_path, colour):
    with _OddServer() as odd:
        env = {**sandbox.env(), "ONA_API_BASE_URL": odd.url}
        args = [
            "run",
            "--client",
            "direct",
            "--preflight-only",
            "--json",
            str(tmp_path / "r.json"),
            "--junit",
            str(tmp_path / "r.xml"),
        ]
        if colour == "plain":
            args.append("--no-color")
        else:
            env.update(FORCE_COLOR="1", COLUMNS="120")
        done = cli(*args, env=env)
    count("sandbox_input")
    assert done.returncode in (0, 1, 3), done.stdout + done.stderr  # 500s warn in 0.1/0.3 (the plan lets them)
    assert "Traceback" not in done.stdout + done.stderr
    junit = ET.parse(tmp_path / "r.xml").getroot()  # raises on a character XML forbids
    text = ET.tostring(junit, encoding="unicode")
    assert "\\uffff" in text and "\\ufffe" in text and "\\x9b" in text, text[:2000]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["steps"]
    for bad in ("\x9b", "\x00", "\x1b[2J"):  # controls; U+FFFE/U+FFFF are text to a terminal (not to XML)
        assert bad not in done.stdout, repr(bad)
    assert "\\x9b" in done.stdout  # shown, escaped
