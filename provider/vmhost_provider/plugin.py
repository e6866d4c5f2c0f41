"""``juju-vmhost``: the Juju CLI plugin, so operators type ``juju vmhost ...``.

::

    juju vmhost add-machine --constraints "cores=4 mem=8G spaces=db,^public" [-n 2]
        [--base ubuntu@24.04] [--warm-pool] [--ssh-key ~/.ssh/id_ed25519.pub] [-m MODEL]
    juju vmhost remove-machine 3 [4 ...] [--warm-pool|--no-warm-pool] [-m MODEL] [--force]
    juju vmhost machines

``add-machine`` parses and validates the constraints with Juju's rules and messages
(unsupported keys are warnings on stderr, as Juju logs them), allocates or composes a VM per
machine (:func:`vmhost_provider.allocate.allocate_or_compose`) with cloud-init user data that
installs the operator's SSH public key, waits (bounded) until each VM has an address, and
enlists it with ``juju add-machine ssh:ubuntu@ADDRESS``. When ``juju`` is not on ``PATH`` it
prints those commands instead. A VM that gets no address, or that Juju refuses, is given back
(decomposed, or kept idle with ``--warm-pool``). ``remove-machine`` runs ``juju
remove-machine`` and then decomposes the VM, or with the warm pool releases it for the next
``add-machine --warm-pool``.

Which Juju machine is which VM is kept in ``juju-machines.json`` (mode 600) next to the
vmhost CLI's ``profiles.yaml``, in the user's config directory (``VMHOST_CONFIG_DIR``
overrides it). The server and token come from ``VMHOST_URL`` and ``VMHOST_TOKEN`` when set,
else from the vmhost CLI's login profile (``--profile``, ``VMHOST_PROFILE`` or the default
one: run ``vmhost login`` first). The same commands are available as ``vmhost juju ...``.

The base (``--base``) is checked and recorded; the image a VM boots is the VM host's (the LXD
driver's ``image`` option), as vmhost's compose API has no image field yet.

Exit codes: 0 done; 1 something failed (the server, Juju, a timeout); 2 bad command line,
constraints or local files.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Protocol, TextIO

import platformdirs
import yaml

from vmhost import client as vmclient
from vmhost import schemas
from vmhost_provider.allocate import (
    Allocation,
    AllocationClient,
    NoCapacity,
    allocate_or_compose,
    prepare,
    release,
)
from vmhost_provider.constraints import ConstraintsError
from vmhost_provider.translate import TranslationError

__all__ = ["DESCRIPTION", "PluginError", "cloud_init", "main", "make_client"]

DESCRIPTION: Final = "compose vmhost VMs and enlist them as Juju machines"
STATE_FILE: Final = "juju-machines.json"
PROFILES_FILE: Final = "profiles.yaml"
DEFAULT_KEYS: Final = ("id_ed25519.pub", "id_rsa.pub")
DEFAULT_BASE: Final = "ubuntu@24.04"
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
_BASE_RE: Final = re.compile(r"^[a-z][a-z0-9-]*@[0-9][0-9.]*(/[a-z]+)?$")
_CREATED_RE: Final = re.compile(r"created machine (\S+)")
_SSH_KEY_RE: Final = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+"
    r"|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$"
)


class PluginError(Exception):
    """A failure to report as ``ERROR <message>``; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --------------------------------------------------------------------------------------
# Where things are: config dir, profile, state file
# --------------------------------------------------------------------------------------


def config_dir() -> Path:
    """The vmhost CLI's config directory (``VMHOST_CONFIG_DIR`` overrides it)."""
    return Path(os.environ.get("VMHOST_CONFIG_DIR") or platformdirs.user_config_dir("vmhost"))


def _profile(name: str | None) -> tuple[str, str, bool | str]:
    """(url, token, verify) from ``VMHOST_URL``/``VMHOST_TOKEN`` or a vmhost login profile."""
    url, token = os.environ.get("VMHOST_URL"), os.environ.get("VMHOST_TOKEN")
    if url and token and not name:
        return url, token, os.environ.get("VMHOST_CA_CERT") or True
    path = config_dir() / PROFILES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        data = {}
    except (OSError, yaml.YAMLError) as exc:
        raise PluginError(f"cannot read {path}: {exc}".splitlines()[0], EXIT_USAGE) from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    profiles = profiles if isinstance(profiles, dict) else {}
    chosen = name or os.environ.get("VMHOST_PROFILE") or data.get("default")
    if not chosen:
        raise PluginError(
            "not logged in to vmhost: run 'vmhost login PROFILE URL TOKEN' "
            "(or set VMHOST_URL and VMHOST_TOKEN)",
            EXIT_USAGE,
        )
    entry = profiles.get(chosen)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise PluginError(f"no vmhost profile named {chosen!r} (profiles: {known})", EXIT_USAGE)
    verify = entry.get("verify", True)
    return str(entry.get("url", "")), str(entry.get("token", "")), verify


