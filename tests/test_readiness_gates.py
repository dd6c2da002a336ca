"""The readiness gates and answer as pure logic (readiness_gates.py), and `--for` as a setting
(readiness_target.py via settings.resolve)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zorora_e2e_plugin.config.checks import SettingsError
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.readiness_target import ReadinessTarget
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.plan.readiness.gates import answer, judge, parse_time
from zorora_e2e_plugin.plan.readiness.phase import ReadOnlyCommands

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)
BASE = {"base_url": "http://127.0.0.1:9/prod/api/v1", "token": "t0ken-value", "phases": [0]}


def entry(**changes):
    e = {
        "model_id": "acme/challenger_20261204_113000",
        "status": "evaluated",
        "evaluated_at": "2026-12-04T12:00:00Z",
        "evaluation_summary": {"verdict": "eligible", "seasonal_regressions": []},
    }
    e.update(changes)
    return e


def metrics(mae, rmse, windows=14):
    return {"model_id": "x", "metrics": {"backtest": {"mae": mae, "rmse": rmse, "windows": windows}}}


PRODUCTION = metrics(45.0, 62.7)
DIFF = {"verdict": "eligible", "improvement": {"mae_pct": 8.44, "rmse_pct": 6.06}, "regressions": []}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-01-20T12:30:00Z", datetime(2025, 1, 20, 12, 30, tzinfo=timezone.utc)),
        ("2025-01-20T12:30:00.123456Z", datetime(2025, 1, 20, 12, 30, 0, 123456, tzinfo=timezone.utc)),
        ("2025-01-20T12:30:00+00:00", datetime(2025, 1, 20, 12, 30, tzinfo=timezone.utc)),
        ("2025-01-20T14:30:00+02:00", datetime(2025, 1, 20, 12, 30, tzinfo=timezone.utc)),
        ("2025-01-20T12:30:00", datetime(2025, 1, 20, 12, 30, tzinfo=timezone.utc)),
        ("yesterday", None),
        (None, None),
        ("2025-13-40T00:00:00Z", None),
    ],
)
def test_times_are_read_leniently(text, expected):
    assert parse_time(text) == expected


def test_every_gate_passes_for_the_plans_numbers():
    gates = judge(entry(), metrics(41.2, 58.9), PRODUCTION, DIFF, NOW)
    assert [g.passed for g in gates] == [True] * 6
    result = answer("acme", "acme/c", gates, DIFF)
    assert result.kind == "ready"
    assert result.line == (
        "✓ ready: ml-promote acme acme/c would pass every gate (MAE +8.4 %, RMSE +6.1 %, "
        "14 windows, evaluated 2 days ago)"
    )


def test_the_freshness_gate_is_seven_days_exactly():
    at_limit = entry(evaluated_at=(NOW - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    past = entry(evaluated_at=(NOW - timedelta(days=7, seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert judge(at_limit, metrics(41.2, 58.9), PRODUCTION, DIFF, NOW)[1].passed is True
    assert judge(past, metrics(41.2, 58.9), PRODUCTION, DIFF, NOW)[1].passed is False


def test_mae_or_rmse_is_enough_and_the_windows_limit_is_12():
    only_rmse = judge(entry(), metrics(44.0, 58.9, windows=12), PRODUCTION, DIFF, NOW)  # MAE +2.2 %, RMSE +6.1 %
    assert only_rmse[4].passed is True and only_rmse[5].passed is True
    neither = judge(entry(), metrics(44.0, 61.0, windows=11), PRODUCTION, DIFF, NOW)
    assert neither[4].passed is False and neither[5].passed is False
    result = answer("acme", "acme/c", neither, DIFF)
    assert result.kind == "refused"
    assert result.line.startswith("✗ ml-promote acme acme/c would be refused: improvement below 5 %")
    assert "(and 1 more: backtest windows)" in result.line
    assert result.warnings and result.warnings[0].startswith("the diff says eligible, but improvement below 5 %")


def test_a_diff_that_says_not_eligible_refuses_even_when_the_gates_pass():
    diff = dict(DIFF, verdict="not_eligible")
    gates = judge(entry(), metrics(41.2, 58.9), PRODUCTION, diff, NOW)
    result = answer("acme", "acme/c", gates, diff)
    assert result.kind == "refused" and "ml-diff says 'not_eligible'" in result.line
    assert "Zorora's ml-promote stops there" in result.warnings[0]


def test_improvement_falls_back_to_the_diff_when_production_metrics_are_missing():
    gates = judge(entry(), metrics(41.2, 58.9), None, DIFF, NOW)
    assert gates[4].passed is True and gates[4].source == "ml-diff"


def test_unknown_windows_make_it_not_answerable():
    gates = judge(entry(), {"metrics": {"backtest": {"mae": 41.2, "rmse": 58.9}}}, PRODUCTION, DIFF, NOW)
    result = answer("acme", "acme/c", gates, DIFF)
    assert result.kind == "unanswerable" and "backtest windows could not be read" in result.line


def test_the_readiness_view_of_the_client_cannot_promote():
    class Client:
        def promote(self, *a):
            raise AssertionError("promote reached")

        rollback = promote

    view = ReadOnlyCommands(Client())
    assert not hasattr(view, "promote") and not hasattr(view, "rollback")


# ---------------------------------------------------------------- --for as a setting


def test_for_is_resolved_with_the_other_settings():
    settings = resolve(RunFlags(**BASE, readiness_for=["acme", "acme/challenger_20261204_113000"]), {})
    assert settings.readiness_for == ReadinessTarget("acme", "acme/challenger_20261204_113000")
    assert settings.phases == frozenset({0})
    settings = resolve(RunFlags(**BASE, readiness_for=["zorora-e2e-test-x"]), {})
    assert settings.readiness_for.customer_id == "zorora-e2e-test-x"
    implied = resolve(RunFlags(**{**BASE, "phases": None}, readiness_for=["acme"]), {})  # a preflight's question
    assert implied.phases == frozenset({0}) and implied.preflight_only


@pytest.mark.parametrize(
    "flags, words",
    [
        ({"phases": [2], "readiness_for": ["acme"]}, "does not combine with --phase 2"),
        ({"readiness_for": ["acme corp"]}, "'acme corp' is not a customer id"),
        ({"readiness_for": ["../acme"]}, "is not a customer id"),
        ({"readiness_for": ["acme", "acme/x y"]}, "is not a model id"),
        ({"readiness_for": ["acme", "a", "b"]}, "at most one challenger id"),
        ({"readiness_for": ["zorora-e2e-test-1"], "customer_id": "zorora-e2e-test-1"}, "the run's own test customer"),
    ],
)
def test_bad_for_values_are_refused_at_settings_time(flags, words):
    with pytest.raises(SettingsError) as raised:
        resolve(RunFlags(**{**BASE, **flags}), {})
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_metrics_answered_without_the_wrapper_are_read_too():
    bare = {"model_id": "x", "backtest": {"mae": 41.2, "rmse": 58.9, "windows": 12}}
    assert judge(entry(), bare, PRODUCTION, DIFF, NOW)[5].passed is True


def test_the_session_help_shows_an_example():
    from zorora_e2e_plugin.config.flags import SESSION_EXAMPLES, examples

    shown = examples(SESSION_EXAMPLES, 100)
    assert "ml-validate-e2e --for acme " in shown
    assert shown.rstrip().endswith("ml-validate-e2e --sweep --dry-run               list test data left by killed runs")
