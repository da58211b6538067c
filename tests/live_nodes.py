"""Two (or more) real deployments of the app on loopback, for the exchange tests and bench/exchange.py.

Each node is its own PostgreSQL database, data directory, node key and pair of processes — uvicorn serving
oa.asgi and ``run_scheduler`` delivering the outbox — exactly as ``make run`` starts one. Nodes talk only over
HTTP. Scripts run inside a node with ``manage.py shell`` (tests/live/*.py), which is how the test reads and
drives each side's database without sharing anything with the pytest process.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "live"
PG_ADMIN = os.environ.get("OA_LIVE_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_node_key() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode()


@dataclass
class Node:
    code: str
    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    key: str = field(default_factory=new_node_key)
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def db(self) -> str:
        # One pair per pytest-xdist worker at most, so the worker name keeps parallel runs apart.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        return f"oa_live_{self.code.replace('-', '_')}{'_' + worker if worker else ''}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        data = self.workdir / self.code
        data.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OA_", "DJANGO_", "PYTEST"))}
        env.update({
            "OA_SECRET_KEY": f"live-node-{self.code}-secret-key-0123456789abcdefghijklmnop",
            "OA_SEAL_KEK": "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=",
            "OA_HTTPS": "0",
            "OA_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OA_DATA_DIR": str(data),
            "OA_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{self.db}",
            "OA_REDIS_URL": "",  # in-memory layer; the outbox is kicked in-process after commit
            "OA_AUDIT_HASH": "sha256",
            # The test machine has only the stand-in 公文 fonts (docs/gbt9704.md); the nodes seal with them.
            "OA_ACCEPT_STANDIN_FONTS": "1",
            "OA_EXCHANGE_NODE_CODE": self.code,
            "OA_EXCHANGE_NODE_NAME": self.name,
            "OA_EXCHANGE_NODE_KEY": self.key,
            "OA_EXCHANGE_URL": self.url,
            "OA_OUTBOX_BASE_DELAY": "1",
            "OA_OUTBOX_MAX_DELAY": "2",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    # --- database ------------------------------------------------------------------------------------------

    def create_database(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db}"')

    def drop_database(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    # --- commands --------------------------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"[{self.code}] manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def script(self, name: str, **params) -> dict:
        """Run tests/live/<name>.py inside this node (manage.py shell); it prints one JSON object last."""
        code = ("import json, os, runpy; "
                f"runpy.run_path({str(SCRIPTS / (name + '.py'))!r}, run_name='__main__')")
        env_params = json.dumps(params, ensure_ascii=False)
        done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                              env={**self.env(), "OA_LIVE_PARAMS": env_params}, capture_output=True, text=True,
                              timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"[{self.code}] script {name} failed:\n{done.stdout}\n{done.stderr}")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"[{self.code}] script {name} printed no result:\n{done.stdout}\n{done.stderr}")
        return json.loads(lines[-1])

    # --- processes -------------------------------------------------------------------------------------------

    def start(self, *, scheduler: bool = True) -> None:
        log = open(self.workdir / f"{self.code}.log", "ab")
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "oa.asgi:application", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT))
        if scheduler:
            self.procs.append(subprocess.Popen(
                [sys.executable, "manage.py", "run_scheduler", "--interval", "0.5", "-v", "0"], cwd=ROOT,
                env=self.env(), stdout=log, stderr=subprocess.STDOUT))
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs and self.procs[0].poll() is not None:
                raise RuntimeError(f"[{self.code}] uvicorn exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"[{self.code}] not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def log_tail(self, lines: int = 60) -> str:
        path = self.workdir / f"{self.code}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def prepare_pair(a: Node, b: Node, workdir: Path) -> dict:
    """Fresh databases for both nodes, migrated in parallel; A = the demo district (with seals), B = 揭西县
    (tests/live/seed_b.py); each registers the other (exchange_node export/add-peer). Returns B's seed result."""
    from concurrent.futures import ThreadPoolExecutor

    for node in (a, b):
        node.create_database()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: n.manage("migrate", "--noinput", "-v", "0"), (a, b)))
    a.manage("load_demo", "--with-seals")
    b_info = b.script("seed_b")
    for me, other in ((a, b), (b, a)):
        descriptor = workdir / f"{other.code}.json"
        descriptor.write_text(other.manage("exchange_node", "export"), encoding="utf-8")
        me.manage("exchange_node", "add-peer", str(descriptor))
    return b_info


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.5, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; that value is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