def make_client(profile: str | None) -> vmclient.VmHostClient:
    """The vmhost client for a profile (tests replace this)."""
    url, token, verify = _profile(profile)
    return vmclient.VmHostClient(url, token, verify=verify)


@dataclasses.dataclass
class Machine:
    """A Juju machine made from a vmhost VM (one entry of the state file)."""

    machine: str  # Juju's machine id; "" when juju was not run
    vm_id: int
    vm_name: str
    address: str
    model: str = ""
    server: str = ""
    warm_pool: bool = False
    owner: str = ""


class State:
    """``juju-machines.json``: Juju machine ids <-> vmhost VM ids (mode 600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Machine]:
        """Every recorded machine."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise PluginError(f"cannot read {self.path}: {exc}", EXIT_USAGE) from None
        try:
            return [Machine(**item) for item in data.get("machines", [])]
        except (TypeError, AttributeError) as exc:
            raise PluginError(f"{self.path} is not a juju-vmhost state file: {exc}") from None

    def save(self, machines: Sequence[Machine]) -> None:
        """Write atomically, mode 600."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".juju-machines.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"machines": [dataclasses.asdict(m) for m in machines]}, f, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.chmod(self.path, 0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (two plugins running at once lose nothing)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def add(self, machine: Machine) -> None:
        """Record one more machine."""
        with self._locked():
            self.save([*self.load(), machine])

    def remove(self, machine: Machine) -> None:
        """Forget a machine."""
        with self._locked():
            self.save([m for m in self.load() if m != machine])


# --------------------------------------------------------------------------------------
# Pieces of add-machine
# --------------------------------------------------------------------------------------


def read_ssh_key(path: str | None) -> str:
    """The operator's SSH public key: ``path``, else ``~/.ssh/id_ed25519.pub`` or
    ``~/.ssh/id_rsa.pub``. PluginError (usage) when there is none or it is not a key."""
    candidates = (
        [Path(path).expanduser()] if path else [Path.home() / ".ssh" / k for k in DEFAULT_KEYS]
    )
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PluginError(
                f"cannot read SSH key {candidate}: {exc.strerror}", EXIT_USAGE
            ) from None
        key = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if not _SSH_KEY_RE.match(key) or "PRIVATE KEY" in text:
            raise PluginError(f"{candidate} is not an SSH public key", EXIT_USAGE)
        return key
    if path:
        raise PluginError(f"SSH key {path} does not exist", EXIT_USAGE)
    looked = " or ".join(str(c) for c in candidates)
    raise PluginError(f"no SSH public key: give --ssh-key FILE (looked for {looked})", EXIT_USAGE)


def cloud_init(ssh_key: str, user: str = "ubuntu") -> str:
    """Cloud-init user data that lets ``user`` in with ``ssh_key`` (Juju's manual
    provisioning logs in as ``user`` and needs password-less sudo, which the ubuntu default
    user has)."""
    data: dict[str, Any] = {"ssh_authorized_keys": [ssh_key]}
    if user != "ubuntu":
        data["users"] = [
            "default",
            {
                "name": user,
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "shell": "/bin/bash",
                "ssh_authorized_keys": [ssh_key],
            },
        ]
    return "#cloud-config\n" + yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def best_address(addresses: Sequence[str]) -> str | None:
    """The address to reach a VM by: the first global IPv4, else the first global IPv6."""
    parsed = []
    for text in addresses:
        try:
            parsed.append(ipaddress.ip_address(text.split("/")[0]))
        except ValueError:
            continue
    usable = [a for a in parsed if not (a.is_loopback or a.is_link_local or a.is_unspecified)]
    for version in (4, 6):
        for address in usable:
            if address.version == version:
                return str(address)
    return None


class AddressClient(AllocationClient, Protocol):
    """What waiting for addresses needs besides allocation."""

    def refresh_vm(self, vm_id: int) -> schemas.Vm: ...


def wait_for_addresses(
    client: AddressClient,
    vm_ids: Sequence[int],
    timeout_s: float,
    *,
    on_wait: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, str]:
    """Each VM's address, polling the hosts (bounded by ``timeout_s``); VMs still without one
    are missing from the answer."""
    deadline = time.monotonic() + timeout_s
    found: dict[int, str] = {}
    delay = 0.2
    while True:
        for vm_id in vm_ids:
            if vm_id not in found:
                address = best_address(client.refresh_vm(vm_id).addresses)
                if address is not None:
                    found[vm_id] = address
        pending = [v for v in vm_ids if v not in found]
        if not pending or time.monotonic() + delay > deadline:
            return found
        if on_wait is not None:
            on_wait(len(pending))
        sleep(delay)
        delay = min(delay * 2, 3.0)


def wait_for_ssh(address: str, timeout_s: float, port: int = 22) -> bool:
    """Whether ``address:port`` accepts a TCP connection within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            with socket.create_connection((address, port), timeout=min(remaining, 5)):
                return True
        except OSError:
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))


