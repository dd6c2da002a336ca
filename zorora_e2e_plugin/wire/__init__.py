"""What the run's HTTP requests go through, whichever client sends them: read retries with backoff and the
per-host cap (retries.py), the answer-size cap and no proxy for loopback (limits.py)."""
