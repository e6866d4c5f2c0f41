"""``add-machine``, ``remove-machine`` and ``machines``: one function per command."""

from __future__ import annotations

import argparse
import re
from typing import Final, Protocol, TextIO

from vmhost import client as vmclient
from vmhost_provider.allocate import (
    Allocation,
    AllocationClient,
    NoCapacity,
    SpacesApi,
    VmsApi,
    allocate_or_compose,
    prepare,
    release,
)
from vmhost_provider.constraints import ConstraintsError
from vmhost_provider.translate import TranslationError

from .cloud_init import Refresh, cloud_init, read_ssh_key, wait_for_addresses, wait_for_ssh
from .errors import EXIT_FAILED, EXIT_USAGE, PluginError
from .juju import Juju
from .state import STATE_FILE, Machine, State, config_dir

_BASE_RE: Final = re.compile(r"^[a-z][a-z0-9-]*@[0-9][0-9.]*(/[a-z]+)?$")
_CREATED_RE: Final = re.compile(r"created machine (\S+)")
DEFAULT_BASE: Final = "ubuntu@24.04"


class PluginVms(VmsApi, Refresh, Protocol):
    """The part of ``client.vms`` the commands use."""


class PluginClient(Protocol):
    """What the commands need of a :class:`vmhost.client.VmHostClient`."""

    @property
    def vms(self) -> PluginVms: ...

    @property
    def spaces(self) -> SpacesApi: ...


def say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def _give_back(
    client: AllocationClient, allocation: Allocation, warm_pool: bool, err: TextIO
) -> None:
    """Undo an allocation that did not become a machine (best effort, said on stderr)."""
    try:
        kept = release(client, allocation.vm_id, warm_pool=warm_pool)
    except vmclient.ClientError as exc:
        say(err, f"ERROR cannot give back VM {allocation.vm.name}: {exc}")
        return
    how = "released to the warm pool" if kept else "decomposed"
    say(err, f"VM {allocation.vm.name} {how}")


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
            known_spaces=lambda: {s.space for s in client.spaces.list()},
        )
    except (ConstraintsError, TranslationError) as exc:
        raise PluginError(str(exc), EXIT_USAGE) from None
    if unsupported:
        say(err, f"WARNING unsupported constraints: {','.join(unsupported)}")
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
        say(err, f"{how} {allocation.vm.name} (id {allocation.vm_id}) on {allocation.host}")
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
        say(out, " ".join(juju.command("add-machine", target)))
        return ""
    found = _CREATED_RE.search(juju.run("add-machine", target))
    machine = found.group(1) if found else ""
    say(out, f"created machine {machine or '?'} ({name}, {address})")
    return machine


def add_machine(args: argparse.Namespace, client: PluginClient, out: TextIO, err: TextIO) -> int:
    """``juju vmhost add-machine``."""
    user_data = _check_add(args, client, err)
    owner = args.owner or (f"juju:{args.model}" if args.model else "juju")
    juju = Juju.find(args.model, args.juju_timeout)
    state = State(config_dir() / STATE_FILE)
    made, failure = _allocate(args, client, owner, user_data, err)
    if made:
        say(err, f"waiting for the address of {len(made)} VM(s) (up to {args.timeout:g} s)")
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
            say(err, f"ERROR {exc}")
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
        say(err, "juju is not on PATH: run the command(s) above to enlist the machine(s)")
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
                say(out, " ".join(juju.command("remove-machine", machine.machine, *extra)))
            else:
                try:
                    juju.run("remove-machine", machine.machine, *extra)
                except PluginError as exc:
                    say(err, f"ERROR {exc} (VM {machine.vm_name} kept)")
                    code = EXIT_FAILED
                    continue
                say(out, f"removed machine {machine.machine}")
        warm = machine.warm_pool if args.warm_pool is None else args.warm_pool
        try:
            kept = release(client, machine.vm_id, warm_pool=warm)
        except vmclient.NotFoundError:
            say(err, f"VM {machine.vm_name} (id {machine.vm_id}) was already gone")
        except vmclient.ClientError as exc:
            say(err, f"ERROR cannot give back VM {machine.vm_name}: {exc}")
            code = EXIT_FAILED
            continue
        else:
            how = "released to the warm pool" if kept else "decomposed"
            say(out, f"VM {machine.vm_name} (id {machine.vm_id}) {how}")
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
        say(out, "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
