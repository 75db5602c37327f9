"""Tests against real processes (run by scripts/system-tests, part of scripts/test): a gateway
(`switchboard serve --dev`, debug build) with its in-process provider simulator on free loopback
ports and a fresh SQLite file per test file; the CLI (Tests/CLI); and the console and the widget in
Debian's chromium driven by Playwright (Tests/Browser)."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOKEN = "browser-test-token"
# Where the tests save what the console and the widget look like (committed under docs/).
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", REPO / "docs/screenshots"))
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gateway:
    """A running `switchboard serve --dev` and helpers to talk to it like a provider and a user."""

    def __init__(self, binary, work, dev=True, settings=None):
        self.binary = binary
        self.port, sim_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.simulator = f"http://127.0.0.1:{sim_port}"
        config = json.loads((REPO / "Config/switchboard.json").read_text())
        config.update(port=self.port, database=f"sqlite:{work}/browser.sqlite")
        config["simulator"]["port"] = sim_port
        # As with a short code: the tests send more SMS than a long code's one a second.
        config["outbox"]["pacing"] = {"sms": {"perSecond": 200, "burst": 200}}
        if not dev:
            # Without --dev the gateway takes no published simulator credentials: give it secrets of
            # its own (the simulator, started by `simulate run`, reads the same file).
            secret = lambda: secrets.token_hex(16)
            config["twilio"] = {"accountSid": "AC" + secrets.token_hex(16), "authToken": secret(),
                                "from": "+15550001111", "apiBaseURL": self.simulator}
            config["messenger"] = {"appSecret": secret(), "verifyToken": secret(), "pageAccessToken": secret(),
                                   "pageId": "100000000000001", "apiBaseURL": self.simulator}
            config["rbm"] = {"agentId": "switchboard-simulator-agent", "clientToken": secret(),
                             "accessToken": secret(), "apiBaseURL": self.simulator}
        config.update(settings or {})
        self.work = work
        self.config = work / "switchboard.json"
        self.config.write_text(json.dumps(config))
        self.dev = dev
        self.log = open(work / "gateway.log", "w")
        self.start()

    def start(self):
        env = dict(os.environ, SWITCHBOARD_API_TOKEN=TOKEN, LOG_LEVEL="warning")
        self.process = subprocess.Popen(
            [self.binary, "serve", *(["--dev"] if self.dev else []), "--config", str(self.config)], cwd=REPO, env=env,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                if self.dev:
                    urllib.request.urlopen(f"{self.simulator}/_simulator/requests", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"the gateway did not start: {(self.work / 'gateway.log').read_text()}")

    def restart(self):
        """Stops the process and starts it again on the same port and database."""
        self.process.terminate()
        self.process.wait(timeout=15)
        self.start()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def api(self, method, path, body=None, expect=None, headers=None):
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if expect is not None:
            assert status == expect, f"{method} {path} -> {status} {text}"
        return json.loads(text) if text else None

    def simulate(self, *arguments):
        """`switchboard simulate send ...` against this gateway: a correctly signed webhook."""
        result = self.cli("simulate", "send", "--gateway", self.url, *arguments)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def cli(self, *arguments, timeout=120):
        """`switchboard ARGUMENTS` with this gateway's configuration (ports, simulator, secrets)."""
        return subprocess.run(
            [self.binary, *arguments], cwd=REPO, capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, SWITCHBOARD_CONFIG=str(self.config), SWITCHBOARD_API_TOKEN=TOKEN, LOG_LEVEL="warning"))

    def provider_requests(self, provider=None):
        with urllib.request.urlopen(f"{self.simulator}/_simulator/requests", timeout=5) as response:
            items = json.loads(response.read())["items"]
        return [item for item in items if provider is None or item["provider"] == provider]

    def callbacks(self):
        """The status callbacks the simulator sent, with the gateway's answers."""
        with urllib.request.urlopen(f"{self.simulator}/_simulator/callbacks", timeout=5) as response:
            return json.loads(response.read())

    def diagnosis(self, contact_id):
        """What a failed wait on a contact's trail needs: the API's view of its last messages, the
        simulator's callbacks and the end of the gateway's log (the work directory is removed)."""
        self.log.flush()
        trail = self.api("GET", f"/contacts/{contact_id}/messages?limit=5")
        lines = (self.work / "gateway.log").read_text(errors="replace").splitlines()[-40:]
        return json.dumps({"trail": trail, "callbacks": self.callbacks()}, indent=1) + "\n" + "\n".join(lines)

    def contact_by_phone(self, phone):
        items = self.api("GET", f"/contacts?query={urllib.request.quote(phone)}", expect=200)["items"]
        return next(item for item in items if item.get("phone") == phone)

    def media_url(self, name):
        return f"{self.simulator}/_simulator/media/{name}"


def wait_for(predicate, timeout=10, message="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def start_gateway(dev=True, settings=None):
    """A gateway; `settings` are set at the top of its configuration file."""
    binary = os.environ.get("SWITCHBOARD_BIN") or str(REPO / ".build/debug/switchboard")
    return Gateway(binary, Path(tempfile.mkdtemp(prefix="switchboard-system-")), dev=dev, settings=settings)


@pytest.fixture(scope="module")
def gateway():
    """A fresh gateway per test file, so each starts from an empty database."""
    running = start_gateway()
    yield running
    running.stop()
    shutil.rmtree(running.work, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), headless=True, args=arguments)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, gateway):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US", timezone_id="UTC")
    # The console and the widget must load nothing from elsewhere.
    outside = []
    context.on("request", lambda request: outside.append(request.url)
               if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not outside, f"requests outside the gateway: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(page, gateway):
    page.goto(gateway.url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#live.on").wait_for()


# The reliability tests (Tests/Reliability) drive separate processes through the harness that
# scripts/crash-loop and scripts/fault-soak use. (One conftest for every test folder: a second
# conftest.py shadowed this one for the modules that import from it.)
sys.path.insert(0, str(REPO / "scripts/reliability"))


@pytest.fixture
def deployments():
    """Makes deployments (simulator started, gateway not yet: `switchboard serve` without --dev,
    credentials made up per test) and stops them after the test."""
    from harness import Deployment

    made = []

    def make(**options):
        work = Path(tempfile.mkdtemp(prefix="switchboard-reliability-"))
        deployment = Deployment(work, **options)
        made.append(deployment)
        deployment.start_simulator()
        return deployment

    yield make
    for deployment in made:
        deployment.stop()
        shutil.rmtree(deployment.work, ignore_errors=True)
