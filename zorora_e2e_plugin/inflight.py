"""Which request a step's thread is waiting on right now, read from its stack (no client needs to report it):
the deadline's hint names the request that hung (`GET /prod/api/v1/challengers`, `S3 ListObjectsV2 ...`).
"""

from __future__ import annotations

import sys
import threading
from typing import Optional
from urllib.parse import urlencode, urlsplit


def waiting_on(thread: threading.Thread) -> Optional[str]:
    """The request `thread` is inside now (the outermost HTTP or S3 call on its stack), None when none."""
    frame = sys._current_frames().get(thread.ident) if thread.ident is not None else None
    found = None
    while frame is not None:  # innermost first: keep the outermost match
        code, local = frame.f_code, frame.f_locals
        if code.co_name == "_make_api_call" and "operation_name" in local:
            params = local.get("api_params") or {}
            what = params.get("Key") or params.get("Prefix") or ""
            found = f"S3 {local['operation_name']}" + (f" {what}" if what else "")
        elif code.co_name == "request" and code.co_filename.endswith(("requests/sessions.py", "requests\\sessions.py")):
            parts = urlsplit(str(local.get("url") or ""))
            params = local.get("params")
            query = parts.query or (urlencode(params) if isinstance(params, dict) else "")
            found = f"{str(local.get('method', '')).upper()} {parts.path}" + (f"?{query}" if query else "")
        frame = frame.f_back
    return found
