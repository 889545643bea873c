"""End-to-end test of the page in headless Chromium (Debian ``chromium`` + ``chromium-driver``).

A real uvicorn server runs in a thread on a free localhost port; Selenium drives
the Debian chromium binary (never a downloaded browser).  The test uploads an
X-ray, waits for the colorized result and saves a screenshot: under ``tmp_path``
normally, or over ``docs/web_screenshot.png`` when ``MEDCOLOR_UPDATE_SCREENSHOT=1``.

Skipped when chromium, chromedriver or selenium is missing.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("headless browser test needs Debian chromium and chromium-driver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
uvicorn = pytest.importorskip("uvicorn")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from medcolor.web import WebConfig, create_app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "web_screenshot.png"


def _sample_xray(tmp_path: Path) -> Path:
    """A chest X-ray: from examples/ if the repo has one, else pydicom-data's RG1_UNCI, else synthetic."""
    for pattern in ("*xray*", "*x-ray*", "*chest*", "*cxr*"):
        found = sorted(p for p in (REPO / "examples").glob(pattern) if p.is_file())
        if found:
            return found[0]
    try:
        from pydicom.data import get_testdata_file

        path = get_testdata_file("RG1_UNCI.dcm")  # CR chest X-ray in the pydicom-data package
        if path:
            return Path(path)
    except Exception:  # pydicom-data missing or its store unreadable
        pass
    yy, xx = np.mgrid[0:256, 0:256]
    ribs = 0.5 + 0.3 * np.sin(yy / 9.0) * np.exp(-((xx - 128) / 90.0) ** 2)
    path = tmp_path / "synthetic_xray.png"
    Image.fromarray((np.clip(ribs, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def _app():
    """The shipped default model when it exists (a real colorization), else a small untrained one."""
    from medcolor.weights import list_pretrained

    if "photo" in list_pretrained():
        return create_app(WebConfig(model="default", device="cpu"))
    import torch

    from medcolor.models import create_model

    torch.manual_seed(0)
    net = create_model("fastcolor", widths=(8, 8, 16, 16, 16))
    return create_app(WebConfig(model="fastcolor-untrained", device="cpu"), models={"fastcolor-untrained": net})


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1280,1150", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 180):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def test_upload_colorize_and_screenshot(server, browser, tmp_path):
    browser.get(server + "/")
    # the option lists come from the API
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"), 30)
    sample = _sample_xray(tmp_path)
    browser.find_element(By.ID, "file").send_keys(str(sample))
    _wait(browser, lambda d: d.find_element(By.ID, "result-img").get_attribute("data-ready")
          or d.find_element(By.ID, "error").is_displayed())
    error = browser.find_element(By.ID, "error")
    assert not error.is_displayed(), error.text
    natural = browser.execute_script("const i = document.getElementById('result-img');"
                                     "return [i.naturalWidth, i.naturalHeight];")
    assert natural[0] > 0 and natural[1] > 0
    assert browser.find_element(By.ID, "dl-png").get_attribute("href").startswith("blob:")
    is_dicom = sample.suffix.lower() == ".dcm"
    assert browser.find_element(By.ID, "dl-dcm").is_enabled() == is_dicom
    assert browser.find_element(By.ID, "window").is_enabled() == is_dicom

    out = SCREENSHOT if os.environ.get("MEDCOLOR_UPDATE_SCREENSHOT") == "1" else tmp_path / "web.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    png = browser.get_screenshot_as_png()
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(png)
    os.replace(tmp, out)  # never a half-written screenshot
    shot = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert shot.shape[0] > 100 and shot.std() > 10  # something was drawn


def test_error_message_is_shown(server, browser, tmp_path):
    browser.get(server + "/")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"), 30)
    bogus = tmp_path / "notes.png"
    bogus.write_text("these are notes, not an image\n")
    browser.find_element(By.ID, "file").send_keys(str(bogus))
    _wait(browser, lambda d: d.find_element(By.ID, "error").is_displayed(), 60)
    assert "notes.png" in browser.find_element(By.ID, "error").text


def _result_src(driver) -> str:
    return driver.find_element(By.ID, "result-img").get_attribute("src") or ""


def _image_array(driver, element_id: str) -> np.ndarray:
    """The pixels of a displayed image, ``(H, W, 4)`` uint8 RGBA, read back from the page."""
    w, h, data = driver.execute_script("""
        const img = document.getElementById(arguments[0]);
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return [c.width, c.height, Array.from(ctx.getImageData(0, 0, c.width, c.height).data)];""", element_id)
    return np.asarray(data, np.uint8).reshape(h, w, 4)


def _result_redness(driver) -> float:
    """Mean R - B over the displayed result."""
    rgba = _image_array(driver, "result-img").astype(float)
    return float((rgba[..., 0] - rgba[..., 2]).mean())


def _colorize_gradient(server, browser, tmp_path, h: int, w: int) -> None:
    """Open the page, upload an ``h`` x ``w`` gray gradient and wait for its colorization."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = tmp_path / "gradient.png"
    Image.fromarray(((xx + yy) * 255 // (h + w)).astype(np.uint8)).save(img)
    browser.get(server + "/")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"), 30)
    browser.find_element(By.ID, "file").send_keys(str(img))
    _wait(browser, lambda d: d.find_element(By.ID, "result-img").get_attribute("data-ready"), 120)


def test_hint_painting_reruns(server, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    _colorize_gradient(server, browser, tmp_path, 160, 200)
    before, redness = _result_src(browser), _result_redness(browser)
    rerun = browser.find_element(By.ID, "rerun")
    assert not rerun.is_enabled()  # nothing painted yet
    canvas = browser.find_element(By.ID, "hint-canvas")
    ActionChains(browser).move_to_element_with_offset(canvas, -40, -20).click_and_hold() \
        .move_by_offset(60, 10).move_by_offset(20, 30).release().perform()
    _wait(browser, lambda d: d.find_element(By.ID, "rerun").is_enabled(), 10)
    rerun.click()
    _wait(browser, lambda d: _result_src(d) != before
          and d.find_element(By.ID, "result-img").get_attribute("data-ready"), 120)
    assert not browser.find_element(By.ID, "error").is_displayed()
    after = _result_redness(browser)
    assert after > redness + 5, (redness, after)  # the default hint colour is a red


def test_dicom_download(server, browser, tmp_path):
    from pydicom.data import get_testdata_file

    sample = get_testdata_file("693_UNCI.dcm")  # 512x512 head CT from pydicom-data
    if not sample:
        pytest.skip("pydicom-data is not installed")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.get(server + "/")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"), 30)
    browser.find_element(By.ID, "file").send_keys(str(sample))
    _wait(browser, lambda d: d.find_element(By.ID, "result-img").get_attribute("data-ready"), 120)
    assert browser.find_element(By.ID, "window").is_enabled()
    browser.find_element(By.ID, "dl-dcm").click()
    _wait(browser, lambda d: [p for p in downloads.glob("*.dcm")], 120)
    import pydicom

    ds = pydicom.dcmread(next(downloads.glob("*.dcm")))
    assert ds.PhotometricInterpretation == "RGB" and ds.pixel_array.shape == (512, 512, 3)


def test_docs_page_renders_the_schema(server, browser):
    browser.get(server + "/docs")
    _wait(browser, lambda d: "POST /api/colorize" in d.find_element(By.ID, "endpoints").text, 30)
    text = browser.find_element(By.ID, "endpoints").text
    assert "GET /api/models" in text and "format" in text


def test_confidence_toggle_overlays_the_map(server, browser, tmp_path):
    _colorize_gradient(server, browser, tmp_path, 120, 160)
    overlay = browser.find_element(By.ID, "confidence-img")
    assert not overlay.is_displayed()  # off until asked for
    browser.find_element(By.ID, "show-confidence").click()
    _wait(browser, lambda d: d.find_element(By.ID, "confidence-img").get_attribute("data-ready")
          or d.find_element(By.ID, "error").is_displayed(), 120)
    from medcolor.weights import list_pretrained

    if "photo" not in list_pretrained():  # the small fallback model has no confidence: one line says so
        assert "has no confidence" in browser.find_element(By.ID, "error").text
        return
    assert overlay.is_displayed() and browser.find_element(By.ID, "confidence-help").is_displayed()
    rgba = _image_array(browser, "confidence-img").astype(int)
    assert rgba.shape == (120, 160, 4) and np.abs(rgba[..., 0] - rgba[..., 2]).max() == 0  # gray, image size
    browser.find_element(By.ID, "show-confidence").click()
    assert not overlay.is_displayed()
