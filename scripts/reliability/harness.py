"""What scripts/crash-loop, scripts/fault-soak and Tests/Reliability share: a gateway
(`switchboard serve`, no --dev) and a provider simulator (`switchboard simulate serve`) as separate
processes with provider credentials made up for the run; correctly signed provider webhooks; a
minimal web-chat visitor over a WebSocket (RFC 6455, stdlib only); and the checks that read the
outcome back through the REST API and the simulator's record.

Everything talks to 127.0.0.1 only. Standard library only, so the scripts run on a bare CI image.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.client import HTTPException
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What the echo bot answers (Sources/SwitchboardCore/Bot.swift): one reply per inbound text.
ECHO_PREFIX = "You said: "
FINAL_OUTBOUND = {"sent", "delivered", "read"}


def default_binary():
    """SWITCHBOARD_BIN, else the debug build's binary as scripts/system-tests finds it."""
    if os.environ.get("SWITCHBOARD_BIN"):
        return os.environ["SWITCHBOARD_BIN"]
    try:
        path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True,
                              timeout=120, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        path = str(REPO / ".build/debug")
    return str(Path(path) / "switchboard")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def generated_accounts():
    """Credentials made up for one run, so nothing depends on the simulator's published ones
    (those are for `serve --dev` only). The simulator reads the same variables and plays these
    accounts."""
    digits = lambda n: "".join(secrets.choice("0123456789") for _ in range(n))
    return {
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_FROM": "+1555" + digits(7),
        "MESSENGER_APP_SECRET": secrets.token_hex(16),
        "MESSENGER_VERIFY_TOKEN": secrets.token_hex(12),
        "MESSENGER_PAGE_ACCESS_TOKEN": "EAA" + secrets.token_hex(24),
        "MESSENGER_PAGE_ID": "1" + digits(14),
        "RBM_AGENT_ID": "agent-" + secrets.token_hex(6),
        "RBM_CLIENT_TOKEN": secrets.token_hex(20),
        "RBM_ACCESS_TOKEN": "ya29." + secrets.token_hex(24),
        "SWITCHBOARD_API_TOKEN": secrets.token_hex(24),
        # Visitor tokens must outlive a restart, whatever the database holds.
        "SWITCHBOARD_WEBCHAT_SECRET": secrets.token_hex(24),
    }


def http(method, url, body=None, headers=None, timeout=5.0):
    """(status, headers, body bytes); raises OSError when nothing came back (refused, reset, timeout)."""
    request = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except HTTPException as error:
        # The connection died mid-answer (a killed gateway): no answer, like a reset.
        raise ConnectionResetError(f"{type(error).__name__}: {error}") from error


def wait_for(predicate, timeout, interval=0.1, message="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")


