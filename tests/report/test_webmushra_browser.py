"""The listening-test kit in the real webMUSHRA, driven by a scripted listener in headless Chromium.

Kits are exported by :func:`export_listening_test` from synthetic signals; webMUSHRA is served
by PHP with its own ``service/write.php``. Every answer here comes from a seeded script inside
this test, only to check the path webMUSHRA's CSVs -> ``ingest_ratings`` -> Figs. 2 and 3; none
is a result.

Needs webMUSHRA (``TDPR_WEBMUSHRA=DIR``, else ``../shared/vendor/webMUSHRA``), ``php`` (Debian
``php-cli``), ``chromium`` and ``/usr/bin/chromedriver`` (Debian ``chromium-driver``) and
Selenium; skips and says what is missing otherwise. ``TDPR_SCREENSHOTS=DIR`` keeps the
screenshots of an AB and a MOS page there.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import piano_like

from tdpr.audio import write_pcm16
from tdpr.report import ratings as ratings_module
from tdpr.report.build import build_rating_figures
from tdpr.report.listening import (
    AB_CONDITIONS,
    CHECK_ID,
    MOS_CONDITIONS,
    choose_pieces,
    export_listening_test,
)
from tdpr.report.webmushra import (
    WEBMUSHRA_HINT,
    assemble_root,
    config_urls,
    default_webmushra_dir,
    free_port,
    serve,
)

pytestmark = pytest.mark.browser

RATE = 16_000
MODELS = ["SEANet", "AudioUNet", "Demucs"]
COMPOSERS = ["Bach", "Beethoven", "Chopin", "Debussy", "Haydn", "Liszt", "Mozart", "Schubert"]
#: the listening settings of .test/config.yaml (tiny) and config/demo.yaml (demo)
KITS = {"tiny": {"n": 2, "offset_s": 0.5, "duration_s": 2.0}}
KITS["demo"] = {"n": 2, "offset_s": 2.0, "duration_s": 5.0}
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _requirements() -> Path:
    webmushra = default_webmushra_dir()
    if webmushra is None or not (webmushra / "startup.js").is_file():
        pytest.skip(f"webMUSHRA not found: {WEBMUSHRA_HINT} as TDPR_WEBMUSHRA=DIR")
    if shutil.which("php") is None:
        pytest.skip("php is not installed (Debian: apt-get install php-cli)")
    if shutil.which("chromium") is None or not CHROMEDRIVER.is_file():
        pytest.skip("chromium or its driver is missing (Debian: apt-get install chromium-driver)")
    pytest.importorskip("selenium", reason="Selenium is missing (pip install -e '.[dev]')")
    return webmushra


def _kit(folder: Path, n: int, offset_s: float, duration_s: float) -> tuple[Path, pd.DataFrame]:
    """A kit of ``n`` pieces from synthetic 16-kHz recordings of every system."""
    clips = pd.DataFrame(
        [{"clip_id": f"c{i:02d}", "composer": COMPOSERS[i % 8], "title": f"Piece {i}",
          "source_file": f"2018/r{i:02d}.wav"} for i in range(max(n, 4))]
    )  # fmt: skip
    pieces = choose_pieces(clips, n=n, seed=0)
    systems = ["Input", "Ground truth", "SEANet+GT-phase"]
    systems += [s for m in MODELS for s in (m, m + "+TD-PR")]
    manifests = {}
    for k, system in enumerate(systems):
        rows = []
        for j, clip_id in enumerate(pieces["clip_id"]):
            audio = piano_like(offset_s + duration_s + 0.5, RATE, channels=1, seed=j)[:, 0]
            audio *= 0.3 + 0.1 * k  # loudness differs per system until matched
            path = write_pcm16(folder / "systems" / f"{k}_{clip_id}.wav", audio, RATE)
            rows.append({"clip_id": clip_id, "path": str(path)})
        manifests[system] = folder / f"manifest_{k}.csv"
        pd.DataFrame(rows).to_csv(manifests[system], index=False)
    kit = folder / "kit"
    export_listening_test(pieces, manifests, kit, MODELS, offset_s=offset_s, duration_s=duration_s)
    return kit, pieces


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _requirements()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1100,1000",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)  # fmt: skip
    # an explicit driver path: Selenium Manager never downloads anything
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Kits for the tiny and demo settings plus a 5-piece kit, each in a served webMUSHRA root."""
    webmushra = _requirements()
    base = tmp_path_factory.mktemp("webmushra")
    roots = {}
    for name, settings in [*KITS.items(), ("scripted", {"n": 5, "offset_s": 0.5,
                                                        "duration_s": 1.0})]:  # fmt: skip
        kit, pieces = _kit(base / name, **settings)
        roots[name] = (assemble_root(webmushra, kit, base / name / "root"), pieces)
    servers = {}
    try:
        for name, (root, pieces) in roots.items():
            port = free_port()
            servers[name] = (serve(root, port), root, port, pieces)
        yield {name: (root, port, pieces) for name, (_, root, port, pieces) in servers.items()}
    finally:
        for server, *_ in servers.values():
            server.terminate()
            server.wait(timeout=10)


