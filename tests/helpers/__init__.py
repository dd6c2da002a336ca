"""What the tests share, in one place (no test module imports another).

- cli: `zorora-e2e` as a user runs it (a subprocess), or in-process for what ends before anything is sent
- sandbox: a sandbox to run against (a module's own, a customer in the plan's Phase 1 state, its HTTP API)
- results: what a run left behind (S3 keys, objects) and what it reported (steps, failures, warnings)
- engine: one engine run against an in-process sandbox; the stand-in Zorora on sys.path
- figures: the reliability figures the README quotes, counted as the tests run
- wire, lying_proxy: small loopback servers (proxies, TLS fronts, endless or lying answers)
- terminal: a REPL or the CLI in a pseudo-terminal (pexpect), the real Zorora in a loopback-only namespace
- repl: a line typed into the stand-in REPL
- metrics, har_schema, layering, artifacts: what the tests of those concerns share
"""
