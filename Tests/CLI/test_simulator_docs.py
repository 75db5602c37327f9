"""Runs every command of docs/simulator.md, in order, as a new user would: `./scripts/serve` in
the background, then each `sh` line in a shell. A trailing `# prints: TEXT` is checked (retried
for a while: some effects, such as the outbox's retries, take seconds); `# exits 1` expects that
status; `# keeps running (answers URL)` starts the command in the background and waits for URL.
The documented ports are moved to free ones through the configuration and the URLs."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from conftest import REPO, free_port

DOC = REPO / "docs/simulator.md"


def commands():
    text = DOC.read_text()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                yield line


def split(line):
    """The command and what its comment asks: (command, prints, exit status, URL it serves)."""
    command, _, comment = line.partition("    # ")
    comment = comment.strip()
    prints = re.search(r"prints: (.*)$", comment)
    serves = re.search(r"keeps running \(answers (\S+)\)", comment)
    return command.strip(), prints.group(1) if prints else None, 1 if comment.startswith("exits 1") else 0, serves.group(1) if serves else None


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_every_command_of_the_simulator_walkthrough_works():
    listed = list(commands())
    assert len(listed) >= 15, "the walkthrough lost its commands"
    ports = {"8080": str(free_port()), "8090": str(free_port()), "8091": str(free_port())}
    work = Path(tempfile.mkdtemp(prefix="switchboard-doc-"))
    config = json.loads((REPO / "Config/switchboard.json").read_text())
    config.update(port=int(ports["8080"]), database=f"sqlite:{work}/doc.sqlite")
    config["simulator"]["port"] = int(ports["8090"])
    # `serve --dev` points every provider without credentials at the configured simulator.
    (work / "switchboard.json").write_text(json.dumps(config))
    env = dict(os.environ, SWITCHBOARD_CONFIG=str(work / "switchboard.json"), LOG_LEVEL="warning")
    env.pop("SWITCHBOARD_API_TOKEN", None)
    binary = os.environ.get("SWITCHBOARD_BIN")

    def localize(command):
        for documented, actual in ports.items():
            command = command.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{actual}").replace(f"--port {documented}", f"--port {actual}")
        # The same program without `swift run`'s up-to-date check for each line (scripts/serve keeps it).
        if binary:
            command = command.replace("swift run switchboard", binary)
        return command

    background = []
    try:
        for line in listed:
            command, prints, status, serves = split(line)
            command = localize(command)
            if serves:
                log = open(work / f"background-{len(background)}.log", "w")
                process = subprocess.Popen(command, shell=True, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
                background.append(process)
                url = localize(serves)
                deadline = time.time() + 300  # scripts/serve may build first
                while not answers(url):
                    assert process.poll() is None, f"{command} ended: {(work / f'background-{len(background) - 1}.log').read_text()}"
                    assert time.time() < deadline, f"{url} never answered"
                    time.sleep(0.2)
                continue
            deadline = time.time() + 15
            while True:
                result = subprocess.run(command, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
                output = result.stdout + result.stderr
                done = result.returncode == status and (prints is None or prints in output)
                if done or time.time() > deadline or result.returncode != status:
                    break
                time.sleep(0.5)
            assert result.returncode == status, f"{command}\nexit {result.returncode}, expected {status}\n{output}"
            assert prints is None or prints in output, f"{command}\ndoes not print {prints!r}:\n{output}"
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
