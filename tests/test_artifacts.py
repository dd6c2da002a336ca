"""What a run leaves to share (issue 20): --har, --html, the curl lines, the CI summary, JUnit properties, and
--log-requests in any run (issue 18 item 6). Against a real sandbox over loopback: the HAR is checked against
HAR 1.2's schema, read back by a HAR library and compared with what the sandbox itself logged; the curl line of
a failing step is run and gets the same status; the Markdown is parsed as CommonMark; no artifact holds the
token in any form."""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import unquote, urlsplit

import pytest
from helpers.artifacts import CANARY, assert_no_token, run_in_process
from helpers.cli import cli
from helpers.har_schema import HAR
from helpers.sandbox import customer, module_sandbox

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, FAILED, GATE_FAILED, PASSED
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, token=CANARY, bucket="zorora-e2e-artifacts") as sb:
        yield sb


# ----------------------------------------------------------------------------------------------- HAR


@pytest.mark.slow
def test_the_har_is_har_1_2_and_holds_exactly_the_requests_the_sandbox_served(sandbox, tmp_path):
    import jsonschema
    from haralyzer import HarParser

    result, _text, served = run_in_process(sandbox, tmp_path, customer_id=customer("har"))
    assert result.verdict == PASSED
    har = json.loads((tmp_path / "r.har").read_text())
    jsonschema.Draft7Validator(HAR).validate(har)
    parsed = HarParser(har)  # read back by a HAR library
    entries = [entry for page in parsed.pages for entry in page.entries]
    assert len(entries) == len(har["log"]["entries"]) == len(served) > 40
    # the same requests, as the server saw them: method, path and status, API and S3 alike
    seen = collections.Counter(
        (e["request"]["method"], unquote(urlsplit(e["request"]["url"]).path), e["response"]["status"])
        for e in har["log"]["entries"]
    )
    logged = collections.Counter((r.method, unquote(r.path), r.status) for r in served)
    assert seen == logged
    assert {e["_kind"] for e in har["log"]["entries"]} == {"api", "s3"}
    for e in har["log"]["entries"]:
        timings = [v for v in e["timings"].values() if v >= 0]
        assert abs(sum(timings) - e["time"]) < 0.01


def test_har_times_sit_inside_their_steps_and_the_run(sandbox, tmp_path):
    result, _text, _served = run_in_process(sandbox, tmp_path, customer_id=customer("hart"))
    har = json.loads((tmp_path / "r.har").read_text())

    def started(e):
        return datetime.fromisoformat(e["startedDateTime"].replace("Z", "+00:00")).timestamp()

    entries = har["log"]["entries"]
    span = max(started(e) + e["time"] / 1000 for e in entries) - min(started(e) for e in entries)
    assert span * 1000 <= result.duration_ms + 50
    by_step = collections.defaultdict(list)
    for e in entries:
        if e["_step"]:
            by_step[e["_step"]].append(e)
    durations = {s.id: s.duration_ms for s in result.steps}
    assert len(by_step) >= 20
    for step, mine in by_step.items():
        first = min(started(e) for e in mine)
        last = max(started(e) + e["time"] / 1000 for e in mine)
        assert (last - first) * 1000 <= durations[step] + 25, (step, mine)
        assert all(e["time"] <= durations[step] + 25 for e in mine)


def test_the_har_masks_authorization_and_aws_signatures(sandbox, tmp_path):
    run_in_process(sandbox, tmp_path, customer_id=customer("harm"))
    har = json.loads((tmp_path / "r.har").read_text())
    headers = {
        (e["_kind"], h["name"].lower()): h["value"] for e in har["log"]["entries"] for h in e["request"]["headers"]
    }
    assert headers[("api", "authorization")] == "Bearer ***"
    assert headers[("s3", "authorization")] == "AWS4-HMAC-SHA256 ***"
    text = (tmp_path / "r.har").read_text()
    assert "Signature=" not in text and "Credential=" not in text
    assert sandbox.secret_access_key not in text
    assert_no_token(text)


# ----------------------------------------------------------------------------------- curl, JSON, JUnit


