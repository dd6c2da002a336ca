"""A loopback HTTP proxy in front of a sandbox's API that lies in one chosen way.

Every request is forwarded unchanged to the sandbox; `lie(request, status, body)` may then rewrite the answer
(return (status, body text)) or act on S3 through the sandbox's own client. With `lie=None` the proxy is
honest: a run through it must pass, so that a failure with a lie is the lie's doing, not the proxy's.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests


@dataclass
class Request:
    method: str
    path: str  # relative to the API base (/challengers, /metrics/..., ...), without the query
    query: str
    body: dict[str, Any] | None

    @property
    def route(self) -> str:
        return "/" + self.path.strip("/").split("/")[0]


Lie = Callable[[Request, int, str], Optional[tuple[int, str]]]
DROP = (0, "")  # a lie (or `before`) returning it closes the connection without answering: the answer is lost


class LyingProxy:
    def __init__(self, sandbox, lie: Lie | None = None, before=None):
        """`before(request)`: an answer given instead of forwarding (as API Gateway answers for a request the
        Lambda never sees), or None to forward. Either may return (status, body, headers) to add headers."""
        self.sandbox = sandbox
        self.lie = lie
        self.before = before
        self.session = requests.Session()
        self.server: ThreadingHTTPServer | None = None
        self.base_path = urlsplit(sandbox.api_url).path  # /prod/api/v1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.base_path}"

    def __enter__(self) -> LyingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                target = urlsplit(proxy.sandbox.api_url)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "x-actor", "content-type")
                }
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = Request(self.command, parts.path[len(proxy.base_path) :], parts.query, body)
                extra: dict[str, str] = {}
                changed = proxy.before(request) if proxy.before is not None else None
                if changed is None:
                    answer = proxy.session.request(
                        self.command,
                        f"{target.scheme}://{target.netloc}{self.path}",
                        data=raw or None,
                        headers=headers,
                        timeout=30,
                    )
                    status, text = answer.status_code, answer.text
                    if proxy.lie is not None:
                        changed = proxy.lie(request, status, text)
                if changed == DROP:
                    self.close_connection = True
                    return
                if changed is not None:
                    status, text = changed[0], changed[1]
                    extra = dict(changed[2]) if len(changed) > 2 else {}
                data = text.encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.session.close()
