"""What a person does on the local workspace's page, through a real browser.

Every step waits (WebDriverWait) for what a person would wait for on screen; nothing sleeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.local.workspace import Person

WAIT = 10.0
_DETACHED = "does not belong to the document"


def _literal(text: str) -> str:
    """`text` as an XPath string literal."""
    return f'"{text}"' if '"' not in text else "concat('" + text.replace("'", "',\"'\",'") + "')"


class SlackPage:
    def __init__(self, driver: Any, url: str, screenshots: Path) -> None:
        self.driver = driver
        self.url = url
        self.screenshots = screenshots
        self.shots = 0

    def wait(self, condition: Any, message: str = "") -> Any:
        """Until `condition` holds; an element the page swapped out while it was being read
        means "not yet", as it would to a person looking again."""

        def attempt(driver: Any) -> Any:
            try:
                return condition(driver)
            except WebDriverException as exc:
                # Chromium reports a node swapped out mid-read either as a stale element or,
                # between two protocol calls, as this inspector error (seen in CI)
                if isinstance(exc, StaleElementReferenceException) or _DETACHED in str(exc):
                    return False
                raise

        return WebDriverWait(self.driver, WAIT).until(attempt, message)

    def open(self, person: Person) -> None:
        self.driver.get(f"{self.url}/?as={person.id}")
        self.wait(lambda d: d.find_elements(By.ID, "persona"), "the page did not load")

    def switch_to(self, person: Person) -> None:
        """Pick someone else in the "You are" menu (the page submits itself)."""
        Select(self.driver.find_element(By.ID, "persona")).select_by_value(person.id)
        self.wait(
            lambda d: (
                Select(d.find_element(By.ID, "persona")).first_selected_option.get_attribute(
                    "value"
                )
                == person.id
                and f"as={person.id}" in d.current_url
            ),
            f"could not switch to {person.name}",
        )

    def go(self, nav_id: str) -> None:
        self.driver.find_element(By.ID, nav_id).click()
        if nav_id == "nav-admin":
            self.wait(lambda d: "/admin" in d.current_url, "the admin view did not open")
            return
        self.wait(lambda d: "current" in d.find_element(By.ID, nav_id).get_attribute("class"))

    def say(self, text: str, *, in_thread: bool = False) -> None:
        where = "#thread .composer textarea" if in_thread else "main .composer textarea"
        box = self.driver.find_element(By.CSS_SELECTOR, where)
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
        self.see(text)

    def message(self, text: str, *, where: str = "") -> WebElement:
        """The newest message showing `text` (in the thread panel when `where` is "#thread")."""
        path = (
            f"//div[contains(@class,'message')][.//div[@class='body']"
            f"[contains(normalize-space(.), {_literal(text)})]]"
        )
        if where == "#thread":
            path = "//aside[@id='thread']" + path
        found = self.wait(lambda d: d.find_elements(By.XPATH, path), f"no message with {text!r}")
        return found[-1]

    def see(self, text: str, *, where: str = "") -> WebElement:
        return self.message(text, where=where)

    def press(self, message_text: str, button: str, *, where: str = "") -> None:
        """Press `button` on the message showing `message_text`."""
        xpath = f".//button[normalize-space(.)={_literal(button)}]"
        self._click_in(message_text, xpath, where, f"no {button!r} on {message_text!r}")

    def _click_in(self, message_text: str, xpath: str, where: str, failure: str) -> None:
        """Find and click in one step, again if a live update replaced the message meanwhile."""

        def clicked(d: Any) -> bool:
            found = self.message(message_text, where=where).find_elements(By.XPATH, xpath)
            if not found:
                return False
            found[0].click()
            return True

        self.wait(clicked, failure)

    def open_thread(self, message_text: str) -> None:
        link = ".//a[contains(@class,'replies') or contains(@class,'reply')]"
        self._click_in(message_text, link, "", f"no thread link on {message_text!r}")
        self.wait(lambda d: d.find_elements(By.ID, "thread"), "the thread did not open")

    def modal(self) -> WebElement:
        return self.wait(lambda d: d.find_elements(By.ID, "modal"), "no modal opened")[0]

    def no_modal(self) -> None:
        self.wait(lambda d: not d.find_elements(By.ID, "modal"), "the modal stayed open")

    def choose_suggested(self, typed: str, option: str) -> None:
        """Type in the modal's search-as-you-type menu and choose `option` once the bot's
        options arrive."""
        box = self.modal().find_element(By.CSS_SELECTOR, ".external-select")
        box.find_element(By.CSS_SELECTOR, "input[type=search]").send_keys(typed)
        xpath = f".//option[normalize-space(.)={_literal(option)}]"
        self.wait(lambda d: box.find_elements(By.XPATH, xpath), f"no option {option!r}")
        Select(box.find_element(By.TAG_NAME, "select")).select_by_visible_text(option)

    def skip(self, minutes: int) -> None:
        before = self.driver.find_element(By.ID, "clock").text
        self.driver.find_element(By.CSS_SELECTOR, f"button[data-skip='{minutes}']").click()
        self.wait(lambda d: d.find_element(By.ID, "clock").text != before, "the clock stood still")

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def shoot(self, name: str) -> Path:
        self.shots += 1
        path = self.screenshots / f"{self.shots:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path