def _open(driver, url: str, timeout: float = 20) -> list[str]:
    """Load a config; return webMUSHRA's error popup, page errors, and whether it never started.

    webMUSHRA lists configuration errors in its popup; a file it cannot load or decode stops it
    on "Loading..." with only a script error in the console, so both are collected.
    """
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    deadline, started = time.monotonic() + timeout, False
    while time.monotonic() < deadline and not started:
        time.sleep(0.1)
        state = driver.execute_script(
            "if (typeof errorHandler === 'undefined') return null;"
            "var items = $('#popupErrorsContent li').map(function(){return $(this).text();});"
            "return {popup: items.get(), started: pageManager !== null"
            " && pageManager.getPageIndex() >= 0};"
        )
        started = bool(state and state["started"])
    errors = list(state["popup"]) if state else []
    errors += [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return errors if started else [*errors, f"webMUSHRA did not start within {timeout} s"]


def test_every_exported_config_loads_without_errors(browser, site):
    for name in KITS:
        root, port, _ = site[name]
        urls = config_urls(root, port)
        assert sorted(urls) == sorted(
            ["tdpr_ab.yaml"] + [f"tdpr_mos_{m.lower()}.yaml" for m in MODELS]
        )
        for config, url in urls.items():
            assert _open(browser, url) == [], f"{name} kit, {config}"
            pages = browser.execute_script("return pageManager.pages.length")
            assert pages == 3 + KITS[name]["n"]  # instructions, check, trials, finish
            decoded = browser.execute_script(
                "var b = pageManager.pages[1].stimulus.getAudioBuffer();"
                "return [b.numberOfChannels, b.duration, audioContext.destination.channelCount];"
            )
            duration = KITS[name]["duration_s"]
            assert decoded[0] == 2 and decoded[1] == pytest.approx(duration, abs=1e-3), decoded
    # the check can fail: the original bug (an unknown page type) and a missing file
    root, port, _ = site["tiny"]
    config = (root / "configs/tdpr_ab.yaml").read_text()
    broken = {
        "type.yaml": config.replace('"likert_single_stimulus"', '"preference_test"', 1),
        "file.yaml": config.replace(".wav", "_gone.wav", 1),
    }
    try:
        for name, text in broken.items():
            (root / "configs" / name).write_text(text)
        url = f"http://127.0.0.1:{port}/index.html?config="
        assert "Type not specified." in _open(browser, url + "type.yaml")
        assert "did not start" in _open(browser, url + "file.yaml", timeout=3)[-1]
    finally:
        for name in broken:
            (root / "configs" / name).unlink()


def _click_next(driver) -> None:
    button = driver.find_element("id", "__button_next")
    _wait(lambda: "ui-disabled" not in (button.get_attribute("class") or ""), "Next unlocked")
    button.click()


def _wait(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)


def _answer(driver, prefix: str, value: str, play_index: int) -> None:
    """Play stimulus ``play_index`` to its end, then pick ``value`` on scale ``prefix``."""
    driver.find_element("id", f"playCondition{play_index}").click()
    radio = f"input[name='{prefix}_response'][value='{value}']"
    _wait(lambda: driver.execute_script(f"return !$(\"{radio}\").prop('disabled')"), "playback")
    label = driver.execute_script(f"return $(\"{radio}\").attr('id')")
    driver.find_element("css selector", f"label[for='{label}']").click()


def _listen(driver, url: str, listener: str, script, shots: dict[str, Path]) -> None:
    """Go through every page of a test, answering from ``script(page_id, condition)``."""
    assert _open(driver, url) == []
    while True:
        page = driver.execute_script(
            "var p = pageManager.getCurrentPage();"
            "if (p instanceof FinishPage) return {type: 'finish'};"
            "if (p instanceof GenericPage) return {type: 'generic'};"
            "return {type: p.pageConfig.type, id: p.pageConfig.id || null,"
            " stimuli: (p.stimuli || [p.stimulus]).filter(Boolean).map(s => s.id)};"
        )
        if page["type"] == "finish":
            break
        if page["type"] == "likert_single_stimulus":
            key = page["stimuli"][0]
            _answer(driver, "1_", script(page["id"], key), 0)
        elif page["type"] == "likert_multi_stimulus":
            for i, condition in enumerate(page["stimuli"]):
                _answer(driver, f"{i}_", script(page["id"], condition), i)
        kind = {"likert_single_stimulus": "ab", "likert_multi_stimulus": "mos"}.get(page["type"])
        if kind in shots and page["id"] == "p02":
            driver.save_screenshot(str(shots.pop(kind)))
        _click_next(driver)
    driver.find_element("id", "listener").send_keys(listener)
    driver.execute_script("$('#listener').trigger('keyup').trigger('change');")
    send = driver.find_element("id", "send_results")
    _wait(send.is_enabled, "Send Results enabled")
    send.click()
    error = driver.execute_script("return $('#popupResultsContent').text() + $('body').text()")
    assert "error occured" not in error.lower()


def _figure_texts(monkeypatch) -> dict[str, list[str]]:
    """Capture the text of every figure that :mod:`tdpr.report.ratings` saves."""
    texts: dict[str, list[str]] = {}
    original = ratings_module.save_figure

    def capture(fig, out):
        texts[Path(out).stem] = [
            t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))
        ]
        return original(fig, out)

    monkeypatch.setattr(ratings_module, "save_figure", capture)
    return texts


