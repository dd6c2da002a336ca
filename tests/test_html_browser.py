"""The --html report as a person sees it: opened in headless Chromium (Debian's `chromium`) with no network
(its own network namespace, and every host name unresolvable), rendered, screenshotted. Checked on what the
browser made of it: every step row present, one timeline bar per request the run sent, no console message,
no request for anything outside the file (the browser's net log), a screenshot that is not blank.
In CI (CI=true) a missing chromium fails the test: .ci/run installs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest
from helpers.artifacts import CANARY, assert_no_token, run_in_process
from helpers.sandbox import customer, module_sandbox

from zorora_e2e_plugin.core.outcomes import FAIL, FAILED


@pytest.fixture(scope="module")
def sandbox(request):
    """test_artifacts.py's sandbox: the canary token, the artifacts' bucket."""
    with module_sandbox(request.config, token=CANARY, bucket="zorora-e2e-artifacts") as sb:
        yield sb


pytestmark = pytest.mark.browser

BACKGROUND = "not an origin"  # the initiator of the browser's own requests (updates, time), never the page's


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def open_in_browser(page: str, tmp_path, screenshot: str = ""):
    """(rendered DOM, console messages, URLs the page asked for). The browser runs without a network."""
    binary = chromium()
    net_log = tmp_path / "net.json"
    isolate = ["unshare", "-n"] if shutil.which("unshare") and os.geteuid() == 0 else []
    flags = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    url = "file://" + os.path.abspath(page)
    dom = subprocess.run(
        [*isolate, binary, *flags, f"--log-net-log={net_log}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    events = json.loads(net_log.read_text())
    names = {number: name for name, number in events["constants"]["logEventTypes"].items()}
    starts = [e.get("params", {}) for e in events["events"] if names.get(e["type"]) == "URL_REQUEST_START_JOB"]
    asked = [p["url"] for p in starts if "url" in p and p.get("initiator") != BACKGROUND]
    if screenshot:
        shot = subprocess.run(
            [*isolate, binary, *flags, "--window-size=1280,2200", f"--screenshot={screenshot}", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shot.returncode == 0, shot.stderr[-2000:]
    return dom.stdout, console, asked


class Count(HTMLParser):
    def __init__(self):
        super().__init__()
        self.steps, self.bars, self.links = [], 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "tr" and "step" in classes:
            self.steps.append(a.get("data-step"))
        if tag == "rect" and "req" in classes:
            self.bars += 1
        for name in ("src", "href"):
            if a.get(name):
                self.links.append(a[name])


def png_size_and_colours(path: str):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, at = b"", 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    return width, height, len(set(zlib.decompress(idat)[:4_000_000]))


@pytest.mark.slow
def test_the_html_report_renders_offline_with_every_step_and_one_bar_per_request(sandbox, tmp_path):
    result, _text, served = run_in_process(sandbox, tmp_path, ["noop-rollback"], customer_id=customer("html"))
    assert result.verdict == FAILED
    page = str(tmp_path / "r.html")
    assert os.path.getsize(page) < 1_000_000
    har = json.loads((tmp_path / "r.har").read_text())
    shot = str(tmp_path / "report.png")
    dom, console, asked = open_in_browser(page, tmp_path, screenshot=shot)
    seen = Count()
    seen.feed(dom)
    assert seen.steps == [s.id for s in result.steps]  # every step, in plan order
    assert seen.bars == len(har["log"]["entries"]) == len(served)  # one bar per request the run sent
    assert console == []
    assert asked == []  # nothing but the file itself
    assert all(link.startswith("#") for link in seen.links), seen.links
    failing = [s.id for s in result.steps if s.status == FAIL]
    assert failing and all(f'href="#step-{step}"' in dom for step in failing)  # the failures' anchor list
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1280, 2200) and colours > 20  # a page, not a blank
    assert_no_token(dom, open(page).read())
    if os.environ.get("ZORORA_E2E_SCREENSHOT"):  # refresh docs/html-report.png by hand
        shutil.copy(shot, os.environ["ZORORA_E2E_SCREENSHOT"])


def test_the_browser_check_catches_a_page_that_fetches_or_logs(tmp_path):
    """The checks above can fail: a page that loads an image from elsewhere and logs to the console."""
    page = tmp_path / "leaky.html"
    page.write_text(
        '<html><body><img src="http://203.0.113.9/x.png"><script>console.error("boom")</script></body></html>'
    )
    _dom, console, asked = open_in_browser(str(page), tmp_path)
    assert any('"boom"' in line for line in console)
    assert asked == ["http://203.0.113.9/x.png"]


@pytest.mark.slow
def test_show_failed_steps_only_hides_every_other_step_row(sandbox, tmp_path):
    """The toggle is CSS alone: the page with the box ticked, and (in this test's copy only) a script that
    writes down which step rows the browser still displays."""
    result, _text, _served = run_in_process(sandbox, tmp_path, ["noop-rollback"], customer_id=customer("only"))
    page = (tmp_path / "r.html").read_text()
    assert page.count('id="only-failed"') == 1
    probe = (
        "<script>document.body.setAttribute('data-visible', [...document.querySelectorAll('tr.step')]"
        ".filter(r => getComputedStyle(r).display !== 'none').map(r => r.dataset.step).join(','))</script>"
    )
    for checked, name in ((False, "off.html"), (True, "on.html")):
        copy = page.replace('id="only-failed"', 'id="only-failed" checked') if checked else page
        (tmp_path / name).write_text(copy.replace("</body>", probe + "</body>"))
        dom, console, _asked = open_in_browser(str(tmp_path / name), tmp_path)
        visible = re.search(r'data-visible="([^"]*)"', dom).group(1).split(",")
        expected = [s.id for s in result.steps if s.status == FAIL] if checked else [s.id for s in result.steps]
        assert visible == expected and console == []
