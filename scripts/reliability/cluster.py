"""Several `switchboard serve` processes on one PostgreSQL database, with one provider simulator:
what Tests/Reliability/test_several_instances.py and `scripts/bench --postgres` share.

The instances are configured alike (as behind a load balancer): one public URL (instance 0's
address stands for the balancer's, so Twilio's signatures are computed over it wherever the
webhook lands), one set of credentials, one database. The web-chat token key is not configured:
the instances share the one kept in the database.

Standard library only; PostgreSQL is reached with `psql` (Debian's postgresql-client).
"""

import os
import signal
import subprocess
import time
import urllib.parse
import uuid

from harness import Deployment, Sender, Visitor, free_port, http, wait_for


def postgres_url():
    """The throwaway server's URL (scripts/throwaway-postgres via the README's test command), or None."""
    return os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL") or None


def fresh_database(server_url):
    """Creates a new, empty database on the server and returns its URL."""
    name = "cluster_" + uuid.uuid4().hex[:16]
    parts = urllib.parse.urlsplit(server_url)
    subprocess.run(["psql", server_url, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=60)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def drop_database(server_url, database_url):
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    subprocess.run(["psql", server_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True, timeout=60)


class Instance:
    """One gateway process of the cluster: a view of the deployment that posts to its own port
    (the senders' requests are signed as for the public URL, whatever instance they reach)."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.deployment = cluster.deployment
        self.index = index
        self.port = cluster.deployment.port if index == 0 else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __getattr__(self, name):
        return getattr(self.deployment, name)

    def webhook(self, request, timeout=5.0):
        path, headers, body = request
        status, _, text = http("POST", self.url + path, body, headers, timeout)
        return status, text

    def start(self, timeout=60):
        log = self.cluster.log(self.index)
        log.write(f"\n=== start at {time.time():.3f} ===\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [self.deployment.binary, "serve", "--config", str(self.deployment.config)], cwd=self.deployment.work,
            env={**self.deployment.env, "SWITCHBOARD_PORT": str(self.port)}, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.deployment._answers(f"{self.url}/healthz") or self.deployment._exited(self.process, f"gateway {self.index}"),
                 timeout, interval=0.05, message=f"instance {self.index} to answer /healthz")

    def kill(self):
        """SIGKILL: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def ready(self):
        try:
            status, _, _ = http("GET", f"{self.url}/readyz", timeout=10)
            return status
        except OSError:
            return None


class Cluster:
    """`count` instances on one fresh database, a simulator, and the deployment's API and checks
    (read through instance 0)."""

    def __init__(self, work, server_url, count=2, outbox=None, gateway_config=None, binary=None, log_level=None, pool_size=8):
        self.server_url = server_url
        self.database_url = fresh_database(server_url)
        self.deployment = Deployment(
            work, binary=binary, outbox=outbox, gateway_config={"database": self.database_url, **(gateway_config or {})},
            extra_env={"SWITCHBOARD_DATABASE": self.database_url, "SWITCHBOARD_DATABASE_POOL_SIZE": str(pool_size)})
        # One key for every instance, from the database: not configured.
        self.deployment.env.pop("SWITCHBOARD_WEBCHAT_SECRET", None)
        if log_level:
            self.deployment.env["LOG_LEVEL"] = log_level
        self.instances = [Instance(self, index) for index in range(count)]
        self.logs = {}

    def log(self, index):
        if index not in self.logs:
            self.logs[index] = open(self.deployment.work / f"gateway-{index}.log", "ab")
        return self.logs[index]

    def start(self):
        self.deployment.start_simulator()
        for instance in self.instances:
            instance.start()

    def stop(self):
        for instance in self.instances:
            instance.stop()
        self.deployment.stop()
        for log in self.logs.values():
            log.close()
        drop_database(self.server_url, self.database_url)

    def log_tail(self, index, lines=40):
        text = (self.deployment.work / f"gateway-{index}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class CrossSender(Sender):
    """A sender whose messages land on one instance or another (as a balancer spreads them), and
    whose deliberate resends of an acknowledged id go to the *other* instance (a provider's retry
    after a lost answer). A web-chat visitor moves to the other instance with the same token."""

    def __init__(self, index, cluster, ledger, rng, stop, interval, run_id, label="msg", timeout=10.0):
        super().__init__(index, cluster.instances[0], ledger, rng, stop, interval, run_id, label)
        self.cluster = cluster
        self.timeout = timeout
        self.home = {}  # item -> the instance index it was first sent to
        self.moves = 0

    def deliver(self, item):
        instances = self.cluster.instances
        resend = item in self.acknowledged
        if item not in self.home:
            self.home[item] = self.rng.randrange(len(instances))
        target = instances[(self.home[item] + (1 if resend else 0)) % len(instances)]
        channel, address, text, provider_id = item
        if channel == "webchat":
            if self.visitor.deployment is not target:
                self.visitor.drop()
                self.visitor.deployment = target
                self.moves += 1
            stored = self.visitor.send(provider_id, text, timeout=self.timeout)
            if stored is None:
                self.ledger.refused("webchat error frame")
                return None
            return f"{self.visitor.visitor_id}:{provider_id}", self.visitor.visitor_id
        request = {"sms": target.twilio_sms, "rcs": target.rbm, "messenger": target.messenger}[channel](address, text, provider_id)
        status, _ = target.webhook(request, timeout=self.timeout)
        if 200 <= status < 300:
            return provider_id, address
        self.ledger.refused(status)
        return None
