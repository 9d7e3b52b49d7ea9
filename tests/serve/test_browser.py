"""The page in headless Chromium (Debian's, driven by Playwright): compose from a prompt, see
the piano roll and the notation, play the audio, select bars and regenerate them, undo,
download the MIDI. Screenshots go to the test's folder (and to $PARTITA_SCREENSHOTS when set:
``PARTITA_SCREENSHOTS=docs`` refreshes the README's pictures)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/bootstrap.sh installs Debian's "
                       "chromium package)"),
]
sync_api = pytest.importorskip("playwright.sync_api")

PROMPT = "a jig in D major for fiddle and piano, 16 bars"
BLUE_PIXELS = """() => {  // pixels of the first track's colour (#3656d6) on the piano-roll canvas
  const c = document.getElementById('roll'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 150 && d[i + 2] - d[i] > 60) n++;
  return n;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``partita serve`` on a free port of 127.0.0.1, stopped after the module's tests."""
    import httpx

    port = free_port()
    work = tmp_path_factory.mktemp("browser") / "work"
    log = open(work.parent / "server.log", "w")  # noqa: SIM115 - closed below
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "partita.cli", "serve", "--port", str(port), "--work-dir", str(work)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:   # bounded wait for the server to listen
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (work.parent / "server.log").read_text()
        assert time.monotonic() < deadline, "partita serve did not start in 60 s"
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def shoot(page, tmp_path: Path, name: str, **options) -> Path:
    path = tmp_path / f"serve-{name}.png"
    page.screenshot(path=str(path), **options)
    if os.environ.get("PARTITA_SCREENSHOTS"):
        shutil.copy(path, Path(os.environ["PARTITA_SCREENSHOTS"]) / path.name)
    return path


def drag_bars(page, first: int, last: int) -> None:
    """Drag on the piano roll from the middle of bar ``first`` to the middle of bar ``last`` (1-based)."""
    box = page.locator("#roll").bounding_box()
    xs = page.evaluate("""([a, b]) => { const r = window.roll; const mid = (i) => r.x((r.roll.bars[i] + r.barEnd(i)) / 2);
                          return [mid(a - 1), mid(b - 1)]; }""", [first, last])
    page.locator("#roll").scroll_into_view_if_needed()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + xs[0], y)
    page.mouse.down()
    page.mouse.move(box["x"] + (xs[0] + xs[1]) / 2, y, steps=4)
    page.mouse.move(box["x"] + xs[1], y, steps=4)
    page.mouse.up()


def test_compose_see_hear_edit_export(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # (a closed event stream or a replaced audio source aborts its request: not a failure)
    page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and errors.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.url}: {r.status}"))
    page.goto(server)
    assert page.title() == "partita workbench"

    # 1. compose: the prompt is read as attributes, then generated
    page.fill("#prompt", PROMPT)
    page.click("#read-prompt")
    page.wait_for_selector("#attributes:not([hidden])")
    assert page.input_value("#attr-meter") == "6/8" and page.input_value("#attr-bars") == "16"
    assert "Violin" in page.input_value("#attr-instruments")
    page.click("details summary")
    page.fill("#gen-candidates", "1")
    page.fill("#gen-seed", "7")
    shoot(page, tmp_path, "compose")
    page.click("#generate")
    page.wait_for_selector("#versions li", timeout=180_000)
    assert "seed 7" in page.inner_text("#report")

    # 2. see it: the piano roll is drawn, the notation engraved, the report shown
    page.wait_for_function(f"({BLUE_PIXELS})() > 200", timeout=30_000)
    page.wait_for_selector("#notation svg", timeout=60_000)
    assert page.locator("#notation svg .note").count() > 20
    assert "D major" in page.inner_text("#report")

    # 3. hear it: the server's WAV in the audio element, played
    page.wait_for_function("document.getElementById('audio').duration > 5", timeout=30_000)
    page.evaluate("document.getElementById('audio').play()")
    page.wait_for_function("document.getElementById('audio').currentTime > 0.2", timeout=30_000)
    page.evaluate("document.getElementById('audio').pause()")
    shoot(page, tmp_path, "roll-notation", full_page=True)

    # 4. edit: select bars on the roll and regenerate them
    before = page.evaluate("JSON.stringify(window.roll.roll.tracks)")
    drag_bars(page, 5, 12)
    assert page.inner_text("#selection-label") == "bars 5–12 selected"
    page.click("#infill")
    page.wait_for_function("document.getElementById('job').className !== 'job done' || "
                           "document.querySelectorAll('#versions li').length > 1", timeout=30_000)
    shoot(page, tmp_path, "infill")
    page.wait_for_function("document.querySelectorAll('#versions li').length === 2", timeout=180_000)
    assert "infill 5–12" in page.inner_text("#versions li.current")
    # the new version's roll replaces the old one (fetched after the version is listed)
    page.wait_for_function("b => JSON.stringify(window.roll.roll.tracks) !== b", arg=before, timeout=30_000)
    page.wait_for_function(f"({BLUE_PIXELS})() > 200", timeout=30_000)

    # the undo history goes back to the first version
    page.click("#undo")
    page.wait_for_function("document.querySelector('#versions li.current').textContent.startsWith('v1')")
    page.wait_for_function("b => JSON.stringify(window.roll.roll.tracks) === b", arg=before, timeout=30_000)

    # 5. export: the MIDI downloads and parses
    with page.expect_download() as download:
        page.click("a[data-export=midi]")
    from symusic import Score

    assert download.value.suggested_filename.endswith(".mid")
    midi = Score.from_midi(Path(download.value.path()).read_bytes())
    assert midi.note_num() > 50 and len(midi.tracks) == 2
    assert not errors, errors
    page.close()
