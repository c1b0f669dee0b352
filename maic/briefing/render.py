"""A Document as one self-contained HTML page (the printable pack), and that page printed to PDF by headless
Chromium through Playwright.

The HTML carries plotly.js inline (no CDN, no outside fetch), the charts' figure data from maic.figures, and
system fonts only. The PDF is Chromium printing that page: A4, the protective marking in the header and
footer of every page with "page X of Y", tagged (accessible) with an outline, and the title and author in
its properties. When Chromium is missing the HTML is still made; PDF asks raise RendererMissing.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import itertools
import json
import os
import queue
import re
import shutil
import tempfile
import threading
from concurrent.futures import Future
from html import escape
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from maic.briefing.document import Document
from maic.briefing.request import CHROMIUM_FLAGS
from maic.errors import MaicError

TEMPLATES = Path(__file__).parent / "templates"
AUTHOR = "MAIC common picture"
PRINT_WIDTH_PX = 703


class RendererMissing(MaicError):
    status = 503
    title = "PDF renderer missing"


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


@functools.cache
def plotly_js() -> str:
    """plotly.js as shipped inside the plotly package (read as a file; maic never imports plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise MaicError("plotly is not installed: it carries the plotly.js the pack's charts are drawn with")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return _script_safe(path.read_text(encoding="utf-8"))


def _script_safe(text: str) -> str:
    """Text that cannot end the <script> element it sits in."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def html_page(doc: Document, *, author: str = AUTHOR, plotly_src: str | None = None) -> str:
    """The printable page, self-contained (plotly.js inline) unless plotly_src names a file beside it."""
    charts = [{"id": f"chart-{s.key}-{i}", "figure": c.figure} for s in doc.sections
              for i, c in enumerate(s.charts, start=1)]
    return _environment().get_template("pack.html").render(
        doc=doc, author=author,
        charts=Markup(_script_safe(json.dumps(charts, separators=(",", ":"), default=str))) if charts else "",
        plotly_js=Markup(plotly_js()) if charts and not plotly_src else "", plotly_src=plotly_src)


def chromium_problem(executable: str) -> str | None:
    """Why a PDF cannot be made here, in words naming the fix; None when Chromium is there."""
    if not executable or not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        return (f"Chromium is not installed at {executable or '(unset)'}: PDF packs are printed by headless "
                "Chromium. Install it with `make browser-deps` (Debian's chromium), or set MAIC_CHROMIUM to its "
                "path. The HTML pack (--format html) needs no browser.")
    return None


def _templates(doc: Document) -> tuple[str, str]:
    style = ("font-family:system-ui,Arial,sans-serif;font-size:8pt;width:100%;margin:0 12mm;color:#0b0c0c;"
             "font-variant-ligatures:none;")
    marking = escape(doc.marking)
    header = f'<div style="{style}text-align:center;"><b>{marking}</b></div>'
    cell = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;"
    footer = (f'<div style="{style}display:grid;grid-template-columns:1fr auto 1fr;gap:4mm;">'
              f'<span style="{cell}">{escape(doc.title)}, as at {escape(doc.as_at_text)}</span>'
              f'<b style="{cell}">{marking}</b><span style="{cell}text-align:right;">page '
              '<span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')
    return header, footer


def pdf_bytes(doc: Document, *, chromium: str, author: str = AUTHOR) -> bytes:
    """The pack printed by headless Chromium (Playwright driving the executable given)."""
    problem = chromium_problem(chromium)
    if problem:
        raise RendererMissing(problem)
    header, footer = _templates(doc)
    pdf = _PRINTER.print(html_page(doc, author=author, plotly_src=PLOTLY_FILE), chromium, header, footer)
    return _with_properties(pdf, doc, author)


PLOTLY_FILE = "plotly.min.js"
IDLE_SECONDS = 120.0


class _Printer:
    """One headless Chromium per process, kept open between packs by a thread of its own (Playwright's sync API
    belongs to the thread that started it), and closed after IDLE_SECONDS without a pack. A warm browser keeps
    plotly.js compiled: a pack prints in about a second instead of several. Pages are files in a private folder
    beside plotly.min.js; every other request is refused, so nothing leaves the machine."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._count = itertools.count()

    def print(self, page_html: str, chromium: str, header: str, footer: str) -> bytes:
        done: Future[bytes] = Future()
        with self._lock:
            self._jobs.put((page_html, chromium, header, footer, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="maic-pack-printer", daemon=True)
                self._thread.start()
        return done.result(timeout=180)

    def _serve(self) -> None:
        from playwright.sync_api import sync_playwright

        folder = Path(tempfile.mkdtemp(prefix="maic-packs-"))
        (folder / PLOTLY_FILE).write_text(plotly_js(), encoding="utf-8")
        state: dict = {}
        with sync_playwright() as playwright:
            try:
                while True:
                    try:
                        job = self._jobs.get(timeout=IDLE_SECONDS)
                    except queue.Empty:
                        with self._lock:
                            if self._jobs.empty():
                                self._thread = None
                                return
                        continue
                    *work, done = job
                    try:
                        done.set_result(self._print(playwright, state, folder, *work))
                    except BaseException as exc:  # noqa: BLE001  (the caller gets it; a fresh browser next time)
                        done.set_exception(exc)
                        self._close(state)
            finally:
                self._close(state)
                shutil.rmtree(folder, ignore_errors=True)

    def _print(self, playwright, state: dict, folder: Path, page_html: str, chromium: str, header: str,
               footer: str) -> bytes:
        if state.get("chromium") != chromium or not state["browser"].is_connected():
            self._close(state)
            browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_FLAGS))
            # The printable width of A4 less the margins (186 mm at 96 dpi), laid out for print, so each chart is
            # drawn at the width it is printed at.
            page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
            page.emulate_media(media="print")
            allowed = folder.as_uri() + "/"
            page.route(lambda url: not url.startswith(allowed), lambda route: route.abort())
            state.update(chromium=chromium, browser=browser, page=page)
        page = state["page"]
        path = folder / f"pack-{next(self._count)}.html"
        path.write_text(page_html, encoding="utf-8")
        try:
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.documentElement.getAttribute('data-charts') !== null", timeout=30_000)
            if page.evaluate("document.documentElement.getAttribute('data-charts')") != "ready":
                raise MaicError("the pack's charts could not be drawn")
            return page.pdf(format="A4", print_background=True, display_header_footer=True, header_template=header,
                            footer_template=footer, margin={"top": "18mm", "bottom": "18mm", "left": "12mm",
                                                            "right": "12mm"}, tagged=True, outline=True)
        finally:
            path.unlink(missing_ok=True)

    @staticmethod
    def _close(state: dict) -> None:
        browser = state.pop("browser", None)
        state.clear()
        if browser is not None:
            with contextlib.suppress(Exception):  # a browser that died is closed already
                browser.close()


_PRINTER = _Printer()


def _with_properties(pdf: bytes, doc: Document, author: str) -> bytes:
    """Title, author and subject in the PDF's document properties, appended as an incremental update so that
    Chromium's tagged structure is kept byte for byte."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(PdfReader(io.BytesIO(pdf)), incremental=True)
    writer.add_metadata({"/Title": f"{doc.title}: {doc.lrf}, {doc.week_text}", "/Author": author,
                         "/Subject": f"{doc.marking}. {doc.lrf}, {doc.week_text}, as at {doc.as_at_text}",
                         "/Keywords": doc.marking})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
