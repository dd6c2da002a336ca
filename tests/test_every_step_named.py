"""Issue 29 item 3: the catch-all id is gone, and every failing or warning step carries a catalogue id whose `whose`
is true. The sweep runs every sandbox fault, every seeded readiness variant and every way the engineer's settings
can be wrong once a run starts, and fails on a failing or warning step without a catalogue id (or with the
validator's "no cause named" id, ZE-RUN-004, or its own error, ZE-RUN-002).
"""

from __future__ import annotations

import io
import json
import socket
import uuid

import pytest
from helpers.engine import run_engine, zorora_standin

import zorora_e2e_plugin.core.catalogue  # noqa: F401  (fills CATALOGUE)
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.diagnosis import CATALOGUE, Whose
from zorora_e2e_plugin.core.outcomes import FAIL, WARN
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox
from zorora_e2e_plugin.sandbox.faults import FAULT_USAGE, ROUTED
from zorora_e2e_plugin.sandbox.seeding import VARIANTS

GAPS = {"ZE-RUN-004", "ZE-RUN-002"}  # a step that named no cause; the validator's own error

# One concrete value for each fault that needs one (every fault in the catalogue is run: a new one without a value
# here fails test_every_fault_is_swept)
VALUES = {
    "missing-route": ["missing-route:/diff", "missing-route:/challengers"],
    "latency": ["latency:20"],
    "cold-start": ["cold-start:1500"],
    "flaky": ["flaky:30"],
    "error-key": ["error-key:message"],
    "round": ["round:1"],
    "archive-reason": ["archive-reason:replaced"],
    "throttle": ["throttle:5/10"],
    "listing-lag": ["listing-lag:latest_model"],
    "s3-clock": ["s3-clock:7200"],
    "lambda-outlives": ["lambda-outlives:300"],
}
ROUTE_VALUES = ["", ":/metrics", ":/promote"]  # a routed fault on every route, then on one route after the gate
SLOW = {"hang", "hang:/metrics", "hang:/promote", "lambda-outlives:300", "cold-start:1500", "huge-body"}


def _faults():
    for name, _usage in FAULT_USAGE.items():
        if name in ROUTED:
            yield from (name + route for route in ROUTE_VALUES)
        elif name in VALUES:
            yield from VALUES[name]
        else:
            yield name


FAULTS = list(_faults())


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-named-{uuid.uuid4().hex[:8]}") as sb:
        yield sb


def unnamed(result):
    """Every failing or warning step without a catalogue id, or with one that names no cause."""
    return [
        (s.id, s.status, (s.diagnosis or {}).get("id"), s.actual[:160])
        for s in result.steps
        if s.status in (FAIL, WARN)
        and (not s.diagnosis or s.diagnosis.get("id") not in CATALOGUE or s.diagnosis.get("id") in GAPS)
    ]


def test_every_fault_is_swept():
    names = {fault.split(":")[0] for fault in FAULTS}
    assert names == set(FAULT_USAGE)


@pytest.mark.parametrize("client", ["direct", "zorora"])
@pytest.mark.parametrize("fault", FAULTS)
def test_every_failing_or_warning_step_of_a_faulty_sandbox_names_its_cause(sandbox, fault, client, monkeypatch):
    slow = fault in SLOW
    with zorora_standin(monkeypatch):  # Zorora's classes importable (the stand-in) for --client zorora
        result, text = run_engine(
            sandbox, [fault], timeout=1 if slow else 3, deadline=20 if slow else 60, client=client
        )
    assert unnamed(result) == [], text
    for step in result.steps:
        if step.diagnosis:
            assert step.diagnosis["whose"] == CATALOGUE[step.diagnosis["id"]].whose


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("named", [False, True])
def test_every_seeded_readiness_variant_names_its_cause_truly(sandbox, variant, named):
    seeded = sandbox.seed_customer(f"acme-{variant}:{variant}")
    challenger = seeded.challenger_id if named else None
    result, text = _readiness(sandbox, seeded.customer_id, challenger)
    assert unnamed(result) == [], text
    gates = [s for s in result.steps if s.id == "6.6"][0]
    if variant == "eligible":
        assert gates.status != FAIL, text
    else:  # the challenger's own state: nobody's fault, nothing broken
        assert gates.diagnosis["id"] == "ZE-FOR-005" and gates.diagnosis["whose"] == "model", text
        assert "the platform's Lambda code" not in text and "nothing is broken" in text


