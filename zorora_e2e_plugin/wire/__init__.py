"""What the run's HTTP requests go through, whichever client sends them: read retries with backoff and the
per-host cap (retries.py), the answer-size cap and no proxy for loopback (limits.py), in one requests adapter
(adapter.py); and the one watch that puts them on the run's sessions and S3 client, tells the run's listeners of
each request, and takes them off again (watch.py)."""
