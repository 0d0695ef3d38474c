"""The web console in a real headless Chromium (Debian's, driven by Playwright) against local mode in its own
process, with data made through the public API (tests/e2e/console_data.py): every page shows it, a running job's
page follows its log and curve, cancel asks first and stops the job, a team member sees only its team (through
`trainforge console`, the proxy a deployed API needs), the pages work by keyboard and at a phone's width, and the
browser's console stays free of errors throughout.

With TRAINFORGE_SCREENSHOTS set (make screenshots), the pictures in the README are written there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from bench.console import CHROMIUM
from bench.console import FLAGS as CHROMIUM_FLAGS
from tests.e2e.console_data import NLP_MEMBER, ConsoleData, seed
from tests.e2e.local_mode_process import LocalModeProcess, clean_environment
from trainforge.local.postgres import scratch_database
from trainforge.local.training.hosts import free_port

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def local(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModeProcess]:
    with scratch_database(postgres_server_url, "trainforge_e2e_console", drop_later=True) as database_url:
        env = clean_environment(DATABASE_URL=database_url, TRAINFORGE_LOCAL_INSTANCE_QUOTAS="ml.m5.xlarge=1")
        mode = LocalModeProcess(tmp_path_factory.mktemp("console"), env=env).start()
        try:
            yield mode
        finally:
            mode.stop()


@pytest.fixture(scope="module")
def data(local: LocalModeProcess) -> ConsoleData:
    return seed(local.call)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (or set CHROMIUM)")
    with sync_playwright() as playwright:
        yield launch(playwright)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("TRAINFORGE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Console:
    """A browser tab on the console that records every error the browser's console shows."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base, self.errors = page, base, []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def open(self, route: str) -> Page:
        self.page.goto(f"{self.base}/console/#/{route}")
        return self.page


@pytest.fixture
def console(browser: Browser, local: LocalModeProcess, data: ConsoleData) -> Iterator[Console]:
    context = browser.new_context(viewport=DESKTOP)
    tab = Console(context.new_page(), local.url)
    yield tab
    context.close()
    assert tab.errors == [], "the browser's console showed errors"


def rows(page: Page, table: str = "table") -> list[str]:
    return [" ".join(row.split()) for row in page.locator(f"{table} tbody tr").all_inner_texts()]


def test_every_page_renders_with_real_data(console: Console, data: ConsoleData, shots: Path) -> None:
    page = console.open("jobs")
    expect(page.locator("table.jobs")).to_be_visible()
    listed = "\n".join(rows(page, "table.jobs"))
    for job in (data.completed, data.failed, data.waiting, data.running, data.nlp_job):
        assert job["job_name"] in listed
    assert "Completed resnet-baseline vision ml.m5.large $0.00" in listed  # the API's estimate, rounded to 0
    ceiling = data.running["cost_ceiling_usd"]  # a job that runs shows what it may cost at most
    assert f"InProgress · Training resnet-follow vision ml.m5.large ≤ ${ceiling:.4f}" in listed, listed
    page.screenshot(path=shots / "console-jobs.png")

    page.get_by_role("link", name="resnet-baseline").click()
    expect(page.get_by_role("heading", name="resnet-baseline")).to_be_visible()
    expect(page.locator(".timeline li")).to_have_count(
        6
    )  # Pending, Starting, Downloading, Training, Uploading, Completed
    expect(page.locator("#metrics .chart")).to_have_attribute(
        "data-points", "60"
    )  # 30 steps of loss and accuracy
    expect(page.locator("#logs pre")).to_contain_text("final accuracy=")
    expect(page.locator("#report")).to_contain_text("Final metrics")
    expect(page.locator("#report").get_by_role("link", name="model.tar.gz")).to_be_visible()
    page.screenshot(path=shots / "console-job.png", full_page=True)

    page = console.open(f"jobs/{data.failed['id']}")
    expect(page.locator("#failure")).to_contain_text("could not read image 0007.png: truncated")
    expect(page.locator("#failure pre")).to_contain_text("ValueError")

    page = console.open("queue")
    pool = page.locator("section.pool", has_text="ml.m5.xlarge")
    expect(pool).to_contain_text("1 of 1 instances in use")
    expect(pool.locator("tbody tr")).to_have_count(1)
    assert rows(page, "section.pool:has-text('ml.m5.xlarge') table")[0].startswith("1 bert-large nlp 0")
    page.screenshot(path=shots / "console-queue.png")

    page = console.open("teams")
    vision = page.locator("section.team", has_text="vision")
    expect(vision).to_contain_text("$250.00 a month")
    expect(vision.locator(".chart")).to_have_count(2)
    vision.get_by_text("Members (1)").click()
    expect(vision.locator(".members")).to_contain_text("role/vision-engineers")
    page.screenshot(path=shots / "console-teams.png", full_page=True)

    page = console.open("tuning")
    page.get_by_role("link", name="resnet-lr-search").click()
    expect(page.locator("#trials tbody tr")).to_have_count(4)
    trials = rows(page, "#trials table")
    assert "(best)" in trials[0] and " 0.3 " in f" {trials[0]} "  # the largest learning rate gets furthest
    accuracy = [float(row.replace(" (best)", "").split()[2]) for row in trials]
    assert accuracy == sorted(accuracy, reverse=True)  # Maximize: best first
    expect(page.locator("#objective figure")).to_have_count(1)  # only lr was tuned
    expect(page.locator("#objective .chart")).to_have_attribute("data-points", "4")
    page.screenshot(path=shots / "console-tuning.png", full_page=True)

    page = console.open("builds")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert rows(page)[0].startswith(f"SUCCEEDED {data.build_id} COMPLETED {data.image}"), rows(page)