def _readiness(sandbox, customer, challenger=None):
    out = io.StringIO()
    settings = resolve(
        RunFlags(client="direct", preflight_only=True, readiness_for=[customer] + ([challenger] if challenger else [])),
        {},
        target=sandbox_target(sandbox),
    )
    result = validate(settings, console=make_console(file=out, no_color=True), options=RunOptions())
    return result, out.getvalue()


@pytest.mark.parametrize(
    "customer, challenger, step, status, diagnosis, whose",
    [
        ("nosuch-customer", None, "6.2", FAIL, "ZE-FOR-001", "settings"),  # a typo in the customer id
        # ... in the challenger's id: 6.1's warning, not a failure (issue 30 item 1: not answerable, exit 5)
        ("acme-eligible", "acme-eligible/challenger_19990101_000000", "6.1", WARN, "ZE-FOR-002", "settings"),
    ],
)
def test_a_typo_is_the_settings(sandbox, customer, challenger, step, status, diagnosis, whose):
    sandbox.seed_customer("acme-eligible")
    result, text = _readiness(sandbox, customer, challenger)
    assert unnamed(result) == [], text
    found = {s.id: s for s in result.steps}
    assert found[step].status == status and found[step].diagnosis["id"] == diagnosis, text
    assert found[step].diagnosis["whose"] == whose
    assert "ZE-CHECK-000" not in text and "the platform's Lambda code" not in text, text
    flagged = [s for s in result.steps if s.status in (FAIL, WARN)]
    assert [s.id for s in flagged] == [step], text  # one cause, once
    assert result.readiness["answer"]["kind"] == "unanswerable" and result.exit_code == 5, text


def test_no_challenger_left_is_nothing_to_promote_and_nothing_is_broken(sandbox):
    """A real customer whose challengers were all promoted or removed: no step fails or warns (the model's state,
    not a fault of anyone's), and the answer says what production is (issue 29 item 3, issue 30 item 1)."""
    customer = "acme-empty"
    sandbox.seed_customer(customer)
    s3, key = sandbox.s3_client(), f"customer_tailored/{customer}/latest_model.json"
    registry = json.loads(s3.get_object(Bucket=sandbox.bucket, Key=key)["Body"].read())
    s3.put_object(Bucket=sandbox.bucket, Key=key, Body=json.dumps({**registry, "challengers": []}).encode())
    result, text = _readiness(sandbox, customer, None)
    assert [s.id for s in result.steps if s.status in (FAIL, WARN)] == [], text
    answer = result.readiness["answer"]
    assert answer["kind"] == "nothing" and result.exit_code == 5, text
    assert f"no challenger to promote for {customer}" in answer["line"], answer
    assert registry["production"]["model_id"] in answer["line"], answer
    assert "the platform's Lambda code" not in text and "fix" not in text.lower().split("phase")[-1], text


