"""Fixtures: the real sidecar, started from the built CLI (node dist/cli/main.js serve) on
127.0.0.1:0 or a Unix socket, its bound address read from its log."""

import shutil
import sys
import tempfile
from typing import List

import pytest

try:
    import grpc  # noqa: F401
    import google.protobuf  # noqa: F401
except ImportError as e:  # a failure, never a skip: CI must install them (.ci/run)
    pytest.exit(
        f"the guardrail_pdp tests need grpcio and protobuf for this Python ({sys.executable}): {e}. "
        "On Debian: apt-get install -y python3-grpcio python3-protobuf python3-pytest, "
        "and run the tests with /usr/bin/python3 -m pytest clients/python",
        returncode=3,
    )

from sidecar import EXAMPLE, Sidecar


@pytest.fixture
def tmp_dir():
    d = tempfile.mkdtemp(prefix="pdp-py-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def start_sidecar():
    """Starts sidecars (stopped at the end of the test): start_sidecar(bundle_path, listen=..., extra_args=[...])."""
    started: List[Sidecar] = []

    def start(bundle_path: str = EXAMPLE, **kwargs) -> Sidecar:
        s = Sidecar(bundle_path, **kwargs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def example_sidecar():
    """The example bundle served for a whole module, every decision logged."""
    s = Sidecar(EXAMPLE, extra_args=["--decision-log-sample-rate", "1"])
    yield s
    s.stop()
