"""Benchmark: wall time and sequential round trips of runs against a slow sandbox.

    python -m zorora_e2e_plugin.bench [--latency MS ...] [--repeat N] [--only SECTION ...]

Against af-south-1 round trips, not CPU, decide how long a validation takes.
The sandbox adds `latency:MS` to every request the validator makes (API and
S3) and logs each request's start and end; the number of *sequential* round
trips is the longest chain of requests each starting after the previous one
ended — requests sent concurrently count once.

Sections (all by default):
  engine    the engine in this process (validate(); imports and S3 client warm after the first run)
  process   `zorora-e2e run` as a user runs it: a fresh process, wall time including start-up
  zorora    Zorora's own scripts/validate_zorora_ona_e2e.py beside our full run, in pairs
            (needs ZORORA_SRC=<a Zorora checkout>; otherwise the round trips and wall are reported alone)
  session   first and second run in one fresh process, as in one REPL session (--sandbox included)
  sweep     100 left-over test customers, 10 000 objects, 1 000 look-alike and real keys

The runs the bench makes are not recorded in the run history.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

TARGETS = {"preflight": (3, 0.5), "full": (22, 3.0)}  # (sequential round trips, engine seconds at 100 ms)
PROCESS_PREFLIGHT_TARGET = 0.45  # s, process wall at 100 ms
ENGINE_PREFLIGHT_TARGET = 0.30  # s, engine (warm) at 100 ms
ZORORA_RATIO_TARGET = 0.55  # our full-run process wall / Zorora's script, same sandbox, same latency
SWEEP_RT_TARGET = 15
SECTIONS = ("engine", "process", "zorora", "session", "sweep")


def sequential_round_trips(intervals: Sequence[Tuple[float, float]]) -> int:
    """Longest chain of non-overlapping intervals (greedy by end time is optimal)."""
    count, last_end = 0, float("-inf")
    for start, end in sorted(intervals, key=lambda iv: iv[1]):
        if start >= last_end:
            count, last_end = count + 1, end
    return count


def _trips(log) -> int:
    return sequential_round_trips([(r.started, r.ended) for r in log])


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


# ------------------------------------------------------------------------------------------ engine

def _run_once(kind: str, latency_ms: int, sandbox=None):
    from .engine import sandbox_flags, validate
    from .report import make_console
    from .sandbox import Sandbox
    from .settings import resolve

    own = sandbox is None
    sandbox = sandbox or Sandbox().start()
    try:
        sandbox.set_faults([f"latency:{latency_ms}"])
        flags = sandbox_flags(sandbox, {"phases": [0] if kind == "preflight" else None})
        settings = resolve(flags, {})
        console = make_console(file=io.StringIO())
        del sandbox.request_log[:]
        started = time.monotonic()
        result = validate(settings, console=console)
        wall = time.monotonic() - started
        log = list(sandbox.request_log)
    finally:
        sandbox.set_faults([])
        if own:
            sandbox.stop()
    return result, wall, _trips(log), len(log)


def bench_engine(latencies: List[int], repeat: int) -> bool:
    from .sandbox import Sandbox

    ok = True
    print(f"\n## engine (in this process): wall = median of {repeat}; first = this process's first run "
          "(includes building the S3 client; botocore is already imported here by the sandbox)")
    print(f"{'run':<10} {'latency':>7} {'verdict':<8} {'wall s':>7} {'first s':>8} {'seq RT':>7} {'requests':>9}   target")
    with Sandbox() as sandbox:
        for latency in latencies:
            for kind in ("preflight", "full"):
                runs = [_run_once(kind, latency, sandbox) for _ in range(repeat)]
                wall = statistics.median(r[1] for r in runs)
                trips, requests = max(r[2] for r in runs), max(r[3] for r in runs)
                verdicts = {r[0].verdict for r in runs}
                target = ""
                if latency == 100:
                    max_trips, max_seconds = TARGETS[kind]
                    if kind == "preflight":
                        max_seconds = ENGINE_PREFLIGHT_TARGET
                    met = trips <= max_trips and wall <= max_seconds and verdicts == {"passed"}
                    ok &= met
                    target = f"<= {max_trips} RT, <= {max_seconds:.2f} s: {_met(met)}"
                print(f"{kind:<10} {latency:>5}ms {'/'.join(sorted(verdicts)):<8} {wall:>7.2f} {runs[0][1]:>8.2f} "
                      f"{trips:>7} {requests:>9}   {target}")
    return ok


# ------------------------------------------------------------------------------------------ process

def _script() -> List[str]:
    """The installed console script (what a user types), else the module."""
    script = os.path.join(os.path.dirname(sys.executable), "zorora-e2e")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "zorora_e2e_plugin.cli"]


def _clean_env(extra: Dict[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ONA_", "AWS_", "TEST_", "OUTPUT_BUCKET", "ZORORA_", "PYTHONPATH"))}
    env.update(AWS_EC2_METADATA_DISABLED="true", ZORORA_E2E_HISTORY="0")
    env.update(extra)
    return env


def _timed(cmd: List[str], env: Dict[str, str], sandbox) -> Tuple[int, float, int, int, str]:
    del sandbox.request_log[:]
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    wall = time.monotonic() - started
    log = list(sandbox.request_log)
    return done.returncode, wall, _trips(log), len(log), done.stdout


def _our_cli(kind: str, sandbox, zorora_src: Optional[str]) -> Tuple[List[str], Dict[str, str]]:
    cmd = _script() + ["run", "--no-color"] + (["--preflight-only"] if kind == "preflight" else [])
    extra = dict(sandbox.env())
    if zorora_src:
        extra["PYTHONPATH"] = zorora_src  # Zorora's own command classes, as in the REPL and its script
    else:
        cmd += ["--client", "direct"]
    return cmd, _clean_env(extra)


def bench_process(latencies: List[int], repeat: int, zorora_src: Optional[str]) -> Tuple[bool, Dict]:
    from .sandbox import Sandbox

    ok, figures = True, {}
    client = "Zorora's classes (ZORORA_SRC)" if zorora_src else "direct HTTP"
    print(f"\n## process: `zorora-e2e run` in a fresh process, {client}; wall includes "
          f"interpreter start-up and exit; median of {repeat}")
    print(f"{'run':<10} {'latency':>7} {'exit':>5} {'wall s':>7} {'min s':>7} {'seq RT':>7} {'requests':>9}   target")
    with Sandbox() as sandbox:
        for latency in latencies:
            sandbox.set_faults([f"latency:{latency}"] if latency else [])
            for kind in ("preflight", "full"):
                cmd, env = _our_cli(kind, sandbox, zorora_src)
                runs = [_timed(cmd, env, sandbox) for _ in range(repeat)]
                wall = statistics.median(r[1] for r in runs)
                codes = {r[0] for r in runs}
                figures[(kind, latency)] = wall
                target = ""
                if latency == 100 and kind == "preflight":
                    met = wall <= PROCESS_PREFLIGHT_TARGET and codes == {0}
                    ok &= met
                    target = f"<= {PROCESS_PREFLIGHT_TARGET:.2f} s: {_met(met)}"
                print(f"{kind:<10} {latency:>5}ms {'/'.join(map(str, sorted(codes))):>5} {wall:>7.2f} "
                      f"{min(r[1] for r in runs):>7.2f} {max(r[2] for r in runs):>7} {max(r[3] for r in runs):>9}   "
                      f"{target}")
                if codes != {0}:
                    print(runs[0][4][-2000:])
    return ok, figures


# ------------------------------------------------------------------------------------------ Zorora's script

def bench_zorora(repeat: int, zorora_src: Optional[str], latency: int = 100) -> bool:
    from .sandbox import Sandbox
    from .settings import default_customer_id

    print(f"\n## full run against Zorora's scripts/validate_zorora_ona_e2e.py, both fresh processes, latency "
          f"{latency} ms, run in pairs (ours, theirs) x {repeat}")
    script = os.path.join(zorora_src or "", "scripts", "validate_zorora_ona_e2e.py")
    with Sandbox() as sandbox:
        sandbox.set_faults([f"latency:{latency}"])
        ours_cmd, ours_env = _our_cli("full", sandbox, zorora_src if zorora_src else None)
        if not zorora_src or not os.path.isfile(script):
            runs = [_timed(ours_cmd, ours_env, sandbox) for _ in range(repeat)]
            print("ZORORA_SRC not given (or no scripts/validate_zorora_ona_e2e.py there): ours alone: "
                  f"wall {statistics.median(r[1] for r in runs):.2f} s, {max(r[2] for r in runs)} sequential round "
                  f"trips, {max(r[3] for r in runs)} requests")
            return True
        pairs = []
        for _ in range(repeat):
            ours = _timed(ours_cmd, ours_env, sandbox)
            theirs_env = _clean_env({**sandbox.env(), "TEST_CUSTOMER_ID": default_customer_id(),
                                     "TEST_ACTOR": "zorora-validation-bot"})
            theirs = _timed([sys.executable, script], theirs_env, sandbox)
            pairs.append((ours, theirs))
            if theirs[0] != 0:
                print("Zorora's script did not pass against the sandbox:\n" + theirs[4][-2000:])
    ratios = [o[1] / t[1] for o, t in pairs]
    ratio = statistics.median(ratios)
    met = ratio <= ZORORA_RATIO_TARGET and all(o[0] == 0 and t[0] == 0 for o, t in pairs)
    print(f"{'':<10} {'exit':>5} {'wall s':>7} {'seq RT':>7} {'requests':>9}")
    for name, index in (("ours", 0), ("Zorora's", 1)):
        runs = [p[index] for p in pairs]
        print(f"{name:<10} {'/'.join(map(str, sorted({r[0] for r in runs}))):>5} "
              f"{statistics.median(r[1] for r in runs):>7.2f} {max(r[2] for r in runs):>7} {max(r[3] for r in runs):>9}")
    print(f"ratio ours/Zorora's (median of pairs {', '.join(f'{r:.2f}' for r in ratios)}): {ratio:.2f}   "
          f"<= {ZORORA_RATIO_TARGET}: {_met(met)}")
    return met


# ------------------------------------------------------------------------------------------ one session

_SESSION = r"""
import io, json, sys, time
from zorora_e2e_plugin.engine import validate_in_sandbox
from zorora_e2e_plugin.report import make_console
out = {}
for label, flags in (("preflight --sandbox", {"phases": [0]}), ("full --sandbox", {})):
    for attempt in ("first", "second"):
        started = time.monotonic()
        result = validate_in_sandbox(flags, console=make_console(file=io.StringIO()), faults=sys.argv[1:])
        out[f"{label} {attempt}"] = (time.monotonic() - started, result.verdict)
