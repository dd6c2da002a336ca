"""One validation run. validate.py is the entry point both faces call (settings -> a Run); execution.py is the
Run itself (phases, cleanup, verdict, reports); waves.py runs a plan's phases in waves of concurrent steps,
each in a step_worker.py thread; cleanup.py, signals.py and options.py serve it; in_sandbox.py runs it
against an in-process sandbox; sweep.py removes what killed runs left."""