# --------------------------------------------------------------------------------------
# Running juju
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Juju:
    """``juju`` on PATH (``path`` None: absent, commands are printed instead)."""

    path: str | None
    model: str = ""
    timeout_s: float = 3600

    @classmethod
    def find(cls, model: str = "", timeout_s: float = 3600) -> Juju:
        """The juju on PATH, if any."""
        return cls(shutil.which("juju"), model, timeout_s)

    def command(self, *args: str) -> list[str]:
        """``juju ARGS [-m MODEL]``."""
        return ["juju", *args, *(["-m", self.model] if self.model else [])]

    def run(self, *args: str) -> str:
        """Run juju; its combined output. PluginError when it fails or times out."""
        assert self.path is not None
        argv = [self.path, *self.command(*args)[1:]]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise PluginError(
                f"{' '.join(self.command(*args))}: no answer after {self.timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise PluginError(f"cannot run {self.path}: {exc.strerror}") from None
        output = (done.stdout or "") + (done.stderr or "")
        if done.returncode != 0:
            last = output.strip().splitlines()[-1] if output.strip() else f"exit {done.returncode}"
            raise PluginError(f"{' '.join(self.command(*args))} failed: {last}")
        return output


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


def _say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def _give_back(
    client: AllocationClient, allocation: Allocation, warm_pool: bool, err: TextIO
) -> None:
    """Undo an allocation that did not become a machine (best effort, said on stderr)."""
    try:
        kept = release(client, allocation.vm_id, warm_pool=warm_pool)
    except vmclient.ClientError as exc:
        _say(err, f"ERROR cannot give back VM {allocation.vm.name}: {exc}")
        return
    how = "released to the warm pool" if kept else "decomposed"
    _say(err, f"VM {allocation.vm.name} {how}")


def _check_add(args: argparse.Namespace, client: AllocationClient, err: TextIO) -> str:
    """Check the command line and constraints (warnings on stderr); the cloud-init data."""
    if args.n < 1:
        raise PluginError("-n must be at least 1", EXIT_USAGE)
    if not _BASE_RE.match(args.base):
        raise PluginError(
            f'invalid base "{args.base}": expected <os>@<channel>, e.g. ubuntu@24.04',
            EXIT_USAGE,
        )
    try:
        _, _, unsupported = prepare(
            args.constraints,
            storage=args.storage,
            interfaces=args.interfaces,
            known_spaces=lambda: {s.space for s in client.list_spaces()},
        )
    except (ConstraintsError, TranslationError) as exc:
        raise PluginError(str(exc), EXIT_USAGE) from None
    if unsupported:
        _say(err, f"WARNING unsupported constraints: {','.join(unsupported)}")
    return cloud_init(read_ssh_key(args.ssh_key), args.user)


def _allocate(
    args: argparse.Namespace, client: AllocationClient, owner: str, user_data: str, err: TextIO
) -> tuple[list[Allocation], PluginError | None]:
    """Up to ``-n`` allocations; stops at the first failure (returned, not raised)."""
    made: list[Allocation] = []
    for _ in range(args.n):
        try:
            allocation = allocate_or_compose(
                client,
                args.constraints,
                owner=owner,
                storage=args.storage,
                interfaces=args.interfaces,
                warm_pool=args.warm_pool,
                user_data=user_data,
            )
        except (NoCapacity, vmclient.ClientError) as exc:
            return made, PluginError(str(exc))
        how = "reused idle VM" if allocation.reused else "composed VM"
        _say(err, f"{how} {allocation.vm.name} (id {allocation.vm_id}) on {allocation.host}")
        made.append(allocation)
    return made, None


def _enlist(
    args: argparse.Namespace, juju: Juju, allocation: Allocation, address: str, out: TextIO
) -> str:
    """``juju add-machine ssh:USER@ADDRESS`` (printed when juju is absent): the machine id
    ("" when juju did not run). PluginError when SSH or juju fails."""
    name = allocation.vm.name
    if args.ssh_wait > 0 and not wait_for_ssh(address, args.ssh_wait):
        raise PluginError(
            f"{address} ({name}) does not answer on port 22 after {args.ssh_wait:g} s"
        )
    target = f"ssh:{args.user}@{address}"
    if juju.path is None:
        _say(out, " ".join(juju.command("add-machine", target)))
        return ""
    found = _CREATED_RE.search(juju.run("add-machine", target))
    machine = found.group(1) if found else ""
    _say(out, f"created machine {machine or '?'} ({name}, {address})")
    return machine


def add_machine(args: argparse.Namespace, client: AddressClient, out: TextIO, err: TextIO) -> int:
    """``juju vmhost add-machine``."""
    user_data = _check_add(args, client, err)
    owner = args.owner or (f"juju:{args.model}" if args.model else "juju")
    juju = Juju.find(args.model, args.juju_timeout)
    state = State(config_dir() / STATE_FILE)
    made, failure = _allocate(args, client, owner, user_data, err)
    if made:
        _say(err, f"waiting for the address of {len(made)} VM(s) (up to {args.timeout:g} s)")
    addresses = wait_for_addresses(client, [a.vm_id for a in made], args.timeout)
    code = 0
    for allocation in made:
        address = addresses.get(allocation.vm_id)
        try:
            if address is None:
                raise PluginError(
                    f"VM {allocation.vm.name} has no address after {args.timeout:g} s"
                )
            machine = _enlist(args, juju, allocation, address, out)
        except PluginError as exc:
            _say(err, f"ERROR {exc}")
            _give_back(client, allocation, args.warm_pool, err)
            code = EXIT_FAILED
            continue
        state.add(
            Machine(
                machine=machine,
                vm_id=allocation.vm_id,
                vm_name=allocation.vm.name,
                address=address,
                model=args.model,
                server=str(getattr(client, "url", "")),
                warm_pool=args.warm_pool,
                owner=owner,
            )
        )
    if juju.path is None and made:
        _say(err, "juju is not on PATH: run the command(s) above to enlist the machine(s)")
    if failure is not None:
        raise failure
    return code


def _select(machines: list[Machine], args: argparse.Namespace) -> list[Machine]:
    chosen: list[Machine] = []
    for key in args.machines:
        by_vm = key.startswith("vm:")
        found = [
            m
            for m in machines
            if (str(m.vm_id) == key[3:] if by_vm else m.machine == key)
            and (by_vm or not args.model or m.model == args.model)
        ]
        if not found:
            what = f"VM {key[3:]}" if by_vm else f"machine {key}"
            raise PluginError(
                f"{what} was not added by 'juju vmhost add-machine' (see 'juju vmhost machines')",
                EXIT_USAGE,
            )
        if len(found) > 1:
            raise PluginError(
                f"machine {key} is known in several models; say which with -m", EXIT_USAGE
            )
        chosen.append(found[0])
    return chosen


def remove_machine(
    args: argparse.Namespace, client: AllocationClient, out: TextIO, err: TextIO
) -> int:
    """``juju vmhost remove-machine``."""
    state = State(config_dir() / STATE_FILE)
    chosen = _select(state.load(), args)
    code = 0
    for machine in chosen:
        juju = Juju.find(args.model or machine.model, args.juju_timeout)
        if machine.machine:
            extra = ["--force"] if args.force else []
            if juju.path is None:
                _say(out, " ".join(juju.command("remove-machine", machine.machine, *extra)))
            else:
                try:
                    juju.run("remove-machine", machine.machine, *extra)
                except PluginError as exc:
                    _say(err, f"ERROR {exc} (VM {machine.vm_name} kept)")
                    code = EXIT_FAILED
                    continue
                _say(out, f"removed machine {machine.machine}")
        warm = machine.warm_pool if args.warm_pool is None else args.warm_pool
        try:
            kept = release(client, machine.vm_id, warm_pool=warm)
        except vmclient.NotFoundError:
            _say(err, f"VM {machine.vm_name} (id {machine.vm_id}) was already gone")
        except vmclient.ClientError as exc:
            _say(err, f"ERROR cannot give back VM {machine.vm_name}: {exc}")
            code = EXIT_FAILED
            continue
        else:
            how = "released to the warm pool" if kept else "decomposed"
            _say(out, f"VM {machine.vm_name} (id {machine.vm_id}) {how}")
        state.remove(machine)
    return code


def list_machines(out: TextIO) -> int:
    """``juju vmhost machines``: the state file as a table."""
    machines = State(config_dir() / STATE_FILE).load()
    rows = [("MACHINE", "MODEL", "VM", "NAME", "ADDRESS", "WARM-POOL")]
    rows += [
        (
            m.machine or "-",
            m.model or "-",
            str(m.vm_id),
            m.vm_name,
            m.address,
            "yes" if m.warm_pool else "no",
        )
        for m in machines
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        _say(out, "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The argument parser (``juju vmhost --help``)."""
    top = argparse.ArgumentParser(
        prog="juju vmhost",
        description=f"{DESCRIPTION[0].upper()}{DESCRIPTION[1:]}.",
    )
    top.add_argument("--description", action="store_true", help=argparse.SUPPRESS)
    top.add_argument(
        "--profile",
        "-p",
        help="vmhost login profile (default: VMHOST_PROFILE, else the default profile)",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    add = sub.add_parser("add-machine", help="compose VMs and enlist them as Juju machines")
    add.add_argument("--constraints", default="", help='Juju constraints, e.g. "cores=4 mem=8G"')
    add.add_argument("--base", default=DEFAULT_BASE, help="e.g. ubuntu@24.04 (recorded)")
    add.add_argument("-n", type=int, default=1, help="how many machines (default 1)")
    add.add_argument(
        "--warm-pool",
        action="store_true",
        help="reuse an idle VM that matches; keep VMs idle on removal",
    )
    add.add_argument(
        "--ssh-key",
        help="SSH public key to install (default ~/.ssh/id_ed25519.pub or ~/.ssh/id_rsa.pub)",
    )
    add.add_argument("--storage", help="MAAS storage grammar, e.g. root:40(ssd),data:100")
    add.add_argument("--interfaces", help="MAAS interfaces grammar, e.g. eth0:space=db")
    add.add_argument("-m", "--model", default="", help="Juju model")
    add.add_argument("--user", default="ubuntu", help="SSH user Juju logs in as")
    add.add_argument("--owner", default="", help="vmhost owner (default juju[:MODEL])")
    add.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for addresses (default 300)"
    )
    add.add_argument(
        "--ssh-wait",
        type=float,
        default=120,
        help="seconds to wait for SSH to answer; 0 skips (default 120)",
    )
    add.add_argument("--juju-timeout", type=float, default=3600, help=argparse.SUPPRESS)

    remove = sub.add_parser(
        "remove-machine", help="remove Juju machines and decompose (or keep idle) their VMs"
    )
    remove.add_argument(
        "machines",
        nargs="+",
        metavar="ID",
        help="Juju machine id (or vm:VM_ID for one juju was not run for)",
    )
    remove.add_argument("-m", "--model", default="", help="Juju model")
    remove.add_argument("--force", action="store_true", help="juju remove-machine --force")
    pool = remove.add_mutually_exclusive_group()
    pool.add_argument(
        "--warm-pool",
        dest="warm_pool",
        action="store_true",
        default=None,
        help="keep the VM idle for reuse",
    )
    pool.add_argument(
        "--no-warm-pool",
        dest="warm_pool",
        action="store_false",
        help="decompose the VM (default: as at add-machine)",
    )
    remove.add_argument("--juju-timeout", type=float, default=3600, help=argparse.SUPPRESS)

    sub.add_parser("machines", help="the machines added by juju vmhost")
    return top


@contextlib.contextmanager
def _client(profile: str | None) -> Iterator[vmclient.VmHostClient]:
    api = make_client(profile)
    try:
        yield api
    finally:
        api.close()


def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Run one command; the exit code."""
    args = parser().parse_args(list(argv))
    if args.description:
        _say(out, DESCRIPTION)
        return 0
    if args.command is None:
        parser().print_help(out)
        return EXIT_USAGE
    if args.command == "machines":
        return list_machines(out)
    with _client(args.profile) as api:
        if args.command == "add-machine":
            return add_machine(args, api, out, err)
        return remove_machine(args, api, out, err)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``juju-vmhost``."""
    out, err = sys.stdout, sys.stderr
    try:
        return run(sys.argv[1:] if argv is None else argv, out, err)
    except PluginError as exc:
        _say(err, f"ERROR {exc.message}")
        return exc.code
    except vmclient.ClientError as exc:
        _say(err, f"ERROR {exc}")
        return EXIT_FAILED
    except SystemExit as exc:  # argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
