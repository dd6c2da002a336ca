"""Stand-in for the Zorora host's `zorora` package, written from docs/platform.md, section 1.

Only the documented surface exists here: `zorora.http_client`, `zorora.remote_command` and
`zorora.commands.ona_platform`. It behaves like the real host where the plugin can observe it
(URL joining, headers, retries, status mapping, the promote flow, ZORORA_AUTO_CONFIRM, ...).
"""
