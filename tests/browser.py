"""Headless Chromium for the explorer's tests (Selenium, Debian's chromium
and chromedriver): the driver fixture and the helpers that wait for a
re-rendered view, read the console and save screenshots checked not blank."""
import io
import os

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BUILD

SHOTS = os.path.join(BUILD, "explore-screenshots")


@pytest.fixture(scope="module")
def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
              "--allow-file-access-from-files"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


def wait(driver, cond, t=60):  # generous: CI machines may be busy
    # A view is re-rendered when its data script arrives: an element found a
    # moment earlier may be replaced before it is read, so retry on that too.
    return WebDriverWait(driver, t, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
        lambda d: cond(d))


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    png = driver.get_screenshot_as_png()
    open(os.path.join(SHOTS, name + ".png"), "wb").write(png)
    img = Image.open(io.BytesIO(png)).convert("RGB").resize((200, 140))
    colours = img.getcolors(200 * 140)
    background = max(colours)[0] / (200 * 140)
    assert len(colours) > 30 and background < 0.9, f"{name}: screenshot looks blank"


def js_all(driver, selector, expr):
    """expr (of element e) for every element matching selector, in one round trip."""
    return driver.execute_script(f"return [...document.querySelectorAll(arguments[0])].map(e => {expr})", selector)
