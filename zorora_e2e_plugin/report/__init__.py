"""What people see and keep: the console (console.py: step lines, the phase table, the verdict; live.py:
the live line; verdict_line.py: the verdict's words; fanout.py: one run, many reporters), the walkthrough
and its state views, readiness's view, the --json/--junit files (files.py) and artifacts/ (the recorder of
the run's own requests, --html, --har, curl lines, the CI summary)."""
