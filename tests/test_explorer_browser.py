"""The explorer served by ``solara run`` and rendered in headless Chromium (selenium).

Skipped only when Chromium or its driver is missing (``.ci/run`` installs Debian's ``chromium``
and ``chromium-driver``).
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

if importlib.util.find_spec("solara") is None:   # found, not imported: `solara run` imports it
    pytest.skip("the explorer extra (solara) is not installed", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
APP = Path(__file__).resolve().parents[1] / "sim" / "explorer" / "app.py"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and DRIVER),
                       reason="chromium and chromium-driver are not installed "
                              "(apt-get install chromium chromium-driver)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    solara = Path(sys.executable).with_name("solara")
    log = open(tmp_path / "solara.log", "w")  # noqa: SIM115 (the server writes it until teardown)
    proc = subprocess.Popen([str(solara), "run", str(APP), "--host", "127.0.0.1", "--port",
                             str(port), "--no-open"], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path, env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE":
                                               "False"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 600  # a hang guard: the loop ends as soon as solara answers
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"solara did not answer on {url}: {(tmp_path / 'solara.log').read_text()}")
    yield url, tmp_path / "solara.log"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1500,1100",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER),
                              options=options)
    yield driver
    driver.quit()


def plot_sources(driver) -> list[str]:
    """Sources of the loaded plot images (Solara serves matplotlib PNGs as blob URLs)."""
    return [img.get_attribute("src") for img in driver.find_elements(By.CSS_SELECTOR, "img")
            if (img.get_attribute("src") or "").startswith(("blob:", "data:image"))
            and int(img.get_attribute("naturalWidth") or 0) > 100]


def test_explorer_renders_controls_and_plots_and_steps(server, browser, tmp_path):
    from sim.explorer.app import TITLE

    url, log = server
    urllib.request.urlopen(url, timeout=60).read()   # warm the server: the app is imported
    start = time.perf_counter()
    browser.get(url)
    wait = WebDriverWait(browser, 600, poll_frequency=0.5)  # hang guard only
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".v-slider")) >= 6
               and len(plot_sources(d)) >= 3)
    first_view = time.perf_counter() - start
    shot = tmp_path / "explorer.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert browser.title == TITLE
    text = browser.find_element(By.TAG_NAME, "body").text
    assert TITLE in text and "PAGE 0" not in text.upper()
    for label in ("Regime", "Enclave: source's GDP share: 0.5", "Subsidy cap (share of value "
                  "added): 0.03", "Park-within-park", "Reverse enclaves", "ω homogenisation: 0.6",
                  "Production units: 1000"):
        assert label in text, f"control {label!r} (with its value) not on the page"
    assert "This explorer runs 1,000 production units" in text and "20,000" in text
    assert "Enclave shares are bargained by source and host, as in the scenario files" in text
    assert "Coordinated co-construction" in text and "coordinated_" not in text
    assert "._" not in text and "e-12" not in text      # no code names, no float noise
    assert browser.find_elements(By.CSS_SELECTOR, ".v-select")
    assert len(browser.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")) >= 2
    assert "Could not load URL" not in log.read_text()
    before = plot_sources(browser)
    step = [b for b in browser.find_elements(By.CSS_SELECTOR, "button")
            if b.text.strip().upper() == "STEP"]
    assert step, "no STEP button"
    start = time.perf_counter()
    step[0].click()
    wait.until(lambda d: (now := plot_sources(d)) and len(now) >= 3
               and all(a != b for a, b in zip(now, before)))
    one_step = time.perf_counter() - start
    # measured, reported, never asserted (wall-clock time depends on the machine)
    print(f"first view {first_view:.1f} s, one step {one_step:.1f} s")
    wait.until(lambda d: "Quarter 1 of 20" in d.find_element(By.TAG_NAME, "body").text)
    browser.save_screenshot(str(tmp_path / "explorer_step1.png"))
