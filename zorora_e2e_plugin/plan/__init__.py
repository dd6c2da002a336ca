"""The user's validation plan, phases 0-5, as declared steps: the table below is the one place to read
the plan's order; each phase's steps live in their own module (p0_preflight ... p5_cleanup; 0.5's route
probes in probes.py), what they share in context.py, how they call the API and S3 in calls.py.

Step ids are the plan's numbers (docs/platform.md, the plan's steps, says where the plan is): whoever
reads the plan finds step 3.1 as `step_3_1` in p3_promote.py. Steps raise StepFailed with what was
expected, what came back, and a hint that names the cause. Independent steps
share a wave and run concurrently: round trips, not CPU, decide the run time.
"""

from __future__ import annotations

from ..core.steps import Phase, Step
from .context import Checks, Context
from .p0_preflight import step_0_1, step_0_2, step_0_3, step_0_4
from .p1_setup import step_1_1, step_1_2, step_1_3, step_1_4, step_1_5, step_1_6
from .p2_read import step_2_1, step_2_2, step_2_3, step_2_4, step_2_5
from .p3_promote import step_3_1, step_3_2, step_3_3
from .p4_errors import setup_phase_4, step_4_1, step_4_2, step_4_3, step_4_4, step_4_5, step_4_6
from .p5_cleanup import remove_hint, step_5_1, step_5_2, sweep_command_for, unlisted_leftovers
from .probes import step_0_5
from .retry_notes import noting_retries_in

__all__ = ["phases", "cleanup_phase", "Context", "Checks", "sweep_command_for", "unlisted_leftovers", "remove_hint"]


# What each phase proves and why it matters (the walkthrough says it before the phase); the table below puts it,
# the phase's name, whether it is the hard gate and which phases it needs beside its steps.
PROVES = {
    0: "Proves the API Gateway, the token, the Lambda and the bucket are deployed and wired up, before a "
    "single byte of test data is written. It is a hard gate: if it fails, nothing else runs.",
    1: "Writes a fresh test customer straight to S3: a registry with one production model and one eligible "
    "challenger, their metrics, an empty audit log. Everything later is checked against this known world.",
    2: "Proves Zorora's read-only commands see exactly what is in S3, through the real API: the engineer's "
    "view of a promotion decision is the truth.",
    3: "Promotes the challenger and rolls it back through ml-promote / ml-rollback, and checks S3 after "
    "each: the registry changed, the old production was archived, the audit log names who and why.",
    4: "Proves bad requests are refused (unknown model, short reason, no token, a challenger failing its "
    "gates) and that a refusal leaves no trace: registry and audit log unchanged.",
    5: "Deletes everything the run wrote and proves the customer's three prefixes are empty: a validation "
    "against production must leave nothing behind.",
}