@pytest.mark.parametrize("fault, step", [("bad-token", "0.2"), ("stage-prefix", "0.5")])
def test_the_curl_line_of_a_failing_step_gets_the_same_status(sandbox, tmp_path, fault, step):
    result, text, _served = run_in_process(sandbox, tmp_path, [fault], customer_id=customer("curl"), debug=True)
    failing = {s.id for s in result.steps if s.status == FAIL}
    assert step in failing
    report = json.loads((tmp_path / "r.json").read_text())
    line = next(s["curl"] for s in report["steps"] if s["id"] == step)
    assert '"Authorization: Bearer $ONA_API_TOKEN"' in line and CANARY not in line
    har = json.loads((tmp_path / "r.har").read_text())
    sent_by = {"0.2": "0.1"}.get(step, step)  # 0.2 judges the token by 0.1's answer
    statuses = [e["response"]["status"] for e in har["log"]["entries"] if e["_step"] == sent_by and e["_kind"] == "api"]

    def send(token: str) -> int:
        done = subprocess.run(
            ["bash", "-c", line + " -o /dev/null -w '%{http_code}'"],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": os.environ["PATH"], "ONA_API_TOKEN": token},
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    sandbox.set_faults([fault])
    try:
        again = send(CANARY)
    finally:
        sandbox.set_faults([])
    assert again in statuses and again >= 400
    assert send(CANARY) not in (again, 401)  # the fault gone: the same request passes the gateway, token and all
    assert send("not-the-token") == 401  # the token really comes from $ONA_API_TOKEN
    assert line in (tmp_path / "r.html").read_text().replace("&#x27;", "'").replace("&quot;", '"')
    assert line in text.replace("\n", "")  # --debug shows it too


def test_junit_testcases_carry_route_and_ms(sandbox, tmp_path):
    result, _text, _served = run_in_process(sandbox, tmp_path, customer_id=customer("junit"))
    suite = ET.parse(tmp_path / "r.xml").getroot()
    props = {
        case.get("name").split()[0]: {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in suite.iter("testcase")
    }
    assert props["2.1"]["route"] == "GET /challengers"
    assert "POST /promote" in props["3.1"]["route"] and "S3 GetObject" in props["3.1"]["route"]
    durations = {s.id: s.duration_ms for s in result.steps}
    assert all(int(p["ms"]) == durations[step] for step, p in props.items())


def test_junit_names_a_diagnosis_id_when_the_step_has_one(tmp_path):
    from zorora_e2e_plugin.core.outcomes import Cleanup, RunResult, StepResult
    from zorora_e2e_plugin.report.files import write_junit

    step = StepResult("0.2", 0, "Bearer token accepted", FAIL, 12, actual="HTTP 401")
    step.diagnosis = {"id": "wrong-token", "whose": "settings", "hint": "..."}  # as the results carry it
    result = RunResult(GATE_FAILED, "zorora-e2e-test-x", "direct", 20, [step], Cleanup())
    write_junit(result, str(tmp_path / "r.xml"), {"0.2": {"routes": ["GET /challengers"]}})
    props = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "r.xml").getroot().iter("property")}
    assert props["diagnosis"] == "wrong-token" and props["route"] == "GET /challengers" and props["ms"] == "12"
    step.diagnosis = None  # a step without one: no property
    write_junit(result, str(tmp_path / "r.xml"), {})
    assert "diagnosis" not in {p.get("name") for p in ET.parse(tmp_path / "r.xml").getroot().iter("property")}


# ------------------------------------------------------------------------------------------- Markdown


def test_the_ci_summary_is_commonmark_with_the_phase_table_and_each_failing_step(sandbox, tmp_path):
    from markdown_it import MarkdownIt

    result, _text, _served = run_in_process(sandbox, tmp_path, ["noop-rollback"], customer_id=customer("md"))
    assert result.verdict == FAILED
    text = (tmp_path / "summary.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    kinds = [t.type for t in tokens]
    assert "html_block" not in kinds and not any(c.type == "html_inline" for t in tokens for c in t.children or [])
    heading = tokens[kinds.index("heading_open") + 1].content
    assert heading.startswith("zorora-e2e") and "failed" in heading
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 1 + len(result.phases)
    failing = [s for s in result.steps if s.status == FAIL]
    bold = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "text"]
    for step in failing:
        assert any(step.title.split()[0] in b for b in bold), step
    assert "fix:" in text
    code = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"]
    assert str(tmp_path / "r.html") in code  # a path as typed (tmp_path holds underscores: no escapes)


