"""The test server closes what a response opened even when the client hangs up part-way.

Werkzeug's development server left a static file open when the browser left a page mid-download; the file
was collected later inside another test, and its ResourceWarning failed that test at random.
"""

from __future__ import annotations

import gc
import os
import socket
import struct
import time
from pathlib import Path

import requests

from tests.live_server import LiveServer

CSS = (Path(__file__).resolve().parents[2] / "assets" / "maic.css").resolve()


def _open_handles_on(path: Path) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            continue
    return count


def _hang_up_during(url: str, path: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        sock.recv(10)
        # A reset, as a browser tab closed mid-download sends, rather than an orderly close.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_client_hanging_up_mid_download_leaves_no_file_open(app):
    gc.disable()  # the leak hid behind the collector: only a collection closed the file, at a random later time
    try:
        with LiveServer(app) as server:
            for _ in range(40):
                _hang_up_during(server.url, "/static/maic.css")
            assert requests.get(server.url + "/static/maic.css", timeout=10).status_code == 200
            deadline = time.monotonic() + 10
            while _open_handles_on(CSS) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _open_handles_on(CSS) == 0
    finally:
        gc.enable()
