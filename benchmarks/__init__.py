"""The benchmark (`python -m benchmarks.bench` from a checkout): figures for docs/performance.md. Not shipped."""
