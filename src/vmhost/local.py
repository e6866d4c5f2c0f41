"""Register this machine's own LXD and libvirt as VM hosts, and mint an admin token.

Used by the README's run command (``scripts/run``): ``python -m vmhost.local --data-dir D``.
Idempotent: hosts already registered are refreshed, not added again; the admin token kept in
``--token-file`` is reused while it is valid (a new one replaces it otherwise, and the tokens of
earlier runs are revoked). Prints one line per step and, last, the admin token (only its hash
is stored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from vmhost import model
from vmhost.service import Services
from vmhost.settings import Settings

LXD_ADDRESS = "https://127.0.0.1:8443"
LIBVIRT_URI = "qemu:///system"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _existing(services: Services, name: str) -> int | None:
    try:
        return services.hosts.host_id_by_name(name)
    except model.NotFoundError:
        return None


def _trust_locally(cert_pem: str, fingerprint: str) -> str:
    """Trust our certificate on the local LXD with ``lxc config trust add`` (we are root here)."""
    if not shutil.which("lxc"):
        return "lxc is not installed"
    listed = subprocess.run(
        ["lxc", "config", "trust", "list", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if listed.returncode == 0 and fingerprint in {
        c.get("fingerprint") for c in json.loads(listed.stdout or "[]")
    }:
        return ""
    with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as f:
        f.write(cert_pem)
    try:
        done = subprocess.run(
            ["lxc", "config", "trust", "add", f.name, "--name", "vmhost-local"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.unlink(f.name)
    return "" if done.returncode == 0 else done.stderr.strip()


def register_lxd(services: Services) -> str:
    """The local LXD over HTTPS on 127.0.0.1:8443, project ``vmhost``; its image is
    ``VMHOST_LOCAL_LXD_IMAGE`` when set (on every run, not only the first)."""
    if not _port_open("127.0.0.1", 8443):
        return "skipped: LXD does not listen on 127.0.0.1:8443 (run scripts/setup-hosts)"
    host_id = _existing(services, "local-lxd")
    image = os.environ.get("VMHOST_LOCAL_LXD_IMAGE", "").strip()
    if host_id is None:
        detail = services.hosts.add(
            model.HostSettings(
                name="local-lxd", type=model.HostType.LXD, address=LXD_ADDRESS, project="vmhost"
            ),
            options={"image": image} if image else None,
            refresh=False,
        )
        host_id = detail.host.id
    elif image and services.hosts.parameters(host_id)["options"].get("image") != image:
        # every run applies the variable: the host's image is a setting like any other
        services.hosts.update(host_id, model.HostChanges(options={"image": image}))
    cert = services.certificates.certificate(host_id)
    problem = _trust_locally(cert.certificate, cert.fingerprint)
    if problem:
        return f"added, but could not trust its certificate: {problem}; run: {cert.trust_command}"
    detail = services.hosts.refresh(host_id, raise_errors=False)
    return _status(detail.host)


def register_libvirt(services: Services) -> str:
    """The local libvirt/KVM (qemu:///system)."""
    if not os.path.exists("/var/run/libvirt/libvirt-sock"):
        return "skipped: libvirtd is not running (run scripts/setup-hosts)"
    host_id = _existing(services, "local-libvirt")
    if host_id is None:
        detail = services.hosts.add(
            model.HostSettings(
                name="local-libvirt", type=model.HostType.LIBVIRT, address=LIBVIRT_URI
            )
        )
    else:
        detail = services.hosts.refresh(host_id, raise_errors=False)
    return _status(detail.host)


def _status(host: model.Host) -> str:
    return f"{host.status.value} {host.last_error}".strip()


def admin_token(services: Services, token_file: str | None) -> str:
    """The admin token kept in ``token_file`` while it is valid, else a new one (written
    there); tokens of earlier runs it replaces are revoked. Only hashes are stored."""
    current = None
    if token_file and os.path.exists(token_file):
        with open(token_file) as f:
            current = f.read().strip() or None
    token, new = services.tokens.local_admin(current)
    if token_file and new:
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
    return token


def main(argv: list[str] | None = None) -> int:
    """Register local hosts and print an admin token."""
    parser = argparse.ArgumentParser(prog="python -m vmhost.local", description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument(
        "--token-file",
        help="keep the token here (mode 600): reused while valid, replaced (and revoked) if not",
    )
    args = parser.parse_args(argv)
    services = Services.create(Settings(data_dir=args.data_dir))
    try:
        print(f"local LXD:     {register_lxd(services)}", flush=True)
        print(f"local libvirt: {register_libvirt(services)}", flush=True)
        token = admin_token(services, args.token_file)
    finally:
        services.close()
    print(f"admin token:   {token}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
