"""`zorora-e2e canary-template` (issue 31 item 4): cfn-lint accepts it with no error (nor warning), and its role is
least privilege: the S3 actions and keys a preflight, a full run (on a plain and on a versioned bucket) and a
readiness check send, read from the sandbox's request log, are each allowed by the role's statements as IAM would
evaluate them (actions, resources with wildcards, the s3:prefix conditions), and nothing wider is."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from urllib.parse import parse_qsl, unquote

import pytest
import yaml
from helpers.metrics import run_with_metrics

from zorora_e2e_plugin.canary.template import HANDLER, run_prefixes, template
from zorora_e2e_plugin.metrics.build import target_of
from zorora_e2e_plugin.sandbox import Sandbox

ACCOUNT, REGION, STACK = "123456789012", "af-south-1", "ona-canary"
CFN_LINT = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
URL = "https://abc123.execute-api.af-south-1.amazonaws.com/prod/api/v1"


# ------------------------------------------------------------------ the template, its intrinsic functions evaluated


class Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


Loader.add_multi_constructor("!", _tag)


def parsed():
    return yaml.load(template(), Loader=Loader)


def evaluate(node, params, doc):
    """The template's value with its intrinsic functions worked out for these parameters (what CloudFormation
    does at deploy time, for the functions the template uses)."""
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": STACK,
        "LogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-canary:*",
    }
    values = {**{k: str(v.get("Default", "")) for k, v in doc["Parameters"].items()}, **params, **pseudo}

    def cond(name):
        return bool(evaluate(doc["Conditions"][name], params, doc))

    if isinstance(node, list):
        out = [evaluate(item, params, doc) for item in node]
        return [item for item in out if item is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else values.get(arg, f"<{arg}>")
        if key == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], arg)
        if key == "Fn::If":
            return evaluate(arg[1] if cond(arg[0]) else arg[2], params, doc)
        if key == "Fn::Equals":
            return evaluate(arg[0], params, doc) == evaluate(arg[1], params, doc)
        if key == "Fn::Not":
            return not evaluate(arg[0], params, doc)
        if key == "Fn::Join":
            return arg[0].join(evaluate(arg[1], params, doc))
        if key == "Fn::Select":
            return evaluate(arg[1], params, doc)[int(arg[0])]
        if key == "Fn::Split":
            return evaluate(arg[1], params, doc).split(arg[0])
        if key == "Fn::GetAtt":
            return f"<{'.'.join(arg)}>"
    return {k: evaluate(v, params, doc) for k, v in node.items()}


NO_VALUE = object()


def statements(params=None):
    doc = parsed()
    role = evaluate(doc["Resources"]["Role"]["Properties"], dict(params or {}), doc)
    (policy,) = role["Policies"]
    return policy["PolicyDocument"]["Statement"]


# ------------------------------------------------------------------ IAM's evaluation, for Allow statements


def like(pattern: str, value: str, case: bool = True) -> bool:
    """IAM's wildcards: * any run of characters (/ included), ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.I) is not None


def listify(value):
    return value if isinstance(value, list) else [value]


def condition_holds(condition, context) -> bool:
    for operator, tests in (condition or {}).items():
        for key, wanted in tests.items():
            wanted = [str(w) for w in listify(wanted)]
            present = key in context
            if operator == "Null":
                if (wanted == ["true"]) == present:
                    return False
            elif not present:
                return False
            elif operator == "StringLike" and not any(like(w, context[key]) for w in wanted):
                return False
            elif operator == "StringEquals" and context[key] not in wanted:
                return False
            elif operator not in ("StringLike", "StringEquals", "Null"):
                raise AssertionError(f"condition operator {operator} not evaluated here")
    return True


def allowed(policy, action, resource, context=None) -> bool:
    assert all(s["Effect"] == "Allow" for s in policy)  # no Deny to weigh
    return any(
        any(like(a, action, case=False) for a in listify(s["Action"]))
        and any(like(r, resource) for r in listify(s["Resource"]))
        and condition_holds(s.get("Condition"), context or {})
        for s in policy
    )


# ------------------------------------------------------------------ what runs send, from the request log


def needs(record, bucket):
    """(action, resource, context) IAM authorises for one S3 request in the sandbox's log."""
    path = unquote(record.path).lstrip("/")
    query = dict(parse_qsl(record.query, keep_blank_values=True))
    arn = f"arn:aws:s3:::{bucket}"
    listing = {"s3:prefix": query["prefix"]} if "prefix" in query else {}
    if path.rstrip("/") == bucket:
        if record.method == "HEAD":
            return [("s3:ListBucket", arn, {})]
        if record.method == "GET" and "versioning" in query:
            return [("s3:GetBucketVersioning", arn, {})]
        if record.method == "GET" and "versions" in query:
            return [("s3:ListBucketVersions", arn, listing)]
        if record.method == "GET" and ("list-type" in query or not query):
            return [("s3:ListBucket", arn, listing)]
        if record.method == "POST" and "delete" in query:
            action = "s3:DeleteObjectVersion" if record.versions else "s3:DeleteObject"
            return [(action, f"{arn}/{key}", {}) for key in record.keys]
        raise AssertionError(f"an S3 request this test does not map: {record.method} {record.path}?{record.query}")
    assert path.startswith(bucket + "/"), path
    key = path[len(bucket) + 1 :]
    action = {
        "GET": "s3:GetObject",
        "HEAD": "s3:GetObject",
        "PUT": "s3:PutObject",
        "DELETE": "s3:DeleteObjectVersion" if "versionId" in query else "s3:DeleteObject",
    }[record.method]
    assert "x-id=CopyObject" not in record.query and "uploads" not in query, record
    return [(action, f"{arn}/{key}", {})]


