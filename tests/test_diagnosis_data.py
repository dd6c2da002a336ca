"""Issue 28, "Diagnoses and outcomes as data": a Diagnosis is a record (id, whose, text), never a str; each face
words it when it shows it; statuses and verdicts are str-valued enums whose words reach every report unchanged;
no step hands its hint over as text."""

from __future__ import annotations

import ast
import dataclasses
import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

from zorora_e2e_plugin.config.faces import CLI, REPL
from zorora_e2e_plugin.core import catalogue, diagnosis
from zorora_e2e_plugin.core.diagnosis import (
    CATALOGUE,
    SLOTS,
    Whose,
    describe,
    joined,
)
from zorora_e2e_plugin.core.outcomes import (
    FAIL,
    FAILED,
    PASS,
    SKIP,
    WARN,
    Cleanup,
    RunResult,
    Status,
    StepFailed,
    StepResult,
    StepWarning,
    Verdict,
    decide_verdict,
)
from zorora_e2e_plugin.core.steps import Phase, Reporter, Step
from zorora_e2e_plugin.run.waves import Runner

PLAN = pathlib.Path(catalogue.__file__).resolve().parent.parent / "plan"


# ------------------------------------------------------------------------------ a Diagnosis is data


def test_a_diagnosis_is_a_frozen_record_not_a_str():
    d = catalogue.TOKEN_MISMATCH
    assert not isinstance(d, str) and dataclasses.is_dataclass(d)
    assert (d.id, d.whose) == ("ZE-AUTH-001", Whose.SETTINGS) and isinstance(d.text, str)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.id = "ZE-AUTH-002"
    with pytest.raises(TypeError):
        f"{d}"  # shown only through a face
    with pytest.raises(TypeError):
        "text " + d


def test_filling_a_template_keeps_its_id_and_whose_and_its_braces_are_plain_text():
    filled = catalogue.METRICS_KEY.fill(key="model_metrics/{C}/m/backtest_results.json")
    assert (filled.id, filled.whose) == (catalogue.METRICS_KEY.id, catalogue.METRICS_KEY.whose)
    assert filled != catalogue.METRICS_KEY
    assert catalogue.METRICS_KEY.text.startswith("the metrics object exists at {key}")
    assert CLI.hint(filled).startswith("the metrics object exists at model_metrics/{C}/m/backtest_results.json but")
    assert "model_metrics/{customer_id}/{model_id}/backtest_results.json" in CLI.hint(filled)  # the template's own
    actor = catalogue.THIRD_ACTOR.fill(recorded="svc-{x}", actor="bot")
    assert "the actor 'svc-{x}', which" in CLI.hint(actor) and "(both 'bot', the caller)" in CLI.hint(actor)


def test_details_are_explicit_and_keep_the_id():
    more = catalogue.NON_GREEDY.with_detail("; the encoded id {x} answers HTTP 404 too")
    assert more.id == "ZE-ROUTE-002"
    assert CLI.hint(more).endswith("exists in S3); the encoded id {x} answers HTTP 404 too")
    lead = catalogue.NOT_JSON.with_lead("GET /diff answered JSON that is not an object: ")
    assert lead.id == "ZE-URL-003"
    assert CLI.hint(lead).startswith("GET /diff answered JSON that is not an object: the API")
    assert catalogue.NON_GREEDY.with_detail("") is catalogue.NON_GREEDY


def test_hints_joined_take_the_first_ones_id_and_keep_every_text():
    first = catalogue.LATEST_ALIAS.with_lead("the gates are judged from the API's answers; ")
    both = joined([None, first, catalogue.THROTTLED])
    assert (both.id, both.whose) == (catalogue.LATEST_ALIAS.id, catalogue.LATEST_ALIAS.whose)
    assert CLI.hint(both) == " | ".join(CLI.hint(d) for d in (first, catalogue.THROTTLED))
    assert joined([None, None]) is None


def test_there_is_no_catch_all_every_diagnosis_is_a_catalogue_entry_with_a_whose():
    """Issue 29 item 3: the catch-all ZE-CHECK-000 is gone; whose is the entry's own, never guessed from where its
    step failed."""
    for name in ("UNCLASSIFIED", "unclassified", "unhinted", "whose_unclassified"):
        assert not hasattr(diagnosis, name), name
    assert "ZE-CHECK-000" not in CATALOGUE
    assert all(isinstance(entry.whose, Whose) for entry in CATALOGUE.values())
    assert describe(catalogue.TOKEN_MISMATCH, "t") == {"id": "ZE-AUTH-001", "whose": Whose.SETTINGS, "hint": "t"}
    assert describe(None, "") is None
    assert not hasattr(catalogue, "identify")


def test_a_step_hands_over_a_diagnosis_never_text():
    with pytest.raises(TypeError):
        StepFailed("expected", "actual", "a hint as text")
    assert StepFailed("e", "a", "").hint is None and StepWarning("e", "a").hint is None
    assert StepFailed("e", "a", catalogue.DNS).hint is catalogue.DNS


HINT_AT = {"StepFailed": 2, "StepWarning": 2, "StepSkipped": 2, "that": 3, "equal": 3, "warn": 2}


