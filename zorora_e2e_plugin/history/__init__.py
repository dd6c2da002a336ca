"""The run history (~/.zorora/e2e-history.jsonl): what a run's line holds, the per-route request timer and
the cold-start rule (record.py), the file itself (file.py), `zorora-e2e history` / `--history` (view.py) and
what a readiness run adds to its line (readiness.py)."""
