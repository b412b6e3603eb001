"""The real sidecar for the tests, and small helpers."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_ROOT = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(PYTHON_ROOT))
MAIN = os.path.join(REPO, "dist", "cli", "main.js")
EXAMPLE = os.path.join(REPO, "examples", "bundle.yaml")
TLS = os.path.join(REPO, "test", "fixtures", "tls")
NODE = os.environ.get("PDP_TEST_NODE") or shutil.which("node") or "node"



def bundle(guardrail: str, extra: str = "") -> str:
    """A bundle whose one global policy adds `guardrail`: each name gives its own revision."""
    return (
        "guardrails:\n"
        f"  - guardrail_name: {guardrail}\n"
        "    litellm_params: { guardrail: presidio, mode: pre_call }\n"
        "policies:\n"
        f"  base:\n    guardrails: {{ add: [{guardrail}] }}\n"
        "policy_attachments:\n"
        '  - { policy: base, scope: "*" }\n' + extra
    )


class Sidecar:
    """One `guardrail-pdp serve` process. `records` holds its log records (JSON lines)."""

    def __init__(self, bundle_path: str, listen: str = "127.0.0.1:0", extra_args: Optional[List[str]] = None):
        if not os.path.exists(MAIN):
            pytest.fail(f"{MAIN} is missing: run `npm run build` first (npm test builds it)")
        self.bundle_path = bundle_path
        self.records: List[Dict] = []
        self.address = ""
        self._lock = threading.Condition()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PDP_")}
        args = [NODE, MAIN, "serve", "--bundle", bundle_path, "--listen", listen, "--admin-listen", "127.0.0.1:0",
                "--debounce-ms", "50", "--shutdown-grace-ms", "500", "--log-level", "info", *(extra_args or [])]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda r: r.get("msg") == "decision API listening", what="the decision API to listen")
        self.address = next(r["address"] for r in self.records if r.get("msg") == "decision API listening")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.records.append(record)
                self._lock.notify_all()
        with self._lock:
            self._lock.notify_all()

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "a log record") -> Dict:
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                for r in self.records:
                    if predicate(r):
                        return r
                if self.process.poll() is not None:
                    err = self.process.stderr.read() if self.process.stderr else ""
                    pytest.fail(f"the sidecar exited ({self.process.returncode}) while waiting for {what}: {err}")
                left = end - time.monotonic()
                if left <= 0:
                    pytest.fail(f"timed out waiting for {what}")
                self._lock.wait(min(left, 0.2))

    def activations(self) -> List[str]:
        """The revisions activated so far, in order."""
        with self._lock:
            return [r["revision"] for r in self.records if r.get("msg") == "snapshot activated"]

    def resolve_rpcs(self) -> int:
        """How many Resolve calls it answered (needs --decision-log-sample-rate 1)."""
        with self._lock:
            return sum(1 for r in self.records if r.get("msg") == "decision" and r.get("rpc") == "Resolve")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def write_atomically(path: str, text: str) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def wait_until(predicate, timeout: float = 10.0, what: str = "a condition") -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def cli(*args: str) -> subprocess.CompletedProcess:
    """Runs the built CLI (`guardrail-pdp ARGS`)."""
    return subprocess.run([NODE, MAIN, *args], capture_output=True, text=True, timeout=60)
