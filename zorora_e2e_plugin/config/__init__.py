"""Settings: flags > environment > defaults (settings.py), each bad value a SettingsError (checks.py), the typed
run flags both faces parse (flags.py), the two faces' vocabulary (faces.py), --token-from-ssm (ssm.py) and
the customer/challenger --for asks about (readiness_target.py)."""