class Deployment:
    """One gateway process and one simulator process on free loopback ports, sharing the run's
    credentials; the gateway can be killed and started again on the same SQLite file while the
    simulator keeps its record of every provider call."""

    def __init__(self, work, binary=None, outbox=None, extra_env=None, gateway_config=None, database=None):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.binary = binary or default_binary()
        self.port, self.simulator_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.simulator = f"http://127.0.0.1:{self.simulator_port}"
        self.database = Path(database) if database else self.work / "gateway.sqlite"
        self.accounts = generated_accounts()
        self.token = self.accounts["SWITCHBOARD_API_TOKEN"]
        self.env = dict(os.environ)
        for inherited in [key for key in self.env if key.startswith(("SWITCHBOARD_", "TWILIO_", "MESSENGER_", "RBM_"))]:
            if inherited != "SWITCHBOARD_BIN":
                del self.env[inherited]
        self.env.update(self.accounts)
        self.env.update({
            "TWILIO_API_BASE_URL": self.simulator, "MESSENGER_API_BASE_URL": self.simulator, "RBM_API_BASE_URL": self.simulator,
            "SWITCHBOARD_PORT": str(self.port), "SWITCHBOARD_HOST": "127.0.0.1",
            "SWITCHBOARD_DATABASE": f"sqlite:{self.database}", "SWITCHBOARD_PUBLIC_URL": self.url,
            "SWITCHBOARD_BOT": "echo", "LOG_LEVEL": os.environ.get("RELIABILITY_LOG_LEVEL", "warning"),
        })
        self.env.update(extra_env or {})
        config = {
            "host": "127.0.0.1", "port": self.port, "database": f"sqlite:{self.database}",
            "bot": {"kind": "echo"},
            # No static capability table: every phone is looked up at the simulator, which
            # answers "RCS capable" for phones it was not told about.
            "rcsCapabilities": {"file": None},
            "outbox": {"pacing": {"sms": {"perSecond": 1000, "burst": 1000}}, **(outbox or {})},
            "simulator": {"host": "127.0.0.1", "port": self.simulator_port},
            # Several senders share 127.0.0.1 and each socket carries a sender's whole web-chat
            # share: the per-address and per-socket limits are for the open internet, not this.
            "limits": {"webChatSessionsPerMinute": 10000, "webChatFramesPerSecond": 1000, "webChatFrameBurst": 1000},
            **(gateway_config or {}),
        }
        self.config = self.work / "switchboard.json"
        self.config.write_text(json.dumps(config, indent=2))
        self.gateway_log = open(self.work / "gateway.log", "ab")
        self.simulator_log = open(self.work / "simulator.log", "ab")
        self.gateway = None
        self.simulator_process = None
        self.starts = 0

    # Processes

    def start_simulator(self, *arguments):
        self.simulator_process = subprocess.Popen(
            [self.binary, "simulate", "serve", "--config", str(self.config), "--port", str(self.simulator_port),
             "--gateway", self.url, *arguments],
            cwd=self.work, env=self.env, stdout=self.simulator_log, stderr=subprocess.STDOUT)
        wait_for(lambda: self._answers(f"{self.simulator}/_simulator/stats") or self._exited(self.simulator_process, "simulator"),
                 30, message="the simulator to listen")

    def start_gateway(self, timeout=30, env=None, preexec_fn=None):
        self.starts += 1
        self.gateway_log.write(f"\n=== start {self.starts} at {time.time():.3f} ===\n".encode())
        self.gateway_log.flush()
        self.gateway = subprocess.Popen(
            [self.binary, "serve", "--config", str(self.config)], cwd=self.work, env={**self.env, **(env or {})},
            stdout=self.gateway_log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        wait_for(lambda: self._answers(f"{self.url}/healthz") or self._exited(self.gateway, "gateway"),
                 timeout, interval=0.05, message="the gateway to answer /healthz")
        return self.gateway

    def kill_gateway_while_starting(self, after):
        """Starts a gateway and kills it `after` seconds later, ready or not (opening the database,
        recovering the WAL, migrating)."""
        self.starts += 1
        self.gateway_log.write(f"\n=== start {self.starts} at {time.time():.3f}, killed after {after:.2f} s ===\n".encode())
        self.gateway_log.flush()
        self.gateway = subprocess.Popen([self.binary, "serve", "--config", str(self.config)], cwd=self.work, env=self.env,
                                        stdout=self.gateway_log, stderr=subprocess.STDOUT)
        time.sleep(after)
        self.kill_gateway()

    def kill_gateway(self):
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer takes it."""
        if self.gateway and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGKILL)
        if self.gateway:
            self.gateway.wait(timeout=15)

    def stop(self):
        for process in (self.gateway, self.simulator_process):
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        self.gateway_log.close()
        self.simulator_log.close()

    def _answers(self, url):
        try:
            status, _, _ = http("GET", url, timeout=1)
            return status == 200
        except OSError:
            return False

    def _exited(self, process, name):
        if process.poll() is not None:
            raise RuntimeError(f"the {name} exited with {process.returncode}; see {self.work}")
        return False

    def log_tail(self, name="gateway.log", lines=40):
        text = (self.work / name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    # The REST API

    def api(self, path, method="GET", body=None, timeout=10):
        status, _, text = http(method, f"{self.url}/api/v1{path}", None if body is None else json.dumps(body).encode(),
                               {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}, timeout)
        if status >= 300:
            raise AssertionError(f"{method} {path} -> {status} {text[:300]!r}")
        return json.loads(text) if text else None

    def all_contacts(self):
        contacts, cursor = [], None
        for _ in range(10_000):
            page = self.api("/contacts?limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""))
            contacts += page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return contacts
        raise AssertionError("the contacts list did not end")

    def all_messages(self, contact_id):
        pages, before = [], None
        for _ in range(10_000):
            page = self.api(f"/contacts/{contact_id}/messages?limit=200" + (f"&before={urllib.parse.quote(before)}" if before else ""))
            pages.insert(0, page["items"])
            before = page.get("nextCursor")
            if not before or not page["items"]:
                return [message for items in pages for message in items]
        raise AssertionError("the message trail did not end")

    def every_message(self):
        """Every stored message, read through the API the way a client pages it."""
        return [message for contact in self.all_contacts() for message in self.all_messages(contact["id"])]

    # The simulator

    def provider_requests(self):
        status, _, body = http("GET", f"{self.simulator}/_simulator/requests", timeout=30)
        assert status == 200, status
        return json.loads(body)["items"]

    def callbacks(self):
        """The status callbacks the simulator sent, each with the gateway's answer (0: unreachable)."""
        status, _, body = http("GET", f"{self.simulator}/_simulator/callbacks", timeout=30)
        assert status == 200, status
        return json.loads(body)["items"]

    def add_fault(self, fault):
        status, _, body = http("POST", f"{self.simulator}/_simulator/faults", json.dumps(fault).encode(),
                               {"Content-Type": "application/json"})
        assert status == 204, (status, body)

    def clear_faults(self):
        http("DELETE", f"{self.simulator}/_simulator/faults")

    # The database, read-only (never written behind the gateway's back)

    def outbox_count(self):
        """Rows still in the outbox (queued, in flight or waiting for a retry), or None when the
        file cannot be read right now."""
        try:
            with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=2) as db:
                return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        except sqlite3.Error:
            return None

    def integrity(self):
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]

    # Provider webhooks, signed as each provider signs them

    def webhook(self, request, timeout=5.0):
        path, headers, body = request
        status, _, text = http("POST", self.url + path, body, headers, timeout)
        return status, text

    def twilio_sms(self, phone, text, sid):
        """Twilio's inbound-SMS form; X-Twilio-Signature = base64 HMAC-SHA1(auth token, public URL +
        path + each sorted parameter's name and value)."""
        params = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid), ("SmsStatus", "received"),
                  ("Body", text), ("FromCountry", "US"), ("To", self.accounts["TWILIO_FROM"]), ("NumSegments", "1"),
                  ("MessageSid", sid), ("AccountSid", self.accounts["TWILIO_ACCOUNT_SID"]), ("From", phone),
                  ("ApiVersion", "2010-04-01")]
        path = "/webhooks/twilio/sms"
        signed = self.url + path + "".join(k + v for k, v in sorted(params))
        signature = base64.b64encode(hmac.new(self.accounts["TWILIO_AUTH_TOKEN"].encode(), signed.encode(), hashlib.sha1).digest())
        return path, {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature.decode(),
                      "User-Agent": "TwilioProxy/1.1"}, urllib.parse.urlencode(params).encode()

    def messenger(self, psid, text, mid, seconds_ago=0):
        """A page webhook with one message event (written `seconds_ago`); X-Hub-Signature-256 =
        sha256= hex HMAC-SHA256(app secret, body)."""
        page = self.accounts["MESSENGER_PAGE_ID"]
        now = int(time.time() * 1000)
        sent = now - int(seconds_ago * 1000)
        body = json.dumps({"object": "page", "entry": [{"id": page, "time": now, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": sent, "message": {"mid": mid, "text": text}}]}]},
            separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(self.accounts["MESSENGER_APP_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        return "/webhooks/messenger", {"Content-Type": "application/json", "X-Hub-Signature-256": signature}, body

    def rbm(self, phone, text, message_id):
        """A Pub/Sub push of an RBM UserMessage; X-Goog-Signature = base64 HMAC-SHA512(client token,
        the base64-decoded message.data)."""
        agent = self.accounts["RBM_AGENT_ID"]
        data = json.dumps({"senderPhoneNumber": phone, "messageId": message_id, "agentId": agent, "text": text,
                           "sendTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}, separators=(",", ":")).encode()
        envelope = json.dumps({"message": {"data": base64.b64encode(data).decode(), "messageId": str(secrets.randbelow(10**9)),
                                           "publishTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())},
                               "subscription": f"projects/rbm-{agent}/subscriptions/rbm-agent-subscription"}).encode()
        signature = base64.b64encode(hmac.new(self.accounts["RBM_CLIENT_TOKEN"].encode(), data, hashlib.sha512).digest()).decode()
        return "/webhooks/rbm", {"Content-Type": "application/json", "X-Goog-Signature": signature}, envelope


class WebSocketClosed(OSError):
    pass


class WebSocket:
    """The client side of RFC 6455, as little as the web chat needs: the upgrade, masked text
    frames out (section 5.3: a client masks every frame), unmasked frames in, pings answered."""

    def __init__(self, url, path, timeout=5.0):
        host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WebSocketClosed("closed during the upgrade")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        if self.status != 101:
            self.sock.close()
            raise WebSocketClosed(f"upgrade refused: {lines[0]}")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        headers = {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip() for line in lines[1:] if ":" in line}
        if headers.get("sec-websocket-accept") != accept:
            raise WebSocketClosed("bad Sec-WebSocket-Accept")

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WebSocketClosed("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive_text(self):
        """The next text message (fragments joined); raises socket.timeout or WebSocketClosed."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise WebSocketClosed("close frame")
            if opcode == 0x9:
                self.send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class Visitor:
    """A web-chat visitor: a session token kept across reconnects (and gateway restarts), one
    socket at a time, messages sent with a client id so a resend is idempotent."""

    def __init__(self, deployment):
        self.deployment = deployment
        self.token = None
        self.visitor_id = None
        self.socket = None

    def connect(self, timeout=5.0):
        # One session per visitor: its token stays valid across reconnects and gateway restarts
        # (the run's SWITCHBOARD_WEBCHAT_SECRET), as a widget keeps its token in localStorage.
        if not self.token:
            status, _, text = http("POST", f"{self.deployment.url}/webchat/sessions", b"", {"Content-Type": "application/json"}, timeout)
            if status != 201:
                raise OSError(f"POST /webchat/sessions -> {status}")
            session = json.loads(text)
            self.token, self.visitor_id = session["token"], session["visitorId"]
        self.socket = WebSocket(self.deployment.url, "/webchat/ws?token=" + urllib.parse.quote(self.token), timeout)

    def drop(self):
        if self.socket:
            try:
                self.socket.sock.close()
            except OSError:
                pass
        self.socket = None

    def send(self, client_id, text, timeout=5.0):
        """The stored message the gateway answered with (the acknowledgement), or None when it
        refused (an error frame); raises OSError when the connection failed."""
        if self.socket is None:
            self.connect(timeout)
        try:
            self.socket.send_text(json.dumps({"type": "message", "text": text, "id": client_id}))
            deadline = time.time() + timeout
            while time.time() < deadline:
                frame = json.loads(self.socket.receive_text())
                if frame.get("type") == "message" and frame.get("clientId") == client_id:
                    return frame["message"]
                if frame.get("type") == "error":
                    return None
            raise socket.timeout("no acknowledgement")
        except (OSError, ValueError):
            self.drop()
            raise OSError("web-chat socket failed")


class Ledger:
    """What the senders were told: every acknowledged (2xx) delivery, by (channel, provider id)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}  # (channel, provider id) -> {"text", "address", "acks"}
        self.redeliveries = 0
        self.refusals = {}  # status -> count (non-2xx answers)
        self.failures = 0  # no answer at all
        self.errors = []  # answers the senders could not make sense of

    def acked(self, channel, provider_id, text, address):
        with self.lock:
            entry = self.acknowledged.setdefault((channel, provider_id), {"text": text, "address": address, "acks": 0})
            entry["acks"] += 1
            if entry["acks"] > 1:
                self.redeliveries += 1

    def refused(self, status):
        with self.lock:
            self.refusals[status] = self.refusals.get(status, 0) + 1

    def failed(self):
        with self.lock:
            self.failures += 1

    def unexpected(self, description):
        with self.lock:
            self.errors.append(description)


CHANNELS = ["sms", "rcs", "messenger", "webchat"]


class Sender(threading.Thread):
    """One provider-like sender: new messages in turn on each channel, a retry of what got no 2xx,
    and now and then a resend of an id already acknowledged."""

    def __init__(self, index, deployment, ledger, rng, stop, interval, run_id, label="msg"):
        super().__init__(daemon=True, name=f"sender-{index}")
        self.index, self.deployment, self.ledger, self.rng, self.stop = index, deployment, ledger, rng, stop
        self.interval, self.run_id, self.label = interval, run_id, label
        self.visitor = Visitor(deployment)
        self.pending = []  # sent without a 2xx: a provider retries these
        self.acknowledged = []
        self.sequence = 0
        self.addresses = {
            "sms": [f"+1555{index:02d}{k:05d}" for k in range(8)],
            "rcs": [f"+1554{index:02d}{k:05d}" for k in range(8)],
            "messenger": [f"7{index:03d}{k:012d}" for k in range(8)],
        }

    def next_item(self):
        if self.pending and self.rng.random() < 0.6:
            return self.pending.pop(0)
        if self.acknowledged and self.rng.random() < 0.1:
            return self.rng.choice(self.acknowledged)
        self.sequence += 1
        channel = CHANNELS[(self.index + self.sequence) % len(CHANNELS)]
        text = f"{self.label} {self.run_id} {self.index}.{self.sequence}"
        if channel == "webchat":
            return (channel, None, text, f"c-{self.index}-{self.sequence}")
        provider_id = {"sms": lambda: "SM" + secrets.token_hex(16), "rcs": lambda: str(uuid.uuid4()),
                       "messenger": lambda: "m_" + secrets.token_hex(20)}[channel]()
        return (channel, self.rng.choice(self.addresses[channel]), text, provider_id)

    def deliver(self, item):
        """The provider id the gateway acknowledged, or None."""
        channel, address, text, provider_id = item
        if channel == "webchat":
            stored = self.visitor.send(provider_id, text, timeout=5)
            if stored is None:
                self.ledger.refused("webchat error frame")
                return None
            return f"{self.visitor.visitor_id}:{provider_id}", self.visitor.visitor_id
        request = {"sms": self.deployment.twilio_sms, "rcs": self.deployment.rbm,
                   "messenger": self.deployment.messenger}[channel](address, text, provider_id)
        status, _ = self.deployment.webhook(request, timeout=5)
        if 200 <= status < 300:
            return provider_id, address
        self.ledger.refused(status)
        return None

    def run(self):
        while not self.stop.is_set():
            item = self.next_item()
            try:
                acknowledged = self.deliver(item)
            except OSError:
                self.ledger.failed()
                acknowledged = None
                time.sleep(0.05)
            except Exception as error:  # noqa: BLE001 - a sender must outlive whatever the gateway answers
                self.ledger.unexpected(f"{self.name}: {type(error).__name__}: {error}")
                acknowledged = None
                time.sleep(0.05)
            if acknowledged:
                self.ledger.acked(item[0], acknowledged[0], item[2], acknowledged[1])
                if item not in self.acknowledged:
                    self.acknowledged.append(item)
            elif len(self.pending) < 200 and item not in self.acknowledged:
                self.pending.append(item)
            time.sleep(self.interval * self.rng.uniform(0.5, 1.5))
        self.visitor.drop()


def reply_text(request):
    """The text a recorded provider call carried (Twilio Body, Messenger message.text, RBM contentMessage.text)."""
    if request.get("form"):
        return next((pair[1] for pair in request["form"] if len(pair) > 1 and pair[0] == "Body"), None)
    if request.get("json"):
        try:
            body = json.loads(request["json"])
        except ValueError:
            return None
        return (body.get("message") or {}).get("text") or (body.get("contentMessage") or {}).get("text")
    return None


PROVIDER_CHANNEL = {"twilio": "sms", "messenger": "messenger", "rbm": "rcs"}


def check_outcome(deployment, ledger, failure_allowed=lambda message: False):
    """Reads everything back and compares it with the ledger. Returns a dict of figures and a list
    of problems (empty when every promise held).

    - every acknowledged inbound message is stored exactly once (channel and provider id), and no
      inbound provider id is stored twice even among those never acknowledged;
    - every inbound text has its echo reply, once, and every outbound message ended sent or later
      (or failed where `failure_allowed(message)` says so: a permanent error a run injected on purpose);
    - the simulator accepted each provider reply; duplicates are the same reply accepted more than
      once (for RBM: under different messageIds, since RBM drops a messageId it already has).
    """
    problems = []
    messages = deployment.every_message()
    inbound, outbound = {}, {}
    for message in messages:
        if message["direction"] == "inbound":
            key = (message["channel"], message.get("providerMessageId"))
            inbound.setdefault(key, []).append(message)
        else:
            outbound.setdefault((message["contactId"], (message.get("content") or {}).get("text")), []).append(message)
    found = lost = 0
    for (channel, provider_id), entry in ledger.acknowledged.items():
        stored = inbound.get((channel, provider_id), [])
        if not stored:
            lost += 1
            if lost <= 10:
                problems.append(f"lost: {channel} {provider_id} {entry['text']!r} was acknowledged {entry['acks']}x and is not stored")
        else:
            found += 1
    for (channel, provider_id), stored in inbound.items():
        if len(stored) > 1:
            problems.append(f"stored {len(stored)} times: {channel} {provider_id} ({[m['id'] for m in stored]})")
    # Every inbound text gets its one echo reply, and that reply left.
    requests = deployment.provider_requests()
    accepted = {}
    for request in requests:
        if request["method"] == "POST" and 200 <= request["responseStatus"] < 300:
            accepted.setdefault((PROVIDER_CHANNEL[request["provider"]], reply_text(request)), []).append(request)
    unsent, failed_on_purpose, missing_replies, reply_duplicates = 0, 0, 0, 0
    duplicates = {"sms": 0, "rcs": 0, "messenger": 0, "webchat": 0}
    same_id_resends = 0
    for (channel, _), stored in inbound.items():
        message = stored[0]
        text = (message.get("content") or {}).get("text")
        if not text:
            continue
        replies = outbound.get((message["contactId"], ECHO_PREFIX + text), [])
        if not replies:
            missing_replies += 1
            if missing_replies <= 10:
                problems.append(f"no reply queued for {channel} {message['id']} {text!r}")
            continue
        if len(replies) > 1:
            reply_duplicates += 1
            problems.append(f"{len(replies)} replies queued for {channel} {message['id']} {text!r}")
        for reply in replies:
            if reply["status"] in FINAL_OUTBOUND:
                pass
            elif reply["status"] == "failed" and failure_allowed(reply):
                failed_on_purpose += 1
                continue
            else:
                unsent += 1
                if unsent <= 10:
                    problems.append(f"reply {reply['id']} ({reply['channel']}) ended {reply['status']} {reply.get('error')}")
                continue
            if reply["channel"] == "webchat":
                continue
            calls = accepted.get((reply["channel"], ECHO_PREFIX + text), [])
            if not calls:
                unsent += 1
                problems.append(f"reply {reply['id']} ({reply['channel']}) is {reply['status']} but the provider never accepted it")
                continue
            if reply["channel"] == "rcs":
                distinct = {call.get("providerMessageId") for call in calls}
                duplicates["rcs"] += len(distinct) - 1
                same_id_resends += len(calls) - len(distinct)
            else:
                duplicates[reply["channel"]] += len(calls) - 1
    # Web chat has no provider: a duplicate is the same reply stored twice (counted above as a
    # problem too) or pushed under two ids to the visitor.
    duplicates["webchat"] += sum(len(replies) - 1 for (contact, text), replies in outbound.items()
                                 if replies[0]["channel"] == "webchat" and len(replies) > 1)
    every_outbound = [m for replies in outbound.values() for m in replies]
    for message in every_outbound:
        if message["status"] not in FINAL_OUTBOUND and not (message["status"] == "failed" and failure_allowed(message)):
            if not any(message["id"] in problem for problem in problems):
                problems.append(f"outbound {message['id']} ({message['channel']}) ended {message['status']} {message.get('error')}")
    if duplicates["rcs"]:
        problems.append(f"RBM sent the same reply under {duplicates['rcs']} extra messageIds: the user sees it twice")
    return {
        "acknowledged": len(ledger.acknowledged), "found": found, "lost": lost, "stored inbound": len(inbound),
        "outbound": len(every_outbound), "unsent": unsent, "missing replies": missing_replies,
        "failed on purpose": failed_on_purpose, "duplicates": duplicates, "rbm same-id resends": same_id_resends,
        "provider requests": len(requests), "messages": messages, "requests": requests,
    }, problems