@pytest.fixture(scope="module")
def sent():
    """Every (action, resource, context) a preflight, full runs (plain and versioned bucket) and a readiness
    check for acme sent, and the bucket's name. Each sandbox its own bucket: moto's S3 is process-wide, and a
    bucket left versioned would stay so for every later sandbox of the same name."""
    out = set()
    for versioned in (False, True):
        with Sandbox(versioned=versioned, bucket="canary-role-versioned" if versioned else "canary-role") as sb:
            sb.seed_customer("acme")
            runs = [dict(preflight_only=True), {}, dict(preflight_only=True, readiness_for=["acme"])]
            for flags in runs:
                result, text, _ = run_with_metrics(sb, sinks=("emf",), **flags)
                assert result.verdict == "passed", text
            for record in sb.request_log:
                if record.kind == "s3":
                    out |= {(a, r, tuple(sorted(c.items()))) for a, r, c in needs(record, sb.bucket)}
    return {(a, r.replace("canary-role-versioned", "canary-role"), c) for a, r, c in out}, "canary-role"


@pytest.mark.slow
def test_cfn_lint_accepts_the_template(tmp_path):
    path = tmp_path / "canary.yaml"
    path.write_text(template(), encoding="utf-8")
    done = subprocess.run([CFN_LINT, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


@pytest.mark.slow
def test_cfn_lint_is_not_a_rubber_stamp(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(template().replace("Runtime: python3.12", "Runtime: python2.1"), encoding="utf-8")
    done = subprocess.run([CFN_LINT, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "E" in done.stdout


def test_the_cli_prints_the_template():
    script = os.path.join(os.path.dirname(sys.executable), "zorora-e2e")
    done = subprocess.run([script, "canary-template"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == template()


@pytest.mark.slow
def test_the_role_allows_every_request_the_runs_send(sent):
    requests, bucket = sent
    policy = statements({"BucketName": bucket, "ReadinessCustomer": "acme"})
    refused = [r for r in requests if not allowed(policy, r[0], r[1], dict(r[2]))]
    assert refused == []
    actions = {a for a, _r, _c in requests}
    assert {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:DeleteObjectVersion",
        "s3:GetBucketVersioning",
    } <= actions, actions  # the derivation saw them all
    probes = [r for r in requests if "zorora-e2e-claim.txt" in r[1]]
    assert {a for a, _r, _c in probes} >= {"s3:PutObject", "s3:DeleteObject"}


def test_the_role_allows_nothing_wider(sent):
    requests, bucket = sent
    policy = statements({"BucketName": bucket, "ReadinessCustomer": "acme"})
    s3 = [s for s in policy if any(a.startswith("s3:") for a in listify(s["Action"]))]
    used = {a for a, _r, _c in requests}
    assert {a for s in s3 for a in listify(s["Action"])} == used  # no S3 action the runs do not send
    for statement in s3:  # every S3 resource pattern is one the runs used, and none is the bucket's every key
        for resource in listify(statement["Resource"]):
            assert resource != f"arn:aws:s3:::{bucket}/*"
            assert any(like(resource, r) for _a, r, _c in requests), resource
    arn = f"arn:aws:s3:::{bucket}"
    denied = [
        ("s3:GetObject", f"{arn}/customer_tailored/beta/latest_model.json", {}),  # another real customer
        ("s3:GetObject", f"{arn}/model_metrics/acme/challenger_1.json", {}),  # acme beyond its two keys
        ("s3:PutObject", f"{arn}/customer_tailored/acme/latest_model.json", {}),  # never writes a real customer
        ("s3:DeleteObject", f"{arn}/audit_logs/acme/events.json", {}),
        ("s3:PutObject", f"{arn}/other.txt", {}),
        ("s3:PutObject", f"{arn}/zorora-e2e-test-x/a.json", {}),  # a test id, not under a run's prefixes
        ("s3:GetObject", "arn:aws:s3:::another-bucket/customer_tailored/zorora-e2e-test-1/x", {}),
        ("s3:ListBucket", arn, {"s3:prefix": "customer_tailored/"}),
        ("s3:ListBucket", arn, {"s3:prefix": ""}),
        ("s3:ListBucketVersions", arn, {}),
        ("s3:ListBucketVersions", arn, {"s3:prefix": "audit_logs/"}),
        ("s3:DeleteBucket", arn, {}),
        ("s3:PutBucketPolicy", arn, {}),
        ("s3:PutObjectAcl", f"{arn}/customer_tailored/zorora-e2e-test-1/x", {}),
        ("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/other", {}),
        (
            "ssm:GetParameters",
            f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ona-platform/prod/global-training-api-token",
            {},
        ),
        ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Other"}),
        ("cloudwatch:PutMetricData", "*", {}),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/other:*", {}),
    ]
    wrongly = [d for d in denied if allowed(policy, *d)]
    assert wrongly == []
    for ok in [
        (
            "ssm:GetParameter",
            f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ona-platform/prod/global-training-api-token",
            {},
        ),
        ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "ZororaE2E"}),
        ("s3:PutObject", f"{arn}/model_metrics/zorora-e2e-test-20260101000000-abc123/.claim", {}),
    ]:
        assert allowed(policy, *ok), ok  # the token, the metrics, and a marker under a run's own prefix


def test_without_a_readiness_customer_no_real_customer_is_readable(sent):
    _requests, bucket = sent
    policy = statements({"BucketName": bucket})
    arn = f"arn:aws:s3:::{bucket}"
    assert not allowed(policy, "s3:GetObject", f"{arn}/customer_tailored/acme/latest_model.json")
    assert not any(s.get("Sid") == "ReadinessReads" for s in policy)


def test_the_evaluator_catches_what_it_is_for():
    policy = [
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": ["a/x-*"]}},
        },
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/a/x-*"]},
    ]
    assert allowed(policy, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "a/x-1/"})
    assert not allowed(policy, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "a/"})
    assert not allowed(policy, "s3:ListBucket", "arn:aws:s3:::b", {})
    assert allowed(policy, "S3:GETOBJECT", "arn:aws:s3:::b/a/x-1/k/deep")
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::b/a/y-1")
    assert not allowed(policy, "s3:PutObject", "arn:aws:s3:::b/a/x-1")


def test_the_alarm_watches_what_the_canary_publishes():
    doc = parsed()
    for params, kind in (({}, "preflight"), ({"Check": "full"}, "full"), ({"ReadinessCustomer": "acme"}, "readiness")):
        params = {"ApiBaseUrl": URL, **params}
        alarm = evaluate(doc["Resources"]["Alarm"]["Properties"], params, doc)
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"Target": target_of(URL), "Kind": kind}
        assert (alarm["MetricName"], alarm["Namespace"], alarm["Unit"]) == ("Passed", "ZororaE2E", "Count")
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Minimum",
            1,
            "LessThanThreshold",
        )
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (
            2,
            2,
            "breaching",
        )
        rule = evaluate(doc["Resources"]["ScheduleRule"]["Properties"], params, doc)
        event = __import__("json").loads(rule["Targets"][0]["Input"])
        from zorora_e2e_plugin.canary import flags_from

        flags = flags_from(event, {}, 170.0)
        assert ("readiness" if flags.readiness_for else "full" if not flags.preflight_only else "preflight") == kind
        assert rule["ScheduleExpression"] == "rate(15 minutes)"
    function = evaluate(doc["Resources"]["Function"]["Properties"], {"ApiBaseUrl": URL}, doc)
    module, _, name = function["Handler"].rpartition(".")
    assert function["Handler"] == HANDLER and callable(getattr(__import__(module, fromlist=[name]), name))
    assert (
        function["Environment"]["Variables"]["ZORORA_E2E_TOKEN_FROM_SSM"]
        == "/ona-platform/prod/global-training-api-token"
    )
    assert set(doc["Parameters"]) >= {"BucketName", "ApiBaseUrl", "TokenParameterName", "Schedule", "AlarmEmail"}