@pytest.mark.slow
def test_github_step_summary_gets_one_summary_per_run_appended(sandbox, tmp_path):
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n")
    env = dict(sandbox.env(), GITHUB_STEP_SUMMARY=str(summary))
    for _ in range(2):
        done = cli("run", "--client", "direct", "--no-color", "--phase", "0", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    text = summary.read_text()
    assert text.startswith("# earlier step\n") and text.count("## zorora-e2e: ✅ passed") == 2
    demo = cli("demo", "--no-color", "--phase", "0", env={"GITHUB_STEP_SUMMARY": str(summary)})  # a demo in CI
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert summary.read_text().count("## zorora-e2e: ✅ passed") == 3


# -------------------------------------------------------------------------------------------- secrets

URL_PASSWORD = "canary-PASS-2c8e0f6b1d"


@pytest.mark.parametrize(
    "faults",
    [
        ["echo-auth"],
        ["echo-auth", "bad-token"],
        ["echo-auth", "stage-prefix"],
        ["echo-auth", "noop-rollback"],
        ["echo-auth", "endpoint-credentials"],
    ],
    ids=lambda f: "+".join(f),
)
def test_no_artifact_reveals_the_token_in_any_form(sandbox, tmp_path, faults):
    env = dict(sandbox.env())
    if "endpoint-credentials" in faults:  # credentials in the S3 endpoint URL: botocore ignores them, we hide them
        faults = faults[:1]
        env["AWS_ENDPOINT_URL_S3"] = env["AWS_ENDPOINT_URL_S3"].replace("http://", f"http://e2e:{URL_PASSWORD}@")
    sandbox.set_faults(faults)
    try:
        files = {name: tmp_path / name for name in ("r.html", "r.har", "s.md", "r.json", "r.xml")}
        done = cli(
            "run",
            "--client",
            "direct",
            "--no-color",
            "--debug",
            "--log-requests",
            "--html",
            str(files["r.html"]),
            "--har",
            str(files["r.har"]),
            "--summary-md",
            str(files["s.md"]),
            "--json",
            str(files["r.json"]),
            "--junit",
            str(files["r.xml"]),
            env=env,
        )
    finally:
        sandbox.set_faults([])
    assert "Traceback" not in done.stdout + done.stderr
    texts = [path.read_text() for path in files.values()]
    if faults != ["echo-auth"]:  # the server echoed the token into a body the artifacts keep
        assert "received_authorization" in texts[1]
    assert_no_token(done.stdout, done.stderr, *texts)
    for text in texts:
        assert URL_PASSWORD not in text and f"e2e:{URL_PASSWORD[:6]}" not in text


# --------------------------------------------------------------------------------------- --log-requests

LINE = re.compile(r"^\s*\d\d:\d\d:\d\d\.\d{3}  (GET|POST|PUT|HEAD|DELETE)\s+(\d{3})\s+\d+ ms  (\S+(?: \S+)*?)\s{2,}")


@pytest.mark.slow
def test_log_requests_in_a_run_against_a_deployment_shows_the_validators_own_requests(sandbox):
    done = cli(
        "run", "--client", "direct", "--no-color", "--log-requests", "--customer-id", customer("log"), env=sandbox.env()
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if LINE.match(line)]
    api = [line for line in lines if "/challengers" in line or "/promote" in line]
    s3 = [line for line in lines if "[S3 PutObject]" in line]
    assert api and s3, done.stdout
    assert any(LINE.match(line).group(2) == "401" for line in lines)  # 4.4's request without the token
    assert done.stdout.index("Phase 0") < done.stdout.index(lines[0]) < done.stdout.index("Phase 5")
    assert_no_token(done.stdout, done.stderr)


def test_the_recorder_leaves_sessions_and_the_s3_client_as_it_found_them(sandbox):
    import requests

    from zorora_e2e_plugin.config.settings import Storage
    from zorora_e2e_plugin.report.artifacts import RequestRecorder
    from zorora_e2e_plugin.s3.store import make_s3_client
    from zorora_e2e_plugin.wire.watch import Watch

    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: None)
    hooks = list(session.hooks["response"])
    client = make_s3_client(
        Storage(
            bucket=sandbox.bucket,
            region=sandbox.region,
            s3_endpoint_url=sandbox.s3_endpoint_url,
            aws_access_key_id=sandbox.access_key_id,
            aws_secret_access_key=sandbox.secret_access_key,
        )
    )
    recorder = RequestRecorder(lambda text: text, token=CANARY)
    watch = Watch(sandbox.api_url).listen(recorder)
    watch.attach(session)
    watch.attach_s3(client)
    session.get(f"{sandbox.api_url}/challengers", headers={"Authorization": f"Bearer {CANARY}"}, timeout=5)
    client.list_objects_v2(Bucket=sandbox.bucket, Prefix="nothing/")
    watch.detach()
    assert [e.kind for e in recorder.snapshot()] == ["api", "s3"]
    assert recorder.snapshot()[0].had_token and "Bearer ***" in str(recorder.snapshot()[0].request_headers)
    assert "send" not in session.__dict__ and session.hooks["response"] == hooks
    session.get(f"{sandbox.api_url}/challengers", timeout=5)
    client.list_objects_v2(Bucket=sandbox.bucket, Prefix="nothing/")
    assert len(recorder.snapshot()) == 2  # nothing recorded after detach


