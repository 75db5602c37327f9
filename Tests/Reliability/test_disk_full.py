"""A full disk under the SQLite file: webhooks are refused with 503 (never acknowledged without
being stored, so the provider keeps them and retries), nothing acknowledged before is lost, and once
space is freed the same process stores again, without a restart.

How the disk is made full, in order of preference:
1. a small tmpfs mounted on a temporary directory (needs root or CAP_SYS_ADMIN, which CI
   containers and this sandbox have): the database lives there and a filler file takes the rest;
   deleting the filler frees the space. This is a real ENOSPC, as on a full volume.
2. when mount is refused: RLIMIT_FSIZE on the gateway process, set and raised from outside with
   prlimit(2) (allowed without privileges for one's own processes, the hard limit staying
   unlimited). Writes reaching past the limit fail with EFBIG (SIGXFSZ is ignored in the child, a
   disposition exec keeps), which SQLite reports as an I/O error where ENOSPC is SQLITE_FULL; the
   gateway must treat both as "not stored". Raising the limit plays "space freed". A loop device
   would need mount too, so it is no third option; when neither works the test is skipped.
"""

import errno
import os
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import Visitor, wait_for


class SmallFilesystem:
    """A directory whose writes can be made to fail for lack of space, then succeed again."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="switchboard-small-fs-"))
        self.method = None
        self.filler = self.path / "filler"
        forced = os.environ.get("RELIABILITY_DISK_FULL_METHOD")  # "rlimit" tries the fallback here too
        result = subprocess.run(["true"] if forced == "rlimit" else ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(self.path)],
                                capture_output=True, text=True)
        if result.returncode == 0 and forced != "rlimit":
            self.method = "tmpfs"
        else:
            self.mount_error = result.stderr.strip() or "forced"
            self.method = "rlimit"
        self.process = None

    def attach(self, process):
        self.process = process

    def fill(self):
        if self.method == "tmpfs":
            # Unbuffered, so ENOSPC comes from the write that hit it; then 4 KiB writes (SQLite's
            # page) take what a 64 KiB one could not.
            descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                for size in (65536, 4096, 512):
                    for _ in range(100_000):
                        try:
                            os.write(descriptor, b"\0" * size)
                        except OSError as error:
                            assert error.errno == errno.ENOSPC, error
                            break
            finally:
                os.close(descriptor)
        else:
            # RLIMIT_FSIZE bounds the offset a write may reach, not the growth: at 1 byte no write
            # of a database page succeeds, which is what a full disk does to SQLite's commits.
            try:
                resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
            except (PermissionError, OSError) as error:
                pytest.skip(f"no way to fill a disk here: mount refused ({self.mount_error}), prlimit refused ({error})")

    def free(self):
        if self.method == "tmpfs":
            self.filler.unlink()
        else:
            resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def remove(self):
        if self.method == "tmpfs":
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def small_filesystem():
    filesystem = SmallFilesystem()
    yield filesystem
    filesystem.remove()


def stored_sids(deployment):
    return [m.get("providerMessageId") for m in deployment.every_message() if m["direction"] == "inbound"]


def ignore_sigxfsz():
    # A write past RLIMIT_FSIZE raises SIGXFSZ, which kills by default: ignored, the write fails
    # with EFBIG instead. subprocess resets SIGXFSZ before this runs; exec keeps SIG_IGN.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_full_disk_refuses_webhooks_with_503_and_recovers_without_a_restart(small_filesystem, deployments):
    deployment = deployments(database=small_filesystem.path / "gateway.sqlite",
                             extra_env={"SWITCHBOARD_MEDIA_DIR": str(small_filesystem.path / "media")})
    gateway = deployment.start_gateway(preexec_fn=ignore_sigxfsz if small_filesystem.method == "rlimit" else None)
    small_filesystem.attach(gateway)
    phone = "+15557660001"
    acknowledged = []

    def send(text, timeout=10):
        sid = "SM" + secrets.token_hex(16)
        status, body = deployment.webhook(deployment.twilio_sms(phone, text, sid), timeout=timeout)
        if 200 <= status < 300:
            acknowledged.append(sid)
        return sid, status, body

    for index in range(10):
        assert send(f"before the disk fills {index}")[1] == 200
    visitor = Visitor(deployment)
    assert visitor.send("c-before", "before the disk fills") is not None

    small_filesystem.fill()
    # Each message carries 1 KB so that the space SQLite still holds (free pages, WAL frames
    # already allocated: those writes need no new blocks and may succeed, durably) runs out soon.
    answers = []
    for index in range(300):
        sid, status, body = send(f"while the disk is full {index} " + "x" * 1000)
        answers.append((sid, status, body))
        assert status in (200, 503), f"a full disk answered {status}: {body[:200]!r}"
        if status == 503:
            assert b'"storage_unavailable"' in body, body[:200]
        if [s for _, s, _ in answers[-5:]] == [503] * 5:
            break
    refused = [a for a in answers if a[1] == 503]
    print(f"disk full ({small_filesystem.method}): {len(answers)} webhooks, {len(answers) - len(refused)} stored "
          f"in space SQLite already held, {len(refused)} refused with 503")
    assert refused, f"no webhook was refused in {len(answers)} tries: the disk never filled ({small_filesystem.method})"
    assert [s for _, s, _ in answers[-5:]] == [503] * 5, "webhooks were acknowledged again while the disk stayed full"
    # The other channels refuse the same way: 503 for Messenger and RBM, an error frame on the socket.
    for channel, request in (("messenger", deployment.messenger("7100000000000001", "full disk", "m_" + secrets.token_hex(20))),
                             ("rcs", deployment.rbm("+15557660002", "full disk", "rbm-" + secrets.token_hex(8)))):
        status, body = deployment.webhook(request)
        assert status == 503, f"{channel} on a full disk answered {status}: {body[:200]!r}"
    assert visitor.send("c-full", "full disk") is None, "a web-chat message was acknowledged on a full disk"
    assert gateway.poll() is None, "the gateway died on a full disk"

    small_filesystem.free()
    # Same process: it must store again by itself.
    recovered = wait_for(lambda: send("after space was freed")[1] == 200, 15, interval=0.5,
                         message="a webhook to be stored after space was freed")
    assert recovered and gateway.poll() is None
    for index in range(5):
        assert send(f"after space was freed {index}")[1] == 200
    assert visitor.send("c-after", "after space was freed") is not None

    # Every acknowledged message is stored once, before and after a restart (durable, not cached).
    for when in ("running", "after restart"):
        sids = stored_sids(deployment)
        missing = [sid for sid in acknowledged if sid not in sids]
        twice = {sid for sid in sids if sids.count(sid) > 1}
        assert not missing, f"{when}: {len(missing)} acknowledged messages are not stored ({small_filesystem.method})"
        assert not twice, f"{when}: stored twice: {twice}"
        # Refused ones are the provider's to retry; none of them may have been half-stored.
        if when == "running":
            deployment.kill_gateway()
            deployment.start_gateway(preexec_fn=ignore_sigxfsz if small_filesystem.method == "rlimit" else None)
    assert deployment.integrity() == "ok"