print(json.dumps(out))
"""


def bench_session(latency: int) -> bool:
    print(f"\n## one session (a fresh process, as a fresh REPL): `ml-validate-e2e --preflight-only --sandbox`, then "
          f"`--sandbox`, each twice; latency {latency} ms; wall includes starting and stopping the sandbox")
    faults = [f"latency:{latency}"] if latency else []
    done = subprocess.run([sys.executable, "-c", _SESSION, *faults], env=_clean_env({}), capture_output=True,
                          text=True, timeout=300)
    try:
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(done.stdout[-2000:], done.stderr[-2000:])
        return False
    for name, (wall, verdict) in figures.items():
        print(f"{name:<28} {verdict:<8} {wall:>6.2f} s")
    return all(verdict == "passed" for _wall, verdict in figures.values())


# ------------------------------------------------------------------------------------------ sweep

LOOKALIKE_PATTERNS = (
    "customer_tailored/zorora-e2e-testing-{i}/latest_model.json",
    "model_metrics/zorora-e2e-test{i}/production/model_1/backtest_results.json",
    "audit_logs/real-customer-{i}/events.json",
    "customer_tailored/real-customer-{i}/latest_model.json",
    "customer_tailored/zorora-e2e-test-/stray-{i}.json",
    "audit_logs/zorora-e2e-test-orphan-{i}",
    "other/zorora-e2e-test-{i}/x.json",
    "model_metrics/real-{i}/zorora-e2e-test-{i}/backtest_results.json",
    "customer_tailored/ZORORA-E2E-TEST-{i}/latest_model.json",
    "zorora-e2e-test-{i}/customer_tailored/x.json",
)


def seed_leftovers(sandbox, customers: int = 100, objects: int = 10_000, lookalikes: int = 1_000):
    """Write, straight into the sandbox's S3 backend (no HTTP), `objects` objects of `customers` left-over test
    customers spread over the three prefixes, and `lookalikes` keys that must survive a sweep. Returns
    (test keys, {look-alike key: body})."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    tops = ("customer_tailored", "model_metrics", "audit_logs")
    test_keys = []
    for n in range(objects):
        customer = f"zorora-e2e-test-20250101-000000-{n % customers:04x}"
        top = tops[n % 3]
        test_keys.append(f"{top}/{customer}/archived/object_{n:05d}.json")
    lookalike = {}
    for n in range(lookalikes):
        key = LOOKALIKE_PATTERNS[n % len(LOOKALIKE_PATTERNS)].format(i=n)
        lookalike[key] = f"keep {n}".encode()
    for key in test_keys:
        backend.put_object(sandbox.bucket, key, b"{}")
    for key, body in lookalike.items():
        backend.put_object(sandbox.bucket, key, body)
    return test_keys, lookalike


