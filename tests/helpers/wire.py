"""Small real HTTP servers on loopback (test_wire_guard.py and the reliability tests): a forward proxy that records
what it is asked for (and forwards it to this machine), a reverse proxy that rewrites S3's answers, and an API whose
answers never end.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import re
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
    "transfer-encoding",
}


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, as S3 and API Gateway), and no request lines on the test's stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


class LoopbackServer:
    """A threaded HTTP server on a free loopback port, for `with`: started on enter, stopped on exit."""

    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def forward(handler, port: int, path: str, rewrite=None, loopback_host: bool = False) -> None:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else None
    upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP}
    if loopback_host:  # the sandbox's S3 reads a bucket from any other host name (the sandbox checks no signature)
        headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        headers["Host"] = f"127.0.0.1:{port}"
    upstream.request(handler.command, path, body=body, headers=headers)
    answer = upstream.getresponse()
    data = answer.read()
    if rewrite is not None:
        data = rewrite(handler.command, path, data)
    handler.send_response(answer.status)
    for name, value in answer.getheaders():
        if name.lower() not in HOP and name.lower() != "content-length":
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)
    upstream.close()


class RecordingProxy(LoopbackServer):
    """A forward HTTP proxy: records (method, absolute URL) of each request and forwards it to 127.0.0.1 on the
    URL's port (whatever its host name says), with a loopback Host header. `dead` proxies refuse everything (502)."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []

        class Handler(QuietHandler):
            def _any(self):
                owner = self.server.owner
                owner.requests.append((self.command, self.path))
                if self.command == "CONNECT" or not self.path.startswith("http://"):
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                parts = urlsplit(self.path)
                forward(
                    self, parts.port or 80, parts.path + (f"?{parts.query}" if parts.query else ""), loopback_host=True
                )

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_CONNECT = _any

        super().__init__(Handler)


class RewritingS3(LoopbackServer):
    """A reverse proxy in front of an S3 endpoint whose ListObjectsV2 answers `rewrite(body)` changes; counts
    the listings it served."""

    def __init__(self, upstream_port: int, rewrite: Callable[[bytes], bytes]):
        self.listings = 0
        rewrite_listing = rewrite

        class Handler(QuietHandler):
            def _any(self):
                owner = self.server.owner

                def change(method, path, data):
                    if method == "GET" and "list-type=2" in path:
                        owner.listings += 1
                        return rewrite_listing(data)
                    return data

                forward(self, upstream_port, self.path, change)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        super().__init__(Handler)


class EndlessRoute(LoopbackServer):
    """A reverse proxy in front of an API: a 2xx answer to a path containing `route` becomes a 200 whose JSON
    body never ends (chunked, up to `limit` bytes, then the connection is dropped); everything else passes."""

    def __init__(
        self, upstream_port: int, route: str, limit: int = 400 * 1024 * 1024, trickle: float = 0.0, chunked: bool = True
    ):
        """`trickle`: seconds between 16-byte pieces (a body that never ends but never stops for long);
        `chunked=False`: a Content-Length of `limit` bytes instead of chunked encoding."""
        self.endless = 0  # answers made endless

        class Handler(QuietHandler):
            def _any(self):
                owner = self.server.owner
                if route not in self.path:
                    forward(self, upstream_port, self.path)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                upstream.request(
                    self.command,
                    self.path,
                    body=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in HOP},
                )
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if not 200 <= answer.status < 300:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                owner.endless += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(limit + 6))
                self.end_headers()
                chunk = b"x" * (16 if trickle else 65536)
                frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n" if chunked else chunk
                sent = 0
                try:
                    self.wfile.write(b'6\r\n{"a":"\r\n' if chunked else b'{"a":"')
                    while sent < limit:
                        self.wfile.write(frame)
                        self.wfile.flush()
                        sent += len(chunk)
                        if trickle:
                            time.sleep(trickle)
                except OSError:
                    pass
                self.close_connection = True

            do_GET = do_POST = _any

        super().__init__(Handler)


def no_token(body: bytes) -> bytes:
    """A listing that says it is truncated and gives no continuation token."""
    body = body.replace(b"<IsTruncated>false</IsTruncated>", b"<IsTruncated>true</IsTruncated>")
    return re.sub(rb"<NextContinuationToken>.*?</NextContinuationToken>", b"", body)


def same_token(body: bytes) -> bytes:
    """A listing that always says there is more, with the same token."""
    body = body.replace(b"<IsTruncated>false</IsTruncated>", b"<IsTruncated>true</IsTruncated>")
    if b"<NextContinuationToken>" not in body:
        body = body.replace(b"</IsTruncated>", b"</IsTruncated><NextContinuationToken>again</NextContinuationToken>")
    return body


def self_signed(folder: str, host: str = "127.0.0.1") -> tuple[str, str]:
    """A fresh self-signed certificate for `host` (an IP address) and its key, written to `folder`: (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(folder, "front.pem"), os.path.join(folder, "front-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


class TlsFront(LoopbackServer):
    """HTTPS on loopback in front of an HTTP upstream on this machine (a TLS-inspecting proxy's or a tunnel's own
    certificate, say): every request is forwarded as it is. `ca_bundle`: the certificate a client must trust."""

    def __init__(self, upstream_port: int, folder: str):
        import ssl

        self.ca_bundle, key = self_signed(folder)

        class Handler(QuietHandler):
            def _any(self):
                forward(self, upstream_port, self.path)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        super().__init__(Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_bundle, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


class SelfSignedServer:
    """HTTPS on 127.0.0.1 with a freshly made self-signed certificate: any client that verifies fails."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory()
        cert_path, key_path = self_signed(self._dir.name)  # trusted by nobody: not in any client's CA bundle
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.requests = 0

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # only reached by a client that does not verify certificates
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        class Server(HTTPServer):
            def handle_error(self, request, client_address):
                pass  # the client aborting the handshake is the point

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/prod/api/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()
