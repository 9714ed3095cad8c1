"""End to end: the real server (``streamlit run app.py``: the real compact models, a fresh
SQLite library with the bundled sample library imported on start) driven by headless
Chromium through Playwright, as a person would use it:

1. Library: upload a CSV of four songs, one of them broken; the per-row report names it;
2. Analysis runs: analyse the imported playlist and watch the live progress reach 3 / 3;
3. Song: open the flagged song; its verdict, and its evidence lines highlighted in the lyrics;
4. Admin: a wrong password is refused; the right one shows live memory metrics;

then the server log must show each model loaded exactly once. A screenshot of each step
goes to ``test-artifacts/e2e/``. Chromium is Debian's (``make browser`` installs it); no
browser is ever downloaded.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from benchmarks.startup import LOAD_LINE, LogWatcher, free_port, health, stop

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches Chromium dials out at start, which this
# closed network refuses; the rest keep a headless run quiet and reproducible.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "e2e admin password"
PLAYLIST = "E2E Upload"
WAIT_MS = 90_000  # a busy 2-core machine: generous, and only ever a ceiling
VIEWPORT = {"width": 1400, "height": 1000}
HIGHLIGHT = (0xFD, 0xE2, 0xE1)  # dashboard/song_view.py: background of a line with a concern

# The song opened on the song page: lines 2 and 4 are violent, 1 and 3 are not.
STREET_FIGHT = [
    "Walking down the empty street tonight",
    "I will kill you with my gun",
    "The rain keeps falling on the town",
    "Shoot them all and leave them there",
]
# Three usable songs and, on the file's line 4, a row without a title.
NEWLINE = "\n"
SONGS_CSV = f'''title,artist,lyrics
Morning Light,The Testers,"Your mercy is new every morning
I lift my hands to sing your name"
,Nobody Sings,"a row without a title is reported and skipped"
Street Fight,The Testers,"{NEWLINE.join(STREET_FIGHT)}"
Quiet Road,The Testers,"Walking down a quiet country road
The sun is warm upon my face
I am grateful for this peaceful day"
'''

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: LogWatcher

    def log_text(self) -> str:
        return "\n".join(line for _, line in self.log.lines)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on a free port with a fresh data folder; stopped (its whole
    process group) when the module's tests are done."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DISCERN_", "STREAMLIT_")) or k == "DISCERN_MODEL_CACHE_DIR"}
    env.pop("DATABASE_URL", None)  # the default: a new SQLite file in DISCERN_DATA_DIR
    env.update(
        DISCERN_DATA_DIR=str(data_dir),
        DISCERN_PROFILE="compact",
        DISCERN_ADMIN_PASSWORD=PASSWORD,
        DISCERN_LOAD_SAMPLE_LIBRARY="1",
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log = LogWatcher(proc.stdout, time.perf_counter())
    log.start()
    running = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 120
        while not health(port, timeout=2.0)[0]:
            assert proc.poll() is None, f"the server exited with {proc.returncode}:\n{running.log_text()}"
            assert time.monotonic() < deadline, f"no healthy answer in 120 s:\n{running.log_text()}"
            time.sleep(0.2)
        yield running
    finally:
        stop(proc)  # SIGTERM to the process group, SIGKILL if it is still there after 15 s
        log.join(5)


@pytest.fixture(scope="module")
def browser_context():
    """Debian's headless Chromium with a fresh profile folder."""
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser` (apt-get install chromium)"
    profile = tempfile.mkdtemp(prefix="discern-e2e-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


# --------------------------------------------------------------------------- helpers


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to it."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(height, 8000))})
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def table_rows(page, key: str) -> list[list[str]]:
    """The data rows of the table in the element keyed ``key`` (st.dataframe draws on a
    canvas; its grid keeps an accessible copy of the cells in the DOM)."""
    expect(page.locator(f".st-key-{key} [role=gridcell]").first).to_be_attached()
    return page.evaluate(
        """key => Array.from(document.querySelectorAll(`.st-key-${key} [role=row]`))
            .map(row => Array.from(row.querySelectorAll('[role=gridcell]')).map(cell => cell.textContent))
            .filter(cells => cells.length > 0)""",
        key,
    )


def metric(scope, label: str):
    return scope.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def go_to(page, link: str, heading: str) -> None:
    """Follow a link of the sidebar's navigation (the same browser session)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def no_exceptions(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def pick(page, key: str, typed: str, option: str | re.Pattern) -> None:
    """Choose ``option`` in the select or multiselect keyed ``key``."""
    field = page.locator(f".st-key-{key} input")
    field.click()
    field.fill(typed)
    page.get_by_role("option", name=option).click()
    page.keyboard.press("Escape")


def highlighted_rows(page, key: str, rows: int) -> list[bool]:
    """Per data row of the table keyed ``key``: is it drawn with the evidence highlight?"""
    grid = page.locator(f".st-key-{key} [data-testid=stDataFrameResizable]")
    grid.scroll_into_view_if_needed()
    expect(grid).to_be_in_viewport()
    image = Image.open(io.BytesIO(grid.screenshot())).convert("RGB")
    row_height = image.height / (rows + 1)  # the header row, then the data rows, all one height
    return [image.getpixel((6, int(row_height * (i + 1.5)))) == HIGHLIGHT for i in range(rows)]


# --------------------------------------------------------------------------- the steps


def import_a_file_with_a_broken_row(page, url: str, folder: Path, artifacts: Path) -> None:
    """Library: the sample library is there; a CSV import reports its broken row."""
    page.goto(url)
    expect(page.get_by_role("heading", name="Library", exact=True)).to_be_visible()
    assert "Top Hits Mix" in {row[0] for row in table_rows(page, "library-playlists")}
    songs = folder / "e2e-songs.csv"
    songs.write_text(SONGS_CSV, encoding="utf-8")
    page.locator(".st-key-library-import-upload input[type=file]").set_input_files(str(songs))
    expect(page.get_by_role("button", name="Remove e2e-songs.csv")).to_be_visible()
    name = page.get_by_role("textbox", name="Playlist name (optional)")
    name.fill(PLAYLIST)
    name.press("Enter")
    import_button = page.locator(".st-key-library-import-run button")
    expect(import_button).to_be_enabled()  # the upload reached the server
    import_button.click()
    report = page.get_by_test_id("stText").filter(has_text="e2e-songs.csv (csv)")
    expect(report).to_contain_text("3 songs imported")
    expect(report).to_contain_text("1 rows skipped")
    problems = table_rows(page, "library-import-problems-0")
    assert len(problems) == 1, problems
    _row, where, problem, kept = problems[0]
    assert where == "line 4" and "title" in problem and kept == "false", problems[0]
    expect(page.locator(".st-key-library-playlists [role=gridcell]").filter(has_text=PLAYLIST)).to_have_count(1)
    uploaded = next(r for r in table_rows(page, "library-playlists") if r[0] == PLAYLIST)
    assert uploaded[1] == "3", uploaded  # songs in the playlist
    no_exceptions(page)
    screenshot(page, artifacts / "01-library-import-report.png")


def analyse_the_playlist(page, artifacts: Path) -> None:
    """Analysis runs: start the playlist's analysis; the live progress reaches 3 / 3."""
    go_to(page, "Analysis runs", "Analysis runs")
    pick(page, "runs-playlists", "E2E", PLAYLIST)
    start = page.locator(".st-key-runs-start button")
    expect(start).to_be_enabled()  # the models are loaded
    start.click()
    expect(page.get_by_test_id("stAlert").filter(has_text="(3 songs)")).to_be_visible()  # "Started job N (3 songs)"
    card = page.locator("[class*='st-key-runs-job-']").filter(has_text=PLAYLIST)
    expect(card).to_have_count(1)
    screenshot(page, artifacts / "02-runs-started.png")
    job_id = re.search(r"st-key-runs-job-(\d+)", card.get_attribute("class"))[1]
    card = page.locator(f".st-key-runs-job-{job_id}")
    expect(metric(card, "Songs done")).to_have_text("3 / 3")  # no reload: the page updates itself
    expect(metric(card, "ETA")).to_have_text("finished")
    expect(metric(card, "Failed")).to_have_text("0")
    expect(card.get_by_test_id("stMarkdown").filter(has_text=f"Job {job_id}")).to_contain_text("done")
    expect(card).to_have_count(1)  # listed once, however often the section refreshed
    expect(card.locator("[class*='st-key-runs-cancel-']")).to_have_count(0)  # a finished job has no Cancel
    no_exceptions(page)
    screenshot(page, artifacts / "03-runs-done.png")


def open_the_flagged_song(page, artifacts: Path) -> None:
    """Song: the violent song's verdict, and its evidence lines highlighted in the lyrics."""
    go_to(page, "Song", "Song")
    # The picker lists the whole (small) library; typing into it filters in the browser.
    # (Searching first would rerun the page and replace the picker's options under the click.)
    pick(page, "song-pick", "Street", re.compile(r"Street Fight — The Testers"))
    expect(metric(page, "Verdict")).to_have_text("flagged")
    expect(page.get_by_test_id("stText").filter(has_text="Flagged for violence")).to_be_visible()
    lyrics = table_rows(page, "song-lyrics")
    assert [r[1] for r in lyrics] == STREET_FIGHT, lyrics
    flagged = {int(number) for number, _text, concerns in lyrics if concerns}
    assert 2 in flagged and lyrics[1][2].startswith("Violence ("), lyrics  # "I will kill you with my gun"
    assert 3 not in flagged, lyrics  # "The rain keeps falling on the town"
    marked = highlighted_rows(page, "song-lyrics", len(lyrics))
    assert marked == [int(r[0]) in flagged for r in lyrics], (marked, lyrics)
    no_exceptions(page)
    screenshot(page, artifacts / "04-song-detail.png")


def sign_in_to_admin(page, artifacts: Path) -> list[list[str]]:
    """Admin: a wrong password is refused; the right one shows live memory figures.
    Returns the table of model loads."""
    go_to(page, "Admin", "Admin")
    password = page.get_by_role("textbox", name="Admin password")
    password.fill("not the password")
    page.locator(".st-key-admin-sign-in button").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Wrong password.")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(0)
    screenshot(page, artifacts / "05-admin-refused.png")
    password.fill(PASSWORD)
    page.locator(".st-key-admin-sign-in button").click()
    expect(metric(page, "Process RSS")).to_have_text(re.compile(r"^[\d,]+ MB$"))
    expect(metric(page, "Active sessions")).to_have_text(re.compile(r"^[1-9]\d*$"))
    line = page.locator(".st-key-admin-memory path.js-line").first
    expect(line).to_be_attached()
    # Live: the memory section redraws itself every 2 s with the sampler's new points.
    page.wait_for_function(
        """before => {
            const line = document.querySelector('.st-key-admin-memory path.js-line');
            return line !== null && line.getAttribute('d') !== before;
        }""",
        arg=line.get_attribute("d"),
    )
    loads = table_rows(page, "admin-loads")
    no_exceptions(page)
    screenshot(page, artifacts / "06-admin-memory.png")
    return loads


# --------------------------------------------------------------------------- the test


def test_import_analyse_read_a_song_and_admin_in_a_real_browser(server, browser_context, artifacts, tmp_path):
    expect.set_options(timeout=WAIT_MS)
    page = browser_context.new_page()
    page.set_default_timeout(WAIT_MS)
    started = time.monotonic()
    try:
        import_a_file_with_a_broken_row(page, server.url, tmp_path, artifacts)
        analyse_the_playlist(page, artifacts)
        open_the_flagged_song(page, artifacts)
        loads = sign_in_to_admin(page, artifacts)
    except BaseException:
        screenshot(page, artifacts / "failure.png")
        print("server log (last 60 lines):\n" + "\n".join(server.log_text().splitlines()[-60:]))
        raise
    finally:
        page.close()
    took = time.monotonic() - started

    # The log: one load line per model, none repeated, and the models the admin page lists.
    log = server.log_text()
    loaded = Counter(match["name"] for match in LOAD_LINE.finditer(log))
    assert loaded and set(loaded.values()) == {1}, log
    assert set(loaded) == {r[0] for r in loads}, (loaded, loads)
    assert "Traceback" not in log, log
    assert took < 180, f"the browser steps took {took:.0f} s, over 3 minutes"