# ------------------------------------------------------------------------------------ edges and faces


@pytest.mark.slow
def test_requests_that_got_no_answer_are_in_the_har_too(sandbox, tmp_path):
    import jsonschema

    flags = RunFlags(
        client="direct", phases=[0], har_path=str(tmp_path / "r.har"), json_path=str(tmp_path / "r.json"), timeout="2"
    )
    target = dataclasses.replace(sandbox_target(sandbox), base_url="http://127.0.0.1:9/prod/api/v1")  # nothing there
    result = validate(resolve(flags, {}, target=target), console=make_console(file=io.StringIO(), no_color=True))
    assert result.verdict == GATE_FAILED
    har = json.loads((tmp_path / "r.har").read_text())
    jsonschema.Draft7Validator(HAR).validate(har)
    unanswered = [e for e in har["log"]["entries"] if e["_kind"] == "api"]
    assert unanswered and all(e["response"]["status"] == 0 and e["_error"] for e in unanswered)
    assert any(e["_kind"] == "s3" and e["response"]["status"] == 200 for e in har["log"]["entries"])
    report = json.loads((tmp_path / "r.json").read_text())
    assert "127.0.0.1:9/prod/api/v1/challengers" in next(s["curl"] for s in report["steps"] if s["id"] == "0.1")


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"html_path": "{d}/same", "json_path": "{d}/same"}, "--json and --html name the same file"),
        ({"har_path": "{d}/r.html", "html_path": "{d}/r.html"}, "--html and --har name the same file"),
        ({"html_path": "{d}"}, "e.g. {d}/zorora-e2e.html"),
        ({"har_path": "{d}/missing/r.har"}, "cannot write --har"),
    ],
)
def test_report_paths_are_refused_before_anything_runs(sandbox, tmp_path, flags, message):
    from zorora_e2e_plugin.config.checks import SettingsError

    given = {key: value.format(d=tmp_path) for key, value in flags.items()}
    with pytest.raises(SettingsError, match=re.escape(message.format(d=tmp_path))):
        resolve(RunFlags(client="direct", **given), {}, target=sandbox_target(sandbox))


def test_in_the_repl_html_and_har_are_written_for_a_preflight(tmp_path, host, monkeypatch):
    from standin.harness import output

    import zorora_e2e_plugin

    monkeypatch.setenv("ONA_API_BASE_URL", "http://127.0.0.1:9/prod/api/v1")
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    html, har = tmp_path / "p.html", tmp_path / "p.har"
    repl.handle(f"ml-validate-e2e --sandbox --preflight-only --html {html} --har {har}")
    text = output(repl)
    assert repl.remote_commands["ml-validate-e2e"].last_verdict.startswith("✓ Preflight passed"), text
    assert f"--html report written to {html}" in text and html.stat().st_size > 1000
    entries = json.loads(har.read_text())["log"]["entries"]
    assert {e["_kind"] for e in entries} == {"api", "s3"}


