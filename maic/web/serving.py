"""Werkzeug's threaded server without the Server header, which named the software and its version
("Werkzeug/3.1.9 Python/3.11.7") on every answer, including the ones the app never sees (a malformed request)."""

from __future__ import annotations

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.serving import make_server as werkzeug_make_server


class QuietRequestHandler(WSGIRequestHandler):
    def send_response(self, code: int, message: str | None = None) -> None:
        # BaseHTTPRequestHandler.send_response without its Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def make_server(host: str, port: int, app, threaded: bool = True) -> BaseWSGIServer:
    return werkzeug_make_server(host, port, app, threaded=threaded, request_handler=QuietRequestHandler)