def test_a_running_jobs_page_follows_its_log_and_its_curve(console: Console, data: ConsoleData) -> None:
    page = console.open(f"jobs/{data.running['id']}")
    log, chart = page.locator("#logs pre"), page.locator("#metrics .chart")
    expect(log).not_to_have_attribute("data-lines", "0")
    lines, points = int(log.get_attribute("data-lines") or 0), int(chart.get_attribute("data-points") or 0)
    # the script prints a step every 0.5 s; the page polls: both must grow without a reload
    page.wait_for_function(
        "([lines, points]) => +document.querySelector('#logs pre').dataset.lines > lines + 3 && "
        "+document.querySelector('#metrics .chart').dataset.points > points + 3",
        arg=[lines, points],
        timeout=20_000,
    )
    newest = log.inner_text().strip().splitlines()[-1]
    assert re.search(r"step=\d+ loss=", newest), newest


def test_cancel_asks_first_then_stops_the_job(console: Console, data: ConsoleData, shots: Path) -> None:
    page = console.open(f"jobs/{data.holding['id']}")
    expect(page.locator(".title-row .badge")).to_contain_text("InProgress")
    page.get_by_role("button", name="Cancel job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.screenshot(path=shots / "console-cancel.png")
    dialog.get_by_role("button", name="Keep it running").click()
    expect(dialog).to_be_hidden()
    time.sleep(1)
    assert (
        console.page.evaluate(f"fetch('/jobs/{data.holding['id']}').then(r => r.json())")["status"]
        == "InProgress"
    )

    page.get_by_role("button", name="Cancel job…").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel the job").click()
    expect(page.get_by_role("status")).to_have_text("Stop requested.")
    expect(page.locator(".title-row .badge")).to_contain_text("Stopped", timeout=30_000)
    # its instance went back to the pool: the job waiting for it was admitted
    page = console.open(f"jobs/{data.waiting['id']}")
    expect(page.locator(".title-row .badge")).not_to_contain_text("WaitingForCapacity", timeout=30_000)


def test_keyboard_alone_reaches_every_section_and_the_cancel_dialog(
    console: Console, data: ConsoleData
) -> None:
    page = console.open("jobs")
    expect(page.locator("table.jobs")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # back up into the header: brand, then the sections in order
    for name in ("Builds", "Tuning", "Teams", "Queue"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_focused()
        page.keyboard.press("Shift+Tab") if name != "Queue" else None
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()

    page = console.open(f"jobs/{data.running['id']}")
    cancel = page.get_by_role("button", name="Cancel job…")
    cancel.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Keep it running")).to_be_focused()  # the safe choice first
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # the filters: Tab through them, type a name and submit with Enter
    page = console.open("jobs")
    page.get_by_label("Job name").focus()
    page.keyboard.type(data.nlp_job["job_name"])
    page.keyboard.press("Enter")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    assert "name=bert-finetune" in page.url


@pytest.mark.parametrize("route", ["jobs", "job", "queue", "teams", "tuning"])
def test_pages_fit_a_phones_width(browser: Browser, local: LocalModeProcess, data: ConsoleData, route: str,
                                   shots: Path) -> None:  # fmt: skip
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = Console(context.new_page(), local.url)
    target = {"job": f"jobs/{data.completed['id']}", "tuning": f"tuning/{data.tuning['id']}"}.get(
        route, route
    )
    page = tab.open(target)
    expect(page.locator("main h1")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # the charts size themselves to their box
    # wide tables scroll inside their own box; the page itself never scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if route == "jobs":
        page.screenshot(path=shots / "console-phone.png")
    context.close()
    assert tab.errors == []


def test_a_team_member_sees_only_its_teams_jobs_through_the_console_proxy(
    browser: Browser, local: LocalModeProcess, data: ConsoleData, tmp_path: Path
) -> None:
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-m", "trainforge.cli", "--api-url", local.url, "--principal", NLP_MEMBER,
         "console", "--port", str(port), "--no-open"],
        env=clean_environment(), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proxy.stderr is not None
        banner = proxy.stderr.readline()
        assert f"http://127.0.0.1:{port}/console/" in banner and "as team nlp" in banner, banner
        context = browser.new_context(viewport=DESKTOP)
        tab = Console(context.new_page(), f"http://127.0.0.1:{port}")
        page = tab.open("jobs")
        expect(page.locator("table.jobs")).to_be_visible()
        names = {row.split()[1] for row in rows(page, "table.jobs")}
        assert names == {data.nlp_job["job_name"], data.waiting["job_name"]}
        expect(page.locator(".caller")).to_have_text("team nlp")
        expect(page.get_by_label("Team")).to_have_count(0)  # no team filter: a member's list is its team's

        page = tab.open("teams")
        expect(page.locator("section.team")).to_have_count(1)
        expect(page.locator("section.team h2")).to_contain_text("nlp")
        expect(page.locator(".members")).to_have_count(0)  # members are for administrators

        page = tab.open(f"jobs/{data.completed['id']}")  # vision's job: as if it did not exist
        expect(page.get_by_role("alert")).to_contain_text(
            f"404: no training job with id {data.completed['id']}"
        )
        context.close()
        assert [e for e in tab.errors if "status of 404" not in e] == []
        assert len(tab.errors) == 1  # the browser reports the refused request itself, once
    finally:
        proxy.terminate()
        assert proxy.wait(timeout=10) == 0
