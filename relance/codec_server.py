"""A Temporal remote codec server, so that compressed payloads read as JSON in the Web UI and the `temporal` CLI.

Relance stores payloads of 1 KB and more zlib-compressed (`relance.payloads`): letters, the policy a case
read, its final audit trail. Temporal's tools show those as `binary/zlib` unless they can call a codec
server: the Web UI (`temporal server start-dev --ui-codec-endpoint URL`, or the UI's settings) and the CLI
(`temporal workflow show --codec-endpoint URL`) POST `{"payloads": [...]}` (payloads in protobuf JSON) to
`URL/decode` and show what comes back. Decoding only undoes the compression; it never parses the JSON.

It listens on loopback by default: payloads hold debtor names and amounts. The Web UI calls it from the
browser, so it answers cross-origin requests from the UI's origin only.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from relance.payloads import decompressed, stored

MAX_BODY_BYTES = 16 * 1024 * 1024


CODECS: dict[str, Callable[[Payload], Payload]] = {"/decode": decompressed, "/encode": stored}


def transcode(path: str, body: bytes) -> bytes:
    """The codec protocol's answer for one request body; ValueError when the body is not Payloads JSON."""
    try:
        request = json_format.Parse(body or b"{}", Payloads())
    except json_format.ParseError as error:
        raise ValueError(f"not a payloads document: {error}") from error
    answer = Payloads(payloads=[CODECS[path](p) for p in request.payloads])
    return json.dumps(json_format.MessageToDict(answer)).encode()


class CodecServer:
    """The codec endpoints on `host:port` (port 0: any free one), served from a thread until `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, allow_origins: Iterable[str] = ()) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(frozenset(allow_origins)))
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="codec-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> CodecServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(allow_origins: frozenset[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:  # the browser's preflight before the UI's POST
            self._answer(204, b"")

        def do_POST(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            length = int(self.headers.get("Content-Length") or 0)
            if path not in CODECS:
                return self._answer(404, b'{"error": "POST /decode or /encode"}')
            if length > MAX_BODY_BYTES:
                return self._answer(413, b'{"error": "request too large"}')
            try:
                body = transcode(path, self.rfile.read(length))
            except ValueError as error:
                return self._answer(400, json.dumps({"error": str(error)}).encode())
            self._answer(200, body)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            origin = self.headers.get("Origin")
            if origin in allow_origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
                self.send_header("Vary", "Origin")
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # the UI calls it for every page: no access log
            pass

    return Handler
