"""Plain records and pure rules that every floor may import: a plan's steps and phases and the Reporter
interface (steps.py), outcomes, statuses and verdicts (outcomes.py), diagnoses (diagnosis.py) and the
catalogue of known failure modes (catalogue.py), who answered an API request (answers.py), durations and
redaction. Nothing here imports anything else of the package, or does I/O."""
