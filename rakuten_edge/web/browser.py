"""Driving the page in headless Chromium (selenium + Debian's chromium and chromium-driver): the web test and
`benchmarks/web.py` use it. Only the test tooling imports this module; the site itself needs none of it."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# As root Chromium needs --no-sandbox; the closed network refuses its background connections, hence the rest.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def missing_tools() -> str | None:
    """Why the page cannot be driven here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists() and not shutil.which(Path(p).name)]
    return (
        f"{', '.join(absent)} not found (make web-tools installs Debian's chromium and chromium-driver)"
        if absent
        else None
    )


@dataclass(frozen=True)
class Answer:
    probs: list[float] | None
    ms: float | None
    error: str | None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Page:
    """A static server on loopback for `site`, and one headless Chromium on its page."""

    def __init__(self, site: Path, profile: Path, timeout: float = 60.0):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        handler = functools.partial(_Quiet, directory=str(site))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or CHROMEDRIVER))
        self.timeout = timeout
        self.driver.set_script_timeout(timeout)  # classify() waits for the page's answer in one async script
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.load_ms = self.open()

    def open(self) -> float:
        """Navigate and wait until the model is ready; returns the cold load time the page measured (ms)."""
        self.driver.get(self.url)
        ready = self._wait(lambda d: d.execute_script("return document.body.dataset.ready || null"))
        return float(ready)

    def _wait(self, condition):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, self.timeout, poll_frequency=0.005).until(condition)

    def classify(self, image: Path | None, title: str, description: str = "") -> Answer:
        d = self.driver
        d.execute_script(
            "document.getElementById('image').value = '';"
            "document.getElementById('title').value = arguments[0];"
            "document.getElementById('description').value = arguments[1];"
            "document.getElementById('result').dataset.state = 'idle';",
            title,
            description,
        )
        if image is not None:
            d.find_element("id", "image").send_keys(str(Path(image).resolve()))
        d.find_element("id", "classify").click()
        # One round trip that the page answers when the state changes. Polling it from here every 5 ms kept Python,
        # chromedriver and Chromium busy on the 2 cores the page classifies on (the page times itself: data-ms).
        state = d.execute_async_script(
            "const done = arguments[arguments.length - 1], result = document.getElementById('result');"
            "const state = () => ['done', 'error'].includes(result.dataset.state) ? result.dataset.state : null;"
            "if (state()) { done(state()); return; }"
            "new MutationObserver((_, seen) => { if (state()) { seen.disconnect(); done(state()); } })"
            ".observe(result, {attributes: true, attributeFilter: ['data-state']});"
        )
        if state == "error":
            message = d.find_element("id", "message")
            return Answer(None, None, message.text if message.is_displayed() else "(hidden message)")
        result = d.find_element("id", "result")
        return Answer(json.loads(result.get_attribute("data-probs")), float(result.get_attribute("data-ms")), None)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
