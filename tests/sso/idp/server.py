"""Start a test identity provider (tests/sso/idp/run.py) in its own process on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class IdentityProvider:
    """One provider process: `kind` is "oidc" (django-oidc-provider) or "cas" (django-cas-server)."""

    def __init__(self, kind: str, workdir: Path, setup: dict, *, ready_path: str) -> None:
        self.kind, self.workdir, self.setup, self.ready_path = kind, workdir, setup, ready_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.overrides = workdir / "overrides.json"
        self.process: subprocess.Popen | None = None

    def start(self) -> IdentityProvider:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.overrides.write_text("{}", encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OA_", "DJANGO_"))},
            "PYTHONPATH": str(ROOT), "IDP_DIR": str(self.workdir), "IDP_PORT": str(self.port),
            "IDP_SITE_URL": self.url, "IDP_OVERRIDES": str(self.overrides), "IDP_SETUP": json.dumps(self.setup),
        }
        log = (self.workdir / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.sso.idp.run", self.kind], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} 身份认证测试服务未能启动：\n" + self.log())
            try:
                if requests.get(self.url + self.ready_path, timeout=2).status_code < 500:
                    return self
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.kind} 身份认证测试服务 60 秒内未就绪：\n" + self.log())
            time.sleep(0.2)

    def log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text(encoding="utf-8", errors="replace")[-4000:] if path.exists() else ""

    def set_overrides(self, overrides: dict) -> None:
        """What the provider asserts per user on its next ID token (OIDC only)."""
        self.overrides.write_text(json.dumps(overrides), encoding="utf-8")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
