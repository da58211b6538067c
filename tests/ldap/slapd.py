"""A throwaway OpenLDAP slapd on loopback for the LDAP tests (STACK.md §10).

Foreground `slapd -d 0` in a temporary directory, back_mdb + memberof overlay, data loaded with `ldapadd`
(offline `slapadd` runs no overlays, so memberOf would stay empty).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=jiedong,dc=gov,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "root-secret-for-tests"
SERVICE_DN = f"cn=oa-sync,{SUFFIX}"
SERVICE_PW = "sync-secret-for-tests"
BASE_DN = f"ou=agencies,{SUFFIX}"

CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof

database mdb
maxsize 104857600
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/data
index objectClass,entryUUID eq
index uid eq

overlay memberof
memberof-group-oc groupOfNames

# People may bind as themselves, nobody reads passwords, authenticated users (the service account) read.
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    return Path(SLAPD).exists() and shutil.which("ldapadd") is not None


class Slapd:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        hashed = subprocess.run(
            ["/usr/sbin/slappasswd", "-s", ROOT_PW], check=True, capture_output=True, text=True
        ).stdout.strip()
        conf = self.dir / "slapd.conf"
        conf.write_text(CONF.format(dir=self.dir, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=hashed), encoding="utf-8")
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(conf), "-h", self.url, "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "slapd.log", "wb"),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.dir / 'slapd.log').read_text(errors='replace')}")
            probe = subprocess.run(
                ["ldapwhoami", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("slapd did not become ready in 15 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _tool(self, tool: str, ldif: str, *extra: str) -> None:
        result = subprocess.run(
            [tool, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW, *extra],
            input=ldif.encode(),
            capture_output=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")

    def add(self, ldif: str) -> None:
        self._tool("ldapadd", ldif)

    def modify(self, ldif: str) -> None:
        self._tool("ldapmodify", ldif)

    def delete(self, dn: str) -> None:
        self._tool("ldapdelete", dn + "\n")

    def __enter__(self) -> Slapd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
