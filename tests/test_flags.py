"""The flags as one typed record: every flag a parser offers lands in RunFlags (or is a face's own mode), the
faults are read one way, and each face's words come from one place (face.py)."""

from __future__ import annotations

import dataclasses

import pytest

from zorora_e2e_plugin.cli import build_parser
from zorora_e2e_plugin.config.checks import SettingsError
from zorora_e2e_plugin.config.faces import CLI, REPL
from zorora_e2e_plugin.config.flags import RunFlags, SweepFlags, faults_from, session_parser
from zorora_e2e_plugin.core.diagnosis import Diagnosis, Whose
from zorora_e2e_plugin.sandbox.faults import Fault

FACE_MODES = {"help", "version", "command", "sweep", "history", "older_than", "dry_run"}  # not run flags


def _dests(parser):
    return {action.dest for action in parser._actions} - FACE_MODES


def _parsers():
    commands = build_parser()._subparsers._group_actions[0].choices
    return {"run": commands["run"], "demo": commands["demo"], "REPL": session_parser(lambda text: None, prog="x")}


@pytest.mark.parametrize("face", ["run", "demo", "REPL"])
def test_every_run_flag_of_every_face_is_a_field_of_run_flags(face):
    fields = {f.name for f in dataclasses.fields(RunFlags)}
    assert _dests(_parsers()[face]) - fields == set()


def test_the_sweep_flags_are_a_field_of_sweep_flags():
    sweep = build_parser()._subparsers._group_actions[0].choices["sweep"]
    dests = {action.dest for action in sweep._actions} - {"help", "no_color"}  # --no-color: the console's
    assert dests == {f.name for f in dataclasses.fields(SweepFlags)}


def test_parsed_flags_are_typed_and_normalised(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    given = ["--preflight-only", "--json", "~/r.json", "--fault", "no-audit"]
    flags = RunFlags.of(_parsers()["demo"].parse_args(given))
    assert flags.phases == [0] and flags.json_path == str(tmp_path / "r.json") and flags.fault == ("no-audit",)
    assert RunFlags.of(_parsers()["REPL"].parse_args([])) == RunFlags()  # nothing given: every default


def test_both_faces_read_faults_the_one_way():
    assert faults_from(["latency:5", "no-audit"]) == [Fault("latency", 5), Fault("no-audit")]
    with pytest.raises(SettingsError, match=r"^--fault: unknown fault 'nonsense'; valid faults: stage-prefix"):
        faults_from(["nonsense"])


def test_a_hint_is_worded_by_the_face_that_shows_it():
    hint = Diagnosis("ZE-TEST-001", Whose.SETTINGS, "point {base_url} at the invoke URL; set {region}")
    assert CLI.hint(hint) == "point --base-url (ONA_API_BASE_URL) at the invoke URL; set --region/AWS_REGION"
    assert REPL.hint(hint) == "point ONA_API_BASE_URL (then restart Zorora) at the invoke URL; set AWS_REGION"
