"""Benchmark: wall time and sequential round trips of a run against a slow sandbox.

    python -m zorora_e2e_plugin.bench [--latency MS] [--repeat N]

Against af-south-1 round trips, not CPU, decide how long a validation takes.
The sandbox adds `latency:MS` to every request the validator makes (API and
S3) and logs each request's start and end; the number of *sequential* round
trips is the longest chain of requests each starting after the previous one
ended — requests sent concurrently count once.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from typing import List, Sequence, Tuple

TARGETS = {"preflight": (3, 0.5), "full": (22, 3.0)}  # (sequential round trips, seconds at 100 ms)


def sequential_round_trips(intervals: Sequence[Tuple[float, float]]) -> int:
    """Longest chain of non-overlapping intervals (greedy by end time is optimal)."""
    count, last_end = 0, float("-inf")
    for start, end in sorted(intervals, key=lambda iv: iv[1]):
        if start >= last_end:
            count, last_end = count + 1, end
    return count


def _run_once(kind: str, latency_ms: int):
    from .engine import validate
    from .report import make_console
    from .sandbox import Sandbox
    from .settings import resolve
    from .engine import sandbox_flags

    with Sandbox(faults=[f"latency:{latency_ms}"]) as sandbox:
        flags = sandbox_flags(sandbox, {"phases": [0] if kind == "preflight" else None})
        settings = resolve(flags, {})
        console = make_console(file=io.StringIO())
        del sandbox.request_log[:]
        started = time.monotonic()
        result = validate(settings, console=console)
        wall = time.monotonic() - started
        log = list(sandbox.request_log)
    intervals = [(r.started, r.ended) for r in log]
    return result, wall, sequential_round_trips(intervals), len(log)


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zorora_e2e_plugin.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=int, default=100, help="added latency per request in ms (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind (default 3; the median is reported)")
    args = parser.parse_args(argv)
    ok = True
    print(f"latency {args.latency} ms per request; wall = median of {args.repeat} run(s), first = the first run "
          "(includes creating the boto3 S3 client); seq RT = the most over all runs")
    print(f"{'run':<10} {'verdict':<8} {'wall s':>7} {'first s':>8} {'seq RT':>7} {'requests':>9}   target")
    for kind in ("preflight", "full"):
        runs = [_run_once(kind, args.latency) for _ in range(args.repeat)]
        wall = statistics.median(r[1] for r in runs)
        trips = max(r[2] for r in runs)
        requests = max(r[3] for r in runs)
        verdicts = {r[0].verdict for r in runs}
        max_trips, max_seconds = TARGETS[kind]
        seconds_target = max_seconds * args.latency / 100
        met = trips <= max_trips and wall <= seconds_target and verdicts == {"passed"}
        ok &= met
        print(f"{kind:<10} {'/'.join(sorted(verdicts)):<8} {wall:>7.2f} {runs[0][1]:>8.2f} {trips:>7} {requests:>9}   "
              f"<= {max_trips} RT, <= {seconds_target:.1f} s: {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