def _refusing_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _broken_settings(sandbox, case):
    """(flags, environment) for `case`: the sandbox's own settings with one thing wrong, as an engineer's could be."""
    env = {
        "ONA_API_BASE_URL": sandbox.api_url,
        "ONA_API_TOKEN": sandbox.token,
        "OUTPUT_BUCKET": sandbox.bucket,
        "AWS_REGION": sandbox.region,
        "AWS_ENDPOINT_URL_S3": sandbox.s3_endpoint_url,
        "AWS_ACCESS_KEY_ID": sandbox.access_key_id,
        "AWS_SECRET_ACCESS_KEY": sandbox.secret_access_key,
    }
    wrong = {
        "wrong token": {"ONA_API_TOKEN": "not-the-token"},
        "wrong stage": {"ONA_API_BASE_URL": sandbox.api_url.replace("/prod/", "/staging/")},
        "wrong port": {"ONA_API_BASE_URL": f"http://127.0.0.1:{_refusing_port()}/prod/api/v1"},
        "unresolvable host": {"ONA_API_BASE_URL": "http://no-such-host.invalid/prod/api/v1"},
        "wrong bucket": {"OUTPUT_BUCKET": "no-such-bucket-zorora"},
        "no AWS credentials": {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        "unknown key": {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY"},
        "wrong secret": {"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
        "expired token": {"AWS_SESSION_TOKEN": "an-expired-session-token"},
        "S3 endpoint down": {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{_refusing_port()}"},
    }[case]
    env.update(wrong)
    return {k: v for k, v in env.items() if v is not None}


SETTINGS_ERRORS = {
    "wrong token": ("0.2", "ZE-AUTH-001"),
    "wrong stage": ("0.1", "ZE-URL-001"),
    "wrong port": ("0.1", "ZE-NET-002"),
    "unresolvable host": ("0.1", "ZE-NET-003"),
    "wrong bucket": ("0.4", "ZE-S3-002"),
    "no AWS credentials": ("0.4", "ZE-S3-005"),
    "unknown key": ("0.4", "ZE-S3-003"),
    "wrong secret": ("0.4", "ZE-S3-003"),
    "expired token": ("0.4", "ZE-S3-009"),
    "S3 endpoint down": ("0.4", "ZE-S3-006"),
}


@pytest.mark.parametrize("case", list(SETTINGS_ERRORS))
def test_every_settings_error_is_the_settings_named_once(sandbox, case, monkeypatch):
    step, diagnosis = SETTINGS_ERRORS[case]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")  # boto3 finds no other credentials
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    sandbox.set_faults(["s3-auth"])  # S3 checks credentials as AWS does
    try:
        out = io.StringIO()
        result = validate(
            resolve(RunFlags(client="direct", timeout=2), _broken_settings(sandbox, case)),
            console=make_console(file=out, no_color=True),
            options=RunOptions(),
        )
    finally:
        sandbox.set_faults([])
    text = out.getvalue()
    assert unnamed(result) == [], text
    failed = [s for s in result.steps if s.status == FAIL]
    assert [s.id for s in failed] == [step], text  # one cause, said once: nothing fails on top of it
    assert failed[0].diagnosis == {"id": diagnosis, "whose": Whose.SETTINGS, "hint": failed[0].hint}, text
    assert "may be left" not in text and "Left in S3" not in text, text
    assert "fix your settings" in text.strip().splitlines()[-1] and "Lambda code" not in text, text


class DeleteRefusingS3:
    """The sandbox's S3 behind a proxy that refuses every delete (403 AccessDenied, as S3 answers an identity
    without s3:DeleteObject); everything else is forwarded."""

    DENIED = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied'
        b"</Message></Error>"
    )

    def __init__(self, sandbox):
        from helpers.wire import LoopbackServer, QuietHandler, forward

        upstream = int(sandbox.s3_endpoint_url.rsplit(":", 1)[1])
        denied = self.DENIED

        class Handler(QuietHandler):
            def _any(self):
                if self.command == "DELETE" or (self.command == "POST" and "delete" in self.path.split("?", 1)[-1]):
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(length)
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(denied)))
                    self.end_headers()
                    self.wfile.write(denied)
                    return
                forward(self, upstream, self.path)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self.server = LoopbackServer(Handler)

    def __enter__(self):
        self.server.__enter__()
        return self.server

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


def test_leftovers_name_what_refused_to_delete_them(sandbox):
    """Item 3: S3 refusing the cleanup's deletes (no s3:DeleteObject): 5.1 and 5.2 name that refusal (the
    deployment's IAM) and the sweep that removes what is left, never "the platform's Lambda code"."""
    import dataclasses

    with DeleteRefusingS3(sandbox) as s3:
        target = dataclasses.replace(sandbox_target(sandbox), s3_endpoint_url=s3.url)
        out = io.StringIO()
        result = validate(
            resolve(RunFlags(client="direct"), {}, target=target),
            console=make_console(file=out, no_color=True),
            options=RunOptions(),
        )
    text = out.getvalue()
    try:
        assert unnamed(result) == [], text
        for step_id in ("5.1", "5.2"):
            found = [s for s in result.steps if s.id == step_id][0]
            assert found.status == FAIL and found.diagnosis["id"] == "ZE-S3-014", text
            assert found.diagnosis["whose"] == "deployment", text
        assert "sweep --customer-id" in [s for s in result.steps if s.id == "5.2"][0].hint
        assert "Lambda code" not in text and not result.cleanup.proven_empty, text
    finally:
        from helpers.results import objects_of

        keys = objects_of(sandbox, result.customer_id)
        if keys:
            sandbox.s3_client().delete_objects(Bucket=sandbox.bucket, Delete={"Objects": [{"Key": k} for k in keys]})


@pytest.mark.parametrize("faults", [["no-version-delete"], ["stage-prefix", "no-version-delete"]])
def test_versions_left_name_the_permission_that_refused_them(faults):
    """Item 3, a versioned bucket: versions the credentials may not delete are the deployment's IAM (ZE-S3-015),
    after a full run and after a failed gate (its probe's versions)."""
    with Sandbox(bucket=f"zorora-e2e-named-v-{uuid.uuid4().hex[:6]}", versioned=True) as versioned:
        result, text = run_engine(versioned, faults)
    assert unnamed(result) == [], text
    left = [s for s in result.steps if s.id.startswith("5.") and s.status == FAIL]
    assert left and all(s.diagnosis["id"] == "ZE-S3-015" and s.diagnosis["whose"] == "deployment" for s in left)
