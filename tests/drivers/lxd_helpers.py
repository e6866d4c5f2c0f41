"""Helpers for the real-LXD driver tests (plain functions; fixtures live in the test modules).

The LXD under test is the one scripts/setup-hosts starts: HTTPS on 127.0.0.1:8443, pool
``default`` (dir), bridges ``vmhbr0``/``vmhbr1``, image alias ``vmhost-test``. Everything here
talks to loopback only, and every command is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from typing import Any

from vmhost import model, pki
from vmhost.drivers import base
from vmhost.drivers.lxd import endpoint as lxd_endpoint

ADDRESS = os.environ.get("VMHOST_LXD_HTTPS", "127.0.0.1:8443")
POOL = "default"
BRIDGES = ("vmhbr0", "vmhbr1")
IMAGE = "vmhost-test"
RUN = uuid.uuid4().hex[:6]  # names of this test run: nothing clashes with a parallel run
# seconds the driver tests took, by what: reported at the end of the run (conftest.py), never
# asserted (speed is measured in bench/)
TIMINGS: dict[str, float] = {}


def lxc(*args: str, check: bool = True, timeout: float = 120, stdin: str | None = None) -> str:
    """Run ``lxc`` (unix socket, as root) with a timeout; its stdout."""
    done = subprocess.run(
        ["lxc", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"lxc {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def query(path: str) -> Any:
    """``lxc query`` as JSON."""
    return json.loads(lxc("query", path))


def skip_reason() -> str | None:
    """Why the real-LXD tests cannot run here, or None."""
    try:
        from support import hosts  # type: ignore[import-not-found]

        reason = hosts.lxd_skip_reason() if hasattr(hosts, "lxd_skip_reason") else None
        if reason:
            return str(reason)
    except ImportError:
        pass
    if shutil.which("lxc") is None:
        return "lxc is not installed (run scripts/setup-hosts)"
    try:
        server = query("/1.0")
    except (AssertionError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return f"LXD does not answer on its unix socket (run scripts/setup-hosts): {exc}"
    if ADDRESS not in (server.get("config") or {}).get("core.https_address", ""):
        return f"LXD does not listen on {ADDRESS} (run scripts/setup-hosts)"
    try:
        query(f"/1.0/images/aliases/{IMAGE}")
        for bridge in BRIDGES:
            query(f"/1.0/networks/{bridge}")
        query(f"/1.0/storage-pools/{POOL}")
    except (AssertionError, json.JSONDecodeError) as exc:
        return f"LXD lacks the test image, bridges or pool (run scripts/setup-hosts): {exc}"
    return None


def new_pair(name: str = "test") -> pki.KeyPair:
    """A vmhost-generated client certificate (RSA 4096, as in production)."""
    return pki.generate(pki.client_cn(f"{name}-{RUN}", "tests"))


def trust(pair: pki.KeyPair, name: str) -> str:
    """``lxc config trust add`` the certificate, as an operator does; its fingerprint."""
    with tempfile.NamedTemporaryFile("w", suffix=".crt") as f:
        f.write(pair.certificate_pem)
        f.flush()
        lxc("config", "trust", "add", f.name, "--name", name)
    return pair.fingerprint


def untrust(fingerprint: str) -> None:
    """Remove a certificate from LXD's trust store (absent is fine)."""
    lxc("config", "trust", "remove", fingerprint, check=False)


def trusted_fingerprints() -> set[str]:
    """Fingerprints LXD trusts now."""
    return {c["fingerprint"] for c in query("/1.0/certificates?recursion=1")}


def connection(
    pair: pki.KeyPair, project: str = "default", **options: object
) -> base.HostConnection:
    """A HostConnection as the service builds it: pinned server certificate, test image."""
    server = lxd_endpoint.fetch_server_certificate(ADDRESS)
    return base.HostConnection(
        type=model.HostType.LXD,
        address=ADDRESS,
        name=f"lxd-{RUN}",
        project=project,
        client_cert_pem=pair.certificate_pem,
        client_key_pem=pair.key_pem,
        server_cert_pem=server.pem,
        options={"image": IMAGE, **options},
    )


def instances(project: str) -> list[dict[str, Any]]:
    """``lxc list --project P`` as JSON."""
    result: list[dict[str, Any]] = json.loads(lxc("list", "--project", project, "-f", "json"))
    return result


def volumes(project: str, pool: str = POOL) -> list[dict[str, Any]]:
    """``lxc storage volume list <pool> --project P`` as JSON (every type)."""
    result: list[dict[str, Any]] = json.loads(
        lxc("storage", "volume", "list", pool, "--project", project, "-f", "json")
    )
    return result


def project_exists(project: str) -> bool:
    """Whether LXD has the project."""
    return project in {p["name"] for p in query("/1.0/projects?recursion=1")}


def wipe_project(project: str) -> None:
    """Delete every instance and custom volume of a test project, then the project."""
    if not project_exists(project):
        return
    for inst in instances(project):
        lxc("delete", "--force", inst["name"], "--project", project, check=False, timeout=60)
    for vol in volumes(project):
        if vol.get("type") == "custom":
            lxc(
                "storage", "volume", "delete", POOL, vol["name"], "--project", project, check=False
            )
    if project != "default":
        lxc("project", "delete", project, check=False)
