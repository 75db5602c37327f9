"""Reliability tests of real processes (run by scripts/system-tests): a gateway (`switchboard
serve`, no --dev, credentials made up per test) and the provider simulator as its own process,
through the harness that scripts/crash-loop and scripts/fault-soak use."""

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts/reliability"))

from harness import Deployment  # noqa: E402


@pytest.fixture
def deployments():
    """Makes deployments (simulator started, gateway not yet) and stops them after the test."""
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
