"""Driving the dashboard in Debian's headless Chromium through chromedriver (Selenium).

The browser and its driver are the Debian packages ``chromium`` and ``chromium-driver`` (``make setup``
installs them); nothing is downloaded at run time: both paths are given to Selenium, so its driver
manager has nothing to look for. Each page load records Content-Security-Policy violations in the
page (a script injected through the DevTools protocol, which the policy does not govern), and
:meth:`Dashboard.shot` saves full-page PNG screenshots into ``LOOKOUT_DASHBOARD_SHOTS`` when set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, TimeoutException
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path(os.environ.get("LOOKOUT_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("LOOKOUT_CHROMEDRIVER", "/usr/bin/chromedriver"))
WIDTH, HEIGHT = 1366, 900
T = TypeVar("T")

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def launch(downloads: Path) -> Chrome:
    """Headless Chromium with downloads going to ``downloads``; fails when the Debian packages are missing."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: `make setup` installs the Debian package {package}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WIDTH},{HEIGHT}", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--lang=en-US", "--force-color-profile=srgb", "--hide-scrollbars"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_script_timeout(30)
    return driver


@dataclass(frozen=True)
class Browser:
    """A running headless Chromium and the folder its downloads go to."""

    driver: Chrome
    downloads: Path


class Dashboard:
    """The dashboard of the app at ``base_url``, as a person uses it in one browser tab."""

    def __init__(self, chromium: Browser, base_url: str) -> None:
        self.driver = chromium.driver
        self.downloads = chromium.downloads
        self.base_url = base_url.rstrip("/")
        self.shots = Path(os.environ["LOOKOUT_DASHBOARD_SHOTS"]) if os.environ.get("LOOKOUT_DASHBOARD_SHOTS") else None

    def reset(self) -> None:
        """A fresh start: the dashboard loaded without a function key, no downloads, the console read."""
        self.clear_downloads()
        self.driver.get(self.url())
        self.driver.execute_script("window.sessionStorage.clear();")
        self.driver.get_log("browser")  # type: ignore[no-untyped-call]

    # -- navigation ------------------------------------------------------------------------------

    def url(self, route: str = "integrations", query: str = "", **params: str) -> str:
        """The dashboard's URL for ``#/route?params`` (``query`` goes before the hash: ``code=KEY``)."""
        fragment = f"#/{route}" + (f"?{urlencode(params)}" if params else "")
        return f"{self.base_url}/api/dashboard/" + (f"?{query}" if query else "") + fragment

    def open(self, route: str = "integrations", **params: str) -> None:
        """Load the page afresh at a route and wait until it has rendered."""
        self.driver.get("about:blank")
        self.driver.get(self.url(route, **params))
        self.wait_ready()

    def go(self, route: str, **params: str) -> None:
        """Follow an in-page link to a route (hash navigation, no reload) and wait until it has rendered."""
        fragment = f"#/{route}" + (f"?{urlencode(params)}" if params else "")
        self.driver.execute_script("window.location.hash = arguments[0];", fragment)
        self.wait_ready()

    def reload_until(self, css: str, needle: str, timeout: float = 45) -> None:
        """Reload the page, as a person waiting for something would, until ``css`` shows ``needle``."""
        deadline = time.monotonic() + timeout
        while True:
            if any(needle in element.text for element in self.elements(css)):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never showed in {css!r}; page says:\n{self.main_text()[:3000]}")
            time.sleep(0.5)
            self.driver.refresh()
            self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        """Wait until the current page's loader has finished (its view says ``data-ready``)."""
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#main .view[data-ready='true']"), timeout,
                  "the page to render")

    # -- finding things --------------------------------------------------------------------------

    def wait(self, condition: Callable[[Chrome], T | None], timeout: float = 30, what: str = "condition") -> T:
        """What ``condition`` returns once it is truthy; AssertionError with the page's text after ``timeout`` seconds."""
        try:
            value: T | None = WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                            ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}; page says:\n{self.main_text()[:3000]}") from None
        assert value is not None
        return value

    def element(self, css: str, timeout: float = 30) -> WebElement:
        """The first element matching ``css``, once it is displayed."""
        def shown(driver: Chrome) -> WebElement | None:
            found = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
            return found[0] if found else None
        return self.wait(shown, timeout, f"{css!r}")

    def elements(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str, timeout: float = 30) -> str:
        return self.element(css, timeout).text

    def wait_text(self, css: str, needle: str, timeout: float = 30) -> str:
        """The text of ``css`` once it contains ``needle``."""
        def has(driver: Chrome) -> str | None:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if needle in element.text:
                    return str(element.text)
            return None
        return self.wait(has, timeout, f"{needle!r} in {css!r}")

    def main_text(self) -> str:
        found = self.driver.find_elements(By.CSS_SELECTOR, "#main")
        return found[0].text if found else ""

    def click(self, css: str) -> None:
        self.element(css).click()

    def fill(self, css: str, value: str) -> None:
        field = self.element(css)
        field.clear()
        field.send_keys(value)

    # -- what must never happen ------------------------------------------------------------------

    def alert_text(self) -> str | None:
        """The text of an open alert/confirm dialog, or None."""
        try:
            return str(self.driver.switch_to.alert.text)
        except NoAlertPresentException:
            return None

    def violations(self) -> list[str]:
        """Content-Security-Policy violations since the page loaded."""
        return list(self.driver.execute_script("return window.__violations || [];"))

    def script_errors(self) -> list[str]:
        """Console errors other than failed resource loads (HTTP errors the page handles itself)."""
        return [entry["message"] for entry in self.driver.get_log("browser")  # type: ignore[no-untyped-call]
                if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]]

    def assert_clean(self) -> None:
        assert self.alert_text() is None
        assert self.violations() == []
        assert self.script_errors() == []

    # -- files and pictures ----------------------------------------------------------------------

    def downloaded(self, suffix: str, timeout: float = 20) -> Path:
        """The file ending in ``suffix`` that appeared in the download folder (waiting for it to complete)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [p for p in self.downloads.iterdir() if p.name.endswith(suffix) and not p.name.endswith(".crdownload")]
            if done:
                return done[0]
            time.sleep(0.1)
        raise AssertionError(f"no download ending in {suffix} in {sorted(p.name for p in self.downloads.iterdir())}")

    def clear_downloads(self) -> None:
        for path in self.downloads.iterdir():
            path.unlink()

    def shot(self, name: str, width: int = WIDTH) -> None:
        """A full-page PNG of what the browser shows, ``width`` pixels wide, into ``LOOKOUT_DASHBOARD_SHOTS`` when
        that is set."""
        if self.shots is None:
            return
        self.shots.mkdir(parents=True, exist_ok=True)
        if width != WIDTH:
            self.driver.set_window_size(width, HEIGHT)
            time.sleep(0.2)
        height = int(self.driver.execute_script("return document.documentElement.scrollHeight;"))
        self.driver.set_window_size(width, max(HEIGHT, min(height + 140, 6000)))
        try:
            time.sleep(0.2)
            self.driver.save_screenshot(str(self.shots / f"{name}.png"))
        finally:
            self.driver.set_window_size(WIDTH, HEIGHT)


@contextmanager
def browser(downloads: Path) -> Iterator[Browser]:
    """A headless Chromium for a block, downloading into ``downloads``; always quit afterwards."""
    downloads.mkdir(parents=True, exist_ok=True)
    driver = launch(downloads)
    try:
        yield Browser(driver, downloads)
    finally:
        driver.quit()
