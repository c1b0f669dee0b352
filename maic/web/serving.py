"""Werkzeug's threaded server without the Server header, which named the software and its version
("Werkzeug/3.1.9 Python/3.11.7") on every answer, including the ones the app never sees (a malformed request)."""

from __future__ import annotations

import gc

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.serving import make_server as werkzeug_make_server


class QuietRequestHandler(WSGIRequestHandler):
    def send_response(self, code: int, message: str | None = None) -> None:
        # BaseHTTPRequestHandler.send_response without its Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def settle_heap() -> None:
    """Once the app is made, before the first request: what the process holds by then (modules, Dash's layout and
    callbacks, plotly's schema: some 200,000 objects) is moved out of the cyclic garbage collector's reach. A full
    collection walked all of it, about 85 ms of CPU on a quick benchmark's server, every few dozen requests, inside
    whichever request happened to allocate at the time: one panel in twenty took twice as long for nothing. Those
    objects live as long as the process; reference counting still frees anything that is let go."""
    gc.collect()
    gc.freeze()


def make_server(host: str, port: int, app, threaded: bool = True) -> BaseWSGIServer:
    settle_heap()
    return werkzeug_make_server(host, port, app, threaded=threaded, request_handler=QuietRequestHandler)