def run_sweep(sandbox, latency: int):
    """`zorora-e2e sweep --older-than 0s --yes` as a user runs it (a fresh process: S3's CPU, moto in this process,
    does not share the sweep's interpreter); returns (exit code, wall, seq RT, requests, log)."""
    sandbox.set_faults([f"latency:{latency}"] if latency else [])
    try:
        code, wall, _trips_, _count, _out = _timed(_script() + ["sweep", "--older-than", "0s", "--yes", "--no-color"],
                                                   _clean_env(sandbox.env()), sandbox)
        log = list(sandbox.request_log)
    finally:
        sandbox.set_faults([])
    return code, wall, _trips(log), len(log), log


def bench_sweep(latency: int) -> bool:
    from .sandbox import Sandbox

    print(f"\n## sweep: 100 left-over test customers, 10 000 objects, 1 000 look-alike and real-customer keys; "
          f"latency {latency} ms")
    with Sandbox(bucket=f"zorora-e2e-bench-{os.getpid()}") as sandbox:  # moto's backend is process-wide
        test_keys, lookalike = seed_leftovers(sandbox)
        code, wall, trips, requests, log = run_sweep(sandbox, latency)
        s3 = sandbox.s3_client()
        left = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.bucket):
            left += [o["Key"] for o in page.get("Contents", [])]
        kept = all(s3.get_object(Bucket=sandbox.bucket, Key=k)["Body"].read() == v for k, v in
                   list(lookalike.items())[:50])
        for start in range(0, len(left), 1000):
            s3.delete_objects(Bucket=sandbox.bucket,
                              Delete={"Objects": [{"Key": k} for k in left[start:start + 1000]], "Quiet": True})
    lists = sum(1 for r in log if r.method == "GET")
    deletes = sum(1 for r in log if r.method == "POST")
    intact = sorted(left) == sorted(lookalike) and kept
    met = code == 0 and trips <= SWEEP_RT_TARGET and intact
    print(f"`zorora-e2e sweep --older-than 0s --yes`: exit {code}; process wall {wall:.2f} s; {trips} sequential round trips (<= {SWEEP_RT_TARGET}); {requests} requests "
          f"({lists} list pages, {deletes} delete batches); {len(test_keys)} objects deleted: "
          f"{len(set(test_keys) - set(left))}; look-alikes intact: {len(set(lookalike) & set(left))}/{len(lookalike)}"
          f"   {_met(met)}")
    return met


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zorora_e2e_plugin.bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--latency", type=int, action="append", help="added latency per request in ms (repeatable; "
                                                                     "default 0 and 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3; the median is reported)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    args = parser.parse_args(argv)
    os.environ["ZORORA_E2E_HISTORY"] = "0"  # the bench's runs are not the user's
    latencies = args.latency or [0, 100]
    sections = args.only or list(SECTIONS)
    zorora_src = os.environ.get("ZORORA_SRC") or None
    print(f"zorora-e2e bench: {os.cpu_count()} CPU(s), load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f"; ZORORA_SRC={zorora_src or '(not given)'}")
    ok = True
    if "engine" in sections:
        ok &= bench_engine(latencies, args.repeat)
    if "process" in sections:
        ok &= bench_process(latencies, args.repeat, zorora_src)[0]
    if "zorora" in sections:
        ok &= bench_zorora(args.repeat, zorora_src)
    if "session" in sections:
        ok &= bench_session(100)
    if "sweep" in sections:
        ok &= bench_sweep(100)
    print(f"\n{'all targets met' if ok else 'some targets missed (see MISSED above)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
