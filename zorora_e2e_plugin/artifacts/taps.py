"""How the recorder listens (recorder.py says why this way): a requests.Session's `send` wrapped by an instance
attribute, a streamed answer's body kept as the client reads it, botocore's before-send and response-received
events. Mixins of RequestRecorder: they use its redaction (`_headers`, `_url`, `redact`), `_owner` and `_add`.
"""

from __future__ import annotations

import time

from .exchange import BODY_LIMIT, Exchange, capped, as_text


class SessionTap:
    # -- requests sessions ----------------------------------------------------------------------------
    def attach_session(self, session) -> None:
        if session is None or any(s is session for s in self._sessions):
            return
        original = session.send  # the bound method (or whatever wrapper was there before)
        recorder = self

        def send(request, **kwargs):
            if not send.active:
                return original(request, **kwargs)
            mono, wall = time.monotonic(), time.time()
            step, phase = recorder._owner(mono)
            exchange = Exchange("api", str(request.method or "?").upper(), recorder._url(str(request.url)), wall, 0.0,
                                request_headers=recorder._headers(request.headers), step=step, phase=phase,
                                had_token=recorder._had_token(request.headers), mono=mono)
            body = as_text(request.body)
            exchange.request_body = capped(body, recorder.redact) if body else ""
            try:
                response = original(request, **kwargs)
            except BaseException as exc:
                exchange.seconds = time.monotonic() - mono
                exchange.error = recorder.redact(f"{type(exc).__name__}: {exc}")[:500]
                recorder._add(exchange)
                raise
            exchange.seconds = time.monotonic() - mono
            try:
                exchange.status = int(response.status_code)
                exchange.response_headers = recorder._headers(response.headers)
                content = getattr(response, "_content", False)  # read by send() unless the client streams
                if isinstance(content, bytes):
                    exchange.response_body = capped(content.decode(response.encoding or "utf-8", errors="replace"),
                                                  recorder.redact)
                elif kwargs.get("stream"):
                    recorder._tee(response, exchange)
            except Exception:
                pass
            recorder._add(exchange)
            return response

        send.active = True
        session.send = send
        self._sessions.append((session, send))

    def _tee(self, response, exchange: Exchange) -> None:
        """A streamed answer (the raw probes read at most 64 KiB of it): its body is kept as the client reads
        it, redacted chunk by chunk, up to the cap. The urllib3 response's `stream` is wrapped on that one
        response object only."""
        raw = getattr(response, "raw", None)
        original = getattr(raw, "stream", None)
        if original is None:
            return
        encoding = response.encoding or "utf-8"
        seen = bytearray()

        def stream(*args, **kwargs):
            for chunk in original(*args, **kwargs):
                if len(seen) <= BODY_LIMIT + 1024:
                    seen.extend(chunk)
                    exchange.response_body = capped(bytes(seen).decode(encoding, errors="replace"), self.redact)
                yield chunk

        try:
            raw.stream = stream
        except Exception:
            pass

    def _detach_sessions(self) -> None:
        for session, send in self._sessions:
            send.active = False
            if session.__dict__.get("send") is send:
                del session.__dict__["send"]
        self._sessions = []



class S3Tap:
    # -- botocore -------------------------------------------------------------------------------------
    def attach_s3(self, client) -> None:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None or any(c is client for c in self._s3_clients):
            return
        events.register("before-send.s3", self._s3_before, unique_id=self._uid + "-before")
        events.register("response-received.s3", self._s3_after, unique_id=self._uid + "-after")
        self._s3_clients.append(client)

    def _s3_before(self, request=None, event_name="", **_kwargs):
        try:
            mono, wall = time.monotonic(), time.time()
            step, phase = self._owner(mono)
            body = as_text(getattr(request, "body", None))
            self._pending.exchange = Exchange(
                "s3", str(request.method).upper(), self._url(str(request.url)), wall, 0.0,
                request_headers=self._headers(request.headers), request_body=capped(body, self.redact) if body else "",
                step=step, phase=phase, operation=event_name.rsplit(".", 1)[-1], mono=mono)
        except Exception:
            self._pending.exchange = None
        return None  # anything else would be taken as the response

    def _s3_after(self, response_dict=None, exception=None, **_kwargs):
        exchange = getattr(self._pending, "exchange", None)
        self._pending.exchange = None
        if exchange is None:
            return
        try:
            exchange.seconds = time.monotonic() - exchange.mono
            if response_dict:
                exchange.status = int(response_dict.get("status_code") or 0)
                exchange.response_headers = self._headers(response_dict.get("headers"))
                body = as_text(response_dict.get("body"))
                exchange.response_body = capped(body, self.redact) if body is not None else None
            if exception is not None:
                exchange.error = self.redact(f"{type(exception).__name__}: {exception}")[:500]
        except Exception:
            pass
        self._add(exchange)

    def _detach_s3(self) -> None:
        for client in self._s3_clients:
            events = client.meta.events
            events.unregister("before-send.s3", self._s3_before, unique_id=self._uid + "-before")
            events.unregister("response-received.s3", self._s3_after, unique_id=self._uid + "-after")
        self._s3_clients = []