def test_scripted_listener_results_become_figures_2_and_3(browser, site, tmp_path, monkeypatch):
    root, port, pieces = site["scripted"]
    rng = np.random.default_rng(13)
    answers: dict[tuple, object] = {}

    def script(listener: str):
        def choose(page_id: str, key: str):
            if page_id == CHECK_ID:
                return "both"
            if key in MOS_CONDITIONS:
                value = answers.setdefault((listener, page_id, key), int(rng.integers(1, 6)))
                return str(value)
            choice = AB_CONDITIONS[int(rng.random() < 0.8)]  # gtphase 80 % of the time
            return answers.setdefault((listener, page_id, "ab"), choice)

        return choose

    keep = Path(os.environ.get("TDPR_SCREENSHOTS", tmp_path))
    keep.mkdir(parents=True, exist_ok=True)
    shots = {"ab": keep / "webmushra_ab_page.png", "mos": keep / "webmushra_mos_page.png"}
    urls = config_urls(root, port)
    for listener in ("L1", "L2"):
        _listen(browser, urls["tdpr_ab.yaml"], listener, script(listener), shots)
    _listen(browser, urls["tdpr_mos_seanet.yaml"], "L3", script("L3"), shots)
    assert not shots and (keep / "webmushra_ab_page.png").stat().st_size > 10_000

    written = sorted((root / "results").rglob("*.csv"))
    assert [p.relative_to(root / "results").as_posix() for p in written] == [
        "tdpr_ab_seanet/lss.csv", "tdpr_mos_seanet/lms.csv", "tdpr_mos_seanet/lss.csv",
    ]  # fmt: skip
    texts = _figure_texts(monkeypatch)
    build_rating_figures(written, tmp_path / "fig2.png", tmp_path / "fig3.png")

    counted = {k: v for k, v in answers.items() if not k[1].startswith("practice")}
    votes = [v for k, v in counted.items() if k[2] == "ab"]
    assert len(votes) == 2 * (len(pieces) - 1)
    share = 100 * votes.count("gtphase") / len(votes)
    fig2 = " ".join(texts["fig2"])
    assert f"n = {len(votes)} votes, 2 listeners" in fig2
    assert f"{share:.2f} %" in fig2 and f"{100 - share:.2f} %" in fig2
    means = []
    for condition in MOS_CONDITIONS:
        ratings = [v for k, v in counted.items() if k[2] == condition]
        assert len(ratings) == len(pieces) - 1
        means.append(f"mean {np.mean(ratings):.2f}")
    assert [t for t in texts["fig3"] if t.startswith("mean ")] == means
    assert "SEANet (1 listeners)" in texts["fig3"]