@pytest.mark.slow
def test_the_timeline_marks_the_cold_start_on_the_request_that_met_it(sandbox, tmp_path):
    result, _text, _served = run_in_process(
        sandbox, tmp_path, ["cold-start:1200"], customer_id=customer("cold"), phases=[0]
    )
    assert result.note and "cold start" in result.note
    page = (tmp_path / "r.html").read_text()
    cold = re.findall(r'<rect class="req s(\d) cold"[^>]*><title>([^<]*)</title>', page)
    assert len(cold) == 1, cold
    ms = float(re.search(r"in (\d+) ms", cold[0][1]).group(1))
    assert 1200 <= ms < 5000 and "cold start" in page
    others = [float(m) for m in re.findall(r'<rect class="req s\d"[^>]*><title>[^<]* in (\d+) ms', page)]
    assert others and max(others) < ms


def test_a_run_that_breaks_still_gives_the_hosts_client_back_as_it_was(sandbox, standin_path):
    """The REPL's ZororaHTTPClient outlives every run: however a run ends, its session is left unwrapped."""
    from zorora.http_client import ZororaHTTPClient

    class Breaks(Reporter):
        def step_finished(self, result):
            if result.id == "0.1":
                raise RuntimeError("an observer broke")

    client = ZororaHTTPClient(base_url=sandbox.api_url, auth_token=CANARY, use_iam=False, timeout=5, max_retries=0)
    settings = resolve(RunFlags(phases=[0]), {}, target=sandbox_target(sandbox))
    with pytest.raises(RuntimeError, match="an observer broke"):
        validate(
            settings,
            console=make_console(file=io.StringIO()),
            http_client=client,
            options=RunOptions(observers=[Breaks()]),
        )
    assert "send" not in client.session.__dict__
    validate(settings, console=make_console(file=io.StringIO()), http_client=client)  # and the next run works
    assert "send" not in client.session.__dict__


def test_what_a_server_answered_stays_text_in_the_summary():
    """A body with markup in it (HTML, a link, a table cell, emphasis, an entity) is shown as the text it is."""
    from markdown_it import MarkdownIt

    from zorora_e2e_plugin.core.outcomes import Cleanup, RunResult, StepResult
    from zorora_e2e_plugin.report.artifacts.summary_md import summary

    body = "HTTP 500 <script>alert(1)</script> [click](http://evil.example) *bold* a|b &copy; _x_ `tick` ~~s~~"
    step = StepResult("0.5", 0, "Every route deployed", FAIL, 9, expected="no 5xx", actual=body, hint="fix it")
    result = RunResult(GATE_FAILED, "zorora-e2e-test-x", "direct", 20, [step], Cleanup(), target="t")
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(summary(result))
    got = next(t for t in tokens if t.type == "inline" and t.content.startswith("got:"))
    assert [c.type for c in got.children] == ["text"] * len(got.children)  # no HTML, link, emphasis, code
    assert "".join(c.content for c in got.children) == "got: " + body
    assert not any(t.type == "html_block" for t in tokens)


def test_what_a_server_answered_stays_text_in_the_html(tmp_path):
    from zorora_e2e_plugin.core.outcomes import Cleanup, RunResult, StepResult
    from zorora_e2e_plugin.report.artifacts.html_report import Requests, render

    body = '<script>console.error(1)</script><img src="http://evil.example/x.png"> & "quotes"'
    step = StepResult("0.5", 0, "Every route deployed", FAIL, 9, actual=body, hint="<em>do this</em>")
    result = RunResult(GATE_FAILED, "zorora-e2e-test-x", "direct", 20, [step], Cleanup(), target="<t>")
    page = render(result, header=None, requests=Requests())
    assert "<script" not in page and "<img" not in page and "<em>" not in page and "<t>" not in page
    assert "&lt;script&gt;console.error(1)&lt;/script&gt;" in page
