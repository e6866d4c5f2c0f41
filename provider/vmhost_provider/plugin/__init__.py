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

Modules: :mod:`.commands` (the commands), :mod:`.state` (config directory, profiles, the state
file), :mod:`.cloud_init` (SSH key, user data, waiting for addresses), :mod:`.juju` (running
juju).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Final, TextIO

from vmhost import client as vmclient

from .cloud_init import best_address, cloud_init
from .commands import DEFAULT_BASE, add_machine, list_machines, remove_machine, say
from .errors import EXIT_FAILED, EXIT_USAGE, PluginError
from .state import STATE_FILE, Machine, State, make_client

__all__ = [
    "DESCRIPTION",
    "STATE_FILE",
    "Machine",
    "PluginError",
    "State",
    "best_address",
    "cloud_init",
    "main",
    "make_client",
]

DESCRIPTION: Final = "compose vmhost VMs and enlist them as Juju machines"


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
        say(out, DESCRIPTION)
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
        say(err, f"ERROR {exc.message}")
        return exc.code
    except vmclient.ClientError as exc:
        say(err, f"ERROR {exc}")
        return EXIT_FAILED
    except SystemExit as exc:  # argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
