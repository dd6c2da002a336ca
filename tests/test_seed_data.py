"""The plan's Phase 1 world: ids, UTC stamps, keys and documents."""

from datetime import datetime, timedelta, timezone

from zorora_e2e_plugin.plan.seed_data import CHALLENGER_METRICS, PRODUCTION_METRICS, SeedData
from zorora_e2e_plugin.s3.customer_state import customer_prefixes

NOW = datetime(2026, 1, 20, 12, 0, 5, 123456, tzinfo=timezone.utc)
C = "zorora-e2e-test-20260120120005-abcdef"


def test_ids_use_utc_stamps_in_the_plans_formats():
    world = SeedData.create(C, "bucket-x", NOW)
    assert world.production_model_id == f"{C}/production/model_20260113_120005"
    assert world.challenger_model_id == f"{C}/challenger_20260119_120005"


def test_a_non_utc_clock_is_converted_to_utc():
    plus_two = timezone(timedelta(hours=2))
    world = SeedData.create(C, "b", NOW.astimezone(plus_two))
    assert world.production_model_id.endswith("model_20260113_120005")
    assert world.challenger_entry()["evaluated_at"] == "2026-01-19T12:30:05Z"


def test_keys_follow_the_s3_layout():
    world = SeedData.create(C, "bucket-x", NOW)
    assert world.registry_key == f"customer_tailored/{C}/latest_model.json"
    assert world.audit_key == f"audit_logs/{C}/events.json"
    assert world.production_metrics_key == f"model_metrics/{C}/production/model_20260113_120005/backtest_results.json"
    assert world.challenger_metrics_key == f"model_metrics/{C}/{C}/challenger_20260119_120005/backtest_results.json"
    assert all(key.startswith(world.prefixes) for key in world.objects())
    assert world.probe_key.startswith(world.prefixes[0])


def test_prefixes_end_in_a_slash_so_no_other_customer_matches():
    prefixes = customer_prefixes("zorora-e2e-test-1")
    assert all(p.endswith("/") for p in prefixes)
    assert not any("zorora-e2e-test-10/x".startswith(p.split("/", 1)[1]) for p in prefixes)


def test_registry_holds_production_with_metrics_ref_and_one_eligible_challenger():
    world = SeedData.create(C, "bucket-x", NOW)
    registry = world.registry()
    assert registry["customer_id"] == C
    assert registry["production"]["metrics_ref"] == f"s3://bucket-x/{world.production_metrics_key}"
    assert registry["production"]["promoted_at"] == "2026-01-13T12:00:05Z"
    [challenger] = registry["challengers"]
    assert challenger["status"] == "evaluated"
    assert challenger["evaluation_summary"]["verdict"] == "eligible"
    assert challenger["evaluation_summary"]["seasonal_regressions"] == []
    assert world.audit_log() == {"customer_id": C, "events": []}


def test_metrics_are_the_plans_values():
    assert PRODUCTION_METRICS["backtest"] == {"mae": 45.0, "rmse": 62.7, "bias": -1.5, "windows": 12}
    assert CHALLENGER_METRICS["backtest"] == {"mae": 41.2, "rmse": 58.9, "bias": -1.3, "windows": 12}
