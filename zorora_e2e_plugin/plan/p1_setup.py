"""Phase 1: the test world written to S3 (registry, metrics, an empty audit log), after proving the
customer's prefixes empty.
"""

from __future__ import annotations

from ..core import catalogue
from ..core.outcomes import StepFailed
from ..s3.store import StoreError
from .calls import NEVER_SENT, s3, s3_failed
from .context import Checks, Context
from .seed_data import CHALLENGER_METRICS, EXPECTED_IMPROVEMENT, PRODUCTION_METRICS, stamp


def step_1_1(ctx: Context) -> str:
    world = ctx.world
    stamps = f"UTC stamps: production {stamp(world.production_time)}, challenger {stamp(world.challenger_trained_time)}"
    if ctx.prefixes_proven_empty:  # 0.5 listed them after its probes, a moment ago: no second listing
        ctx.owns_prefixes = True
        return stamps + "; prefixes proven empty in 0.5"
    found = s3(ctx.store.list_many, world.prefixes)
    existing = [key for keys in found.values() for key in keys if key != world.probe_key]  # beside this run's claim
    if existing:
        raise StepFailed(
            "the customer's prefixes are empty before writing",
            f"{len(existing)} object(s) already there (not written over), e.g. {existing[0]}",
            catalogue.COLLISION.with_detail(" — or stale test data a killed run left: `zorora-e2e sweep` removes it"),
        )
    ctx.owns_prefixes = True
    return stamps + "; prefixes empty"


def put(ctx: Context, key: str, document: dict) -> str:
    ctx.wrote = True
    ctx.written.add(key)  # before the request: a timeout may still have written it
    try:
        ctx.store.put_json(key, document)
    except StoreError as exc:
        if exc.code in NEVER_SENT:
            ctx.written.discard(key)
        raise s3_failed("S3 answers", exc) from None
    return "wrote " + key.replace(ctx.world.customer_id, "{C}")


def step_1_2(ctx: Context) -> str:
    return put(ctx, ctx.world.registry_key, ctx.world.registry())


def step_1_3(ctx: Context) -> str:
    return put(ctx, ctx.world.production_metrics_key, PRODUCTION_METRICS)


def step_1_4(ctx: Context) -> str:
    entry = ctx.world.challenger_entry()
    summary = entry["evaluation_summary"]
    mae = (
        (PRODUCTION_METRICS["backtest"]["mae"] - CHALLENGER_METRICS["backtest"]["mae"])
        / PRODUCTION_METRICS["backtest"]["mae"]
        * 100
    )
    checks = Checks()
    checks.equal("status", entry["status"], "evaluated")
    checks.equal("verdict", summary["verdict"], "eligible")
    checks.equal("mae_improvement_pct", summary["mae_improvement_pct"], round(EXPECTED_IMPROVEMENT["mae_pct"], 1))
    checks.equal("rmse_improvement_pct", summary["rmse_improvement_pct"], round(EXPECTED_IMPROVEMENT["rmse_pct"], 1))
    checks.that(mae >= 5, "metrics improve MAE by >= 5%", f"{mae:.2f}%")
    return checks.done(f"evaluated, eligible, MAE {mae:.2f}% better; written with the registry in 1.2")


def step_1_5(ctx: Context) -> str:
    return put(ctx, ctx.world.challenger_metrics_key, CHALLENGER_METRICS)


def step_1_6(ctx: Context) -> str:
    return put(ctx, ctx.world.audit_key, ctx.world.audit_log())