def _text(node) -> bool:
    """A hint written as text: a non-empty string, an f-string, or a sum with one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value != ""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _text(node.left) or _text(node.right)
    if isinstance(node, ast.IfExp):
        return _text(node.body) or _text(node.orelse)
    return False


def test_no_step_of_the_plan_passes_its_hint_as_text():
    found = []
    for path in sorted(PLAN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in HINT_AT:
                continue
            given = [a for a in node.args[HINT_AT[name] : HINT_AT[name] + 1]] + [
                k.value for k in node.keywords if k.arg == "hint"
            ]
            found += [f"{path.name}:{node.lineno}" for value in given if _text(value)]
    assert found == []


# ------------------------------------------------------------------------------ each face words it


@pytest.mark.parametrize(
    "name, cli, repl",
    [
        (
            "S3_CLIENT",
            "check --region/AWS_REGION, --s3-endpoint-url and the AWS credentials",
            "check AWS_REGION, AWS_ENDPOINT_URL_S3 and the AWS credentials",
        ),
        (
            "S3_UNREACHABLE",
            "S3 did not answer: check the network, --s3-endpoint-url/AWS_ENDPOINT_URL_S3 and --region",
            "S3 did not answer: check the network, AWS_ENDPOINT_URL_S3 and AWS_REGION",
        ),
    ],
)
def test_each_face_fills_the_slots_with_its_own_words(name, cli, repl):
    d = getattr(catalogue, name)
    assert "--" not in d.text and "{" in d.text  # the template names no flag: a slot does
    assert (CLI.hint(d), REPL.hint(d)) == (cli, repl)


def test_the_token_fix_says_restart_zorora_in_a_session_and_names_the_flag_on_the_command_line():
    cli, repl = CLI.hint(catalogue.TOKEN_MISMATCH), REPL.hint(catalogue.TOKEN_MISMATCH)
    assert "global-training-api-token (--token-from-ssm); if the token" in cli
    assert "global-training-api-token (into ONA_API_TOKEN, then restart Zorora); if the token" in repl


def test_every_catalogue_entry_is_shown_whole_by_both_faces():
    for entry in CATALOGUE.values():
        for face in (CLI, REPL):
            shown = face.hint(entry)
            for slot in SLOTS:
                assert "{" + slot + "}" not in shown, (entry.id, face)


class _Results(Reporter):
    def __init__(self):
        self.results = []

    def step_finished(self, result):
        self.results.append(result)


def test_the_runner_words_a_steps_hint_with_the_runs_face_and_keeps_its_id():
    def no_bucket(ctx):
        raise StepFailed("a bucket", "NoSuchBucket", catalogue.for_s3("NoSuchBucket"), config_error=True)

    shown = {}
    for face in (CLI, REPL):
        reporter = _Results()
        Runner(object(), reporter, deadline=30, redact=lambda text: text, reword=face.hint).run_phases(
            [Phase(0, "gate", ((Step("0.4", "S3", no_bucket),),), gate=True)]
        )
        result = reporter.results[0]
        assert result.diagnosis == {"id": "ZE-S3-002", "whose": Whose.SETTINGS, "hint": result.hint}
        shown[face.name] = result.hint
    assert "--region/AWS_REGION to its region" in shown["zorora-e2e"]
    assert "and AWS_REGION to its region" in shown["ml-validate-e2e"]


# ------------------------------------------------------------------------------ statuses and verdicts


def test_statuses_and_verdicts_are_str_enums_that_stay_their_words():
    assert [s.value for s in Status] == ["pass", "fail", "warn", "skip"]
    assert [v.value for v in Verdict] == ["passed", "failed", "gate_failed", "interrupted", "cancelled"]
    assert FAIL is Status.FAIL and FAILED is Verdict.FAILED and isinstance(FAIL, str)
    for member in (FAIL, FAILED, Whose.PLATFORM):
        word = member.value
        assert (str(member), f"{member}", f"{member}", format(member, ">12")) == (word, word, word, f"{word:>12}")
        assert json.dumps({"x": member}) == json.dumps({"x": word}) and member == word
        assert {word: 1}[member] == 1 and {member: 1}[word] == 1  # the same hash as the word
    element = ET.Element("testcase", status=SKIP)
    assert ET.tostring(element) == b'<testcase status="skip" />'


def test_results_hold_the_enums_whatever_they_were_given():
    step = StepResult("2.1", 2, "t", "warn")
    assert step.status is WARN and step.to_dict()["status"] == "warn"
    run = RunResult("failed", "c", "direct", 10, [step, StepResult("2.2", 2, "t", PASS)], Cleanup())
    assert run.verdict is FAILED and run.phase_status(2) is WARN
    assert json.loads(json.dumps(run.to_dict()))["phases"] == [{"id": 2, "name": "", "status": "warn"}]
    assert (
        decide_verdict(
            interrupted=False, cancelled=False, gate_failed=False, statuses=[PASS, FAIL], cleanup_proven_empty=True
        )
        is FAILED
    )
    with pytest.raises(ValueError):
        StepResult("2.3", 2, "t", "failed")  # a verdict is no status
