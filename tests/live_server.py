"""The app served over real HTTP on 127.0.0.1 for tests that need a server: browser tests, API, federation.

Served by waitress, not Werkzeug's development server. When a client hung up while the development server
was sending a static file, the file was left open (its `finally` reads the dropped socket before it
closes the response) and collected later, inside whichever test happened to be running: a ResourceWarning
that the "error" filter turned into a failure of an innocent test. waitress always closes a response, and
`stop()` waits for its worker threads, so nothing from one test's server outlives that test.
"""

from __future__ import annotations

import gc
import logging
import threading

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

# A browser leaving a page mid-download is normal; waitress logs it, and tests need not see it.
logging.getLogger("waitress").setLevel(logging.ERROR)


class LiveServer:
    def __init__(self, app, threads: int = 8):
        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                                    ident="")  # no Server header of its own
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="live-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stop()

    def _serve(self) -> None:
        # One poll at a time, so that stop() can end the loop in its own thread: closing its sockets from
        # another thread while it waits in select() failed with "Bad file descriptor".
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.05, map=self.server._map, count=1)

    def stop(self) -> None:
        # Workers first, while the loop still sends what they write: every response started is finished
        # and its iterator closed. Then the loop, then the connections, from this thread alone.
        self.server.task_dispatcher.shutdown(timeout=10)
        self._stopping.set()
        self.thread.join(timeout=10)
        for channel in list(self.server._map.values()):
            if isinstance(channel, HTTPChannel):
                if channel.request is not None:
                    channel.request.close()  # a request body spooled to a temporary file
                channel.handle_close()  # closes the response buffers too
        wasyncore.close_all(self.server._map)
        self.app.extensions["maic.db"]["engine"].dispose()
        # Anything the server's threads left for the garbage collector is collected now, so a warning it
        # raises belongs to the test that ran this server (pytest checks for them after each teardown).
        gc.collect()