def test_no_secret_in_the_template():
    text = template()
    assert not re.search(r"AKIA[0-9A-Z]{16}|aws_secret_access_key|Bearer |/work/|/home/", text)
    assert all(p.endswith("zorora-e2e-test-*") for p in run_prefixes())
    assert fnmatch.fnmatch("customer_tailored/zorora-e2e-test-1/zorora-e2e-claim.txt", run_prefixes()[0])


def test_the_documented_workflow_and_commands_hold():
    """docs/canary.md's GitHub Actions workflow parses, runs on a schedule, keeps the summary and the HTML report,
    and its zorora-e2e command line is one the CLI accepts."""
    import shlex
    from pathlib import Path

    from zorora_e2e_plugin.cli import build_parser

    text = (Path(__file__).resolve().parent.parent / "docs" / "canary.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    workflow = yaml.safe_load(block)
    on = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads a bare `on` as true
    assert on["schedule"][0]["cron"] == "*/15 * * * *"
    steps = workflow["jobs"]["canary"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert {"summary.md", "e2e.html"} <= set(upload["with"]["path"].split())
    command = next(s["run"] for s in steps if "zorora-e2e run" in str(s.get("run", "")))
    argv = shlex.split(command.replace("\\\n", " "))
    args = build_parser().parse_args(argv[1:])
    assert args.metrics == ["cloudwatch"] and args.summary_md_path == "summary.md" and args.html_path == "e2e.html"
    assert "zorora-e2e canary-template > canary.yaml" in text