def phases() -> list[Phase]:
    return noting_retries_in(
        [
            Phase(
                0,
                "Preflight (hard gate)",
                (
                    (
                        Step("0.1", "API Gateway reachable (GET /challengers)", step_0_1, sends=("GET /challengers",)),
                        Step(
                            "0.3",
                            "Lambda business logic active (400 without customer_id)",
                            step_0_3,
                            critical=False,
                            sends=("GET /challengers (no customer_id)",),
                        ),
                        Step(
                            "0.4",
                            "S3 bucket accessible, customer id claimed",
                            step_0_4,
                            sends=(
                                "S3 HeadBucket",
                                "S3 GetBucketVersioning",
                                "S3 PutObject (If-None-Match: *: the run's claim on its customer id)",
                            ),
                        ),
                        Step(
                            "0.5",
                            "Every route deployed (a harmless request each); the customer's prefixes empty",
                            step_0_5,
                            sends=(
                                "GET /metrics/{model} ×2",
                                "GET /diff",
                                "GET /audit-log",
                                "POST /promote (3-character reason)",
                                "POST /rollback (3-character reason)",
                                "S3 ListObjectsV2 ×3",
                            ),
                        ),
                    ),
                    (Step("0.2", "Bearer token accepted", step_0_2, quiet="judges 0.1's answer"),),
                ),
                gate=True,
                proves=PROVES[0],
            ),
            Phase(
                1,
                "Test data setup",
                (
                    (
                        Step(
                            "1.1",
                            "UTC timestamps; the customer's prefixes are empty",
                            step_1_1,
                            quiet="0.5 listed the prefixes a moment ago",
                        ),
                    ),
                    (
                        Step(
                            "1.2",
                            "Registry: production + challenger",
                            step_1_2,
                            requires=("1.1",),
                            sends=("S3 PutObject",),
                        ),
                        Step("1.3", "Production metrics", step_1_3, requires=("1.1",), sends=("S3 PutObject",)),
                        Step("1.4", "Challenger entry is eligible", step_1_4, requires=("1.1",), quiet="1.2 wrote it"),
                        Step("1.5", "Challenger metrics", step_1_5, requires=("1.1",), sends=("S3 PutObject",)),
                        Step("1.6", "Empty audit log", step_1_6, requires=("1.1",), sends=("S3 PutObject",)),
                    ),
                ),
                proves=PROVES[1],
            ),
            Phase(
                2,
                "Read-only commands",
                (
                    (
                        Step("2.1", "ml-list-challengers: the test challenger", step_2_1, sends=("GET /challengers",)),
                        Step("2.2", "ml-show-metrics: challenger", step_2_2, sends=("GET /metrics/{model}",)),
                        Step("2.3", "ml-show-metrics: production", step_2_3, sends=("GET /metrics/{model}",)),
                        Step("2.4", "ml-diff: eligible", step_2_4, sends=("GET /diff",)),
                        Step("2.5", "ml-audit-log: empty", step_2_5, sends=("GET /audit-log",)),
                    ),
                ),
                needs=(1,),
                proves=PROVES[2],
            ),
            Phase(
                3,
                "Promote and rollback",
                (
                    (
                        Step(
                            "3.1",
                            "ml-promote: registry, archive, audit in S3",
                            step_3_1,
                            sends=(
                                "GET /challengers",
                                "GET /diff",
                                "POST /promote",
                                "S3 GetObject ×2",
                                "S3 ListObjectsV2",
                                "GET /audit-log",
                            ),
                            changes_registry=True,
                        ),
                    ),
                    (
                        Step(
                            "3.2",
                            "ml-audit-log after promotion",
                            step_3_2,
                            critical=False,
                            requires=("3.1",),
                            quiet="3.1 asked ml-audit-log",
                        ),
                    ),
                    (
                        Step(
                            "3.3",
                            "ml-rollback: production restored, audit",
                            step_3_3,
                            requires=("3.1",),
                            sends=("POST /rollback", "S3 GetObject ×3", "S3 ListObjectsV2"),
                            changes_registry=True,
                        ),
                    ),
                ),
                needs=(1,),
                proves=PROVES[3],
            ),
            Phase(
                4,
                "Error handling",
                (
                    (
                        Step(
                            "4.1",
                            "ml-promote unknown challenger is rejected",
                            step_4_1,
                            sends=("GET /challengers (ml-promote finds no such challenger: posts nothing)",),
                        ),
                        Step(
                            "4.2",
                            "ml-promote short reason is rejected",
                            step_4_2,
                            quiet="Zorora refuses a reason under 10 characters before sending",
                        ),
                        Step(
                            "4.3",
                            "Server rejects a short reason (direct POST)",
                            step_4_3,
                            sends=("POST /promote (short reason)",),
                        ),
                        Step(
                            "4.4",
                            "Server rejects a request without token",
                            step_4_4,
                            sends=("POST /rollback (no token)",),
                        ),
                    ),
                    (
                        Step(
                            "4.6",
                            "Server refuses a challenger that fails its gates (direct POST)",
                            step_4_6,
                            sends=("POST /promote (gate-failing challenger)",),
                        ),
                    ),
                    (
                        Step(
                            "4.5",
                            "No side effects: registry and audit unchanged",
                            step_4_5,
                            sends=("S3 GetObject ×2", "S3 ListObjectsV2 ×3"),
                        ),
                    ),
                ),
                setup=setup_phase_4,
                setup_sends=("S3 PutObject ×2 (a gate-failing challenger)",),
                needs=(1,),
                proves=PROVES[4],
            ),
        ]
    )


def cleanup_phase() -> Phase:
    return noting_retries_in(
        [
            Phase(
                5,
                "Cleanup",
                (
                    (Step("5.1", "Delete the run's test data (batched)", step_5_1, sends=("S3 DeleteObjects",)),),
                    (
                        Step(
                            "5.2",
                            "Prove the run's prefixes are empty",
                            step_5_2,
                            proves_cleanup=True,
                            sends=(
                                "S3 ListObjectsV2 ×3",
                                "S3 HeadObject ×7 (each key the run wrote, its claim too; in a versioned bucket "
                                "ListObjectVersions ×3 too)",
                            ),
                        ),
                    ),
                ),
                proves=PROVES[5],
            )
        ]
    )[0]
