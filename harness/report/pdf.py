"""The report's HTML to PDF: Chromium's print-to-PDF (Debian's /usr/bin/chromium through Playwright),
the same HTML file a reader opens, so HTML and PDF stay one source of truth.

Chromium was chosen over WeasyPrint on measurement (benchmarks/bench_report_pdf.py, README): it lays
out a 1,000-item report many times faster, with the same CSS paged media (margin boxes with page x of
y, named landscape pages, rows kept whole). Its links come out absolute (file:///…/evidence/…); they
are made relative again here, so a folder sent elsewhere keeps working and shows none of the lab's
paths.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from harness.errors import LabError

# The lab's browser and how it is started headless: one definition, harness.probes.browser.
from harness.probes.browser import CHROMIUM, CHROMIUM_ARGS


class PdfError(LabError):
    pass


_PRINT_ONLY = "<style>@media screen { body { display: none; } }</style>"


def _relative_links(pdf: bytes, folder_uri: str) -> bytes:
    """Chromium writes each link as an uncompressed ``/URI (file:///folder/evidence/x)``; rewrite those
    inside the report folder to ``/URI (evidence/x)``, padded with spaces to the same length so every
    byte offset (the cross-reference table) stays valid."""
    prefix = re.escape(folder_uri.encode())

    def rel(m: re.Match[bytes]) -> bytes:
        whole, target = m.group(0), m.group(1)
        new = b"/URI (" + target + b")"
        return new + b" " * (len(whole) - len(new))

    return re.sub(rb"/URI \(" + prefix + rb"((?:[^()\\]|\\.)*)\)", rel, pdf)


class Printer:
    """One Chromium for as many pages as needed (a report and its English rendering)."""

    def __init__(self) -> None:
        self._pw: Any = None
        self._browser: Any = None

    def __enter__(self) -> Printer:
        if not os.path.exists(CHROMIUM):
            raise PdfError(f"no browser at {CHROMIUM} to print the report (apt-get install chromium)")
        from playwright.sync_api import Error as PwError
        from playwright.sync_api import sync_playwright

        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        except PwError as e:
            self.__exit__()
            raise PdfError(f"chromium did not start to print the report: {str(e).splitlines()[0]}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._pw is not None:
            self._pw.stop()
        self._browser = self._pw = None

    def pdf(self, html_file: Path) -> bytes:
        """The PDF of a report page written in its folder (evidence and figures beside it)."""
        from playwright.sync_api import Error as PwError

        page = self._browser.new_page()
        try:
            # The report is self-contained: nothing but its own folder may load.
            folder = html_file.parent.resolve().as_uri() + "/"
            page.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith(folder) else route.abort()
            )
            # The page is only printed: spare Chromium the screen layout it would do first (a whole
            # extra layout of the document) by hiding it from screen media while it loads. Routes
            # registered later are asked first.
            me = html_file.resolve().as_uri()
            body = html_file.read_text(encoding="utf-8").replace("</head>", _PRINT_ONLY + "</head>", 1)
            page.route(me, lambda route: route.fulfill(body=body, content_type="text/html; charset=utf-8"))
            page.goto(me, wait_until="load")
            data = page.pdf(prefer_css_page_size=True, print_background=True, outline=False, tagged=False)
        except PwError as e:
            raise PdfError(f"chromium could not print {html_file.name}: {str(e).splitlines()[0]}") from None
        finally:
            page.close()
        return _relative_links(data, folder)
