"""The admin page in a real headless Chromium: it renders, and it updates itself, without a
reload, when a KB file is edited on disk or a report comes in. Skipped, visibly, without the
browser, its driver or the `selenium` package."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local.admin.conftest import WAIT, Admin
from tests.local.admin.test_knowledge_view import BROKEN, NEW
from tests.local.admin.test_stats_view import UNKNOWN

CHROMIUM = os.environ.get("JETHRO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("JETHRO_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium")
    for program in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(program):
            pytest.skip(f"browser tests need {program} (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,2000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, tmp_path: Path, name: str) -> None:
    """Kept with the test's files, or in JETHRO_SCREENSHOTS (CI collects that folder)."""
    folder = Path(os.environ.get("JETHRO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))


def test_the_page_updates_itself_after_a_kb_edit_and_a_report(
    admin: Admin, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(admin.server.url + "/admin")
    rows = browser.find_elements(By.CSS_SELECTOR, "#articles tr[data-article]")
    assert len(rows) == len(admin.knowledge.current.kb.articles)
    assert browser.find_element(By.CSS_SELECTOR, "[data-figure=reports]").text == "0"
    assert "no reports yet" in browser.find_element(By.ID, "chart-reports").text
    browser.execute_script("window.notReloaded = true")
    wait = WebDriverWait(browser, WAIT)

    admin.write("facilities/coffee.md", NEW)
    admin.write("network/vpn-disconnects.md", BROKEN)
    admin.report(UNKNOWN[0])

    coffee = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#articles tr[data-article=coffee]")
    )
    assert "The <b>coffee</b> machine is empty" in coffee[0].text
    problem = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#problems li.problem.error"))
    assert problem[0].text.startswith("network/vpn-disconnects.md:2: invalid YAML")
    vpn = browser.find_element(By.CSS_SELECTOR, "#articles tr[data-article=vpn-disconnects]")
    assert "last good version serving" in vpn.text
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-figure=reports]").text == "1")
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-reports rect.bar[data-series=reports]")
    assert sum(float(bar.get_attribute("data-value")) for bar in bars) == 1
    assert "quantum flux capacitor" in browser.find_element(By.ID, "gaps").text
    assert browser.execute_script("return window.notReloaded") is True
    assert browser.find_element(By.ID, "live").text == "live"
    assert not [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"], (
        "the page logged errors (a Content-Security-Policy refusal, a failed fetch)"
    )
    screenshot(browser, tmp_path, "admin-view")
    browser.execute_script("document.getElementById('stats').scrollIntoView()")
    screenshot(browser, tmp_path, "admin-view-stats")
