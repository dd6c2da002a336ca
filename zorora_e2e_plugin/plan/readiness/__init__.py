"""Phase 6, readiness (`--for`): its read-only steps and what they learn (phase.py), and the promotion gates
it judges from what was read (gates.py)."""
