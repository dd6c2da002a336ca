"""Stand-in for `zorora.commands` (a regular package in the real host)."""
