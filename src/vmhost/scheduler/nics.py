"""Where each requested NIC lands: a network per NIC, SR-IOV functions counted.

MAAS's choice: a NIC on a space whose network the host reaches both through a bridge and as a
plain interface goes on the bridge (then a managed network, then the plain interface); on an
LXD host, a plain interface with free SR-IOV virtual functions gives the NIC a virtual function
unless another type is asked for; elsewhere a plain interface is shared through macvlan. A VM
with no NIC is composed only when the request says so (``no_interfaces``).
"""

from __future__ import annotations

import dataclasses

from vmhost import model
from vmhost.model import Check, Failure, Figures, Subject, Unit
from vmhost.model.accounting import HostView, SriovView

from . import capacity as cap

NO_NETWORK = "have no host network to attach the VM's interfaces to"
_NETWORK_PREFERENCE = {model.NetworkKind.BRIDGE: 0, model.NetworkKind.NETWORK: 1}


@dataclasses.dataclass(frozen=True, slots=True)
class NicChoice:
    """The network one requested NIC lands on."""

    name: str
    network: str
    kind: model.NetworkKind
    space: str | None = None


def _default_nic(view: HostView) -> tuple[NicChoice, ...]:
    for name, kind in view.networks:
        if kind in (model.NetworkKind.BRIDGE, model.NetworkKind.NETWORK):
            return (NicChoice("eth0", name, kind),)
    return ()


def _free_pf(view: HostView, networks: tuple[str, ...], taken: dict[str, int]) -> SriovView | None:
    """A physical function on one of ``networks`` with a virtual function still free."""
    return next(
        (
            s
            for s in view.sriov
            if (s.name in networks or s.network in networks)
            and cap.sriov_free_vfs(view, s.name) - taken.get(s.name, 0) > 0
        ),
        None,
    )


def _sriov_failure(
    view: HostView, networks: tuple[str, ...], taken: dict[str, int], subject: Subject
) -> Failure:
    pfs = [s for s in view.sriov if s.name in networks or s.network in networks]
    total = sum(s.total_vfs for s in pfs)
    free = sum(cap.sriov_free_vfs(view, s.name) - taken.get(s.name, 0) for s in pfs)
    return Failure(
        Check.SRIOV,
        f"lack a free SR-IOV virtual function on {'/'.join(networks)}",
        subject,
        Figures(
            Unit.VFS,
            1 + sum(taken.get(s.name, 0) for s in pfs),
            free=free + sum(taken.get(s.name, 0) for s in pfs),
            total=total,
            used=total - free - sum(taken.get(s.name, 0) for s in pfs),
        ),
    )


def _candidates(
    view: HostView, nic: model.InterfaceRequest, subject: Subject
) -> tuple[str, ...] | Failure:
    """The host networks a requested NIC may go on."""
    if nic.network:
        return nic.networks
    if nic.space:
        candidates = tuple(n for s in nic.spaces for n in view.spaces.get(s, ()))
        if not candidates:
            where = " or ".join(repr(s) for s in nic.spaces)
            return Failure(Check.NETWORK, f"have no network in space {where}", subject)
        return candidates
    default = _default_nic(view)
    if not default:
        return Failure(Check.NETWORK, NO_NETWORK, subject)
    return (default[0].network,)


def _choose(
    view: HostView, nic: model.InterfaceRequest, name: str, vfs: dict[str, int]
) -> NicChoice | Failure:
    """Where one NIC goes; a virtual function it takes is counted in ``vfs``."""
    subject = Subject(network=nic.network, space=nic.space, nic=name)
    candidates = _candidates(view, nic, subject)
    if isinstance(candidates, Failure):
        return candidates
    sriov = model.NetworkKind.SRIOV
    if nic.kind is sriov:
        pf = _free_pf(view, candidates, vfs)
        if pf is None:
            return _sriov_failure(view, candidates, vfs, subject)
        vfs[pf.name] = vfs.get(pf.name, 0) + 1
        return NicChoice(name, pf.name, sriov, _space_of(view, nic, (pf.name, pf.network)))
    kinds = dict(view.networks)
    present = [c for c in candidates if c in kinds]
    if not present:
        what = (
            f"space {nic.space!r}"
            if nic.space and not nic.network
            else f"network {candidates[0]!r}"
        )
        return Failure(Check.NETWORK, f"have no {what}", subject)
    network = min(present, key=lambda c: _NETWORK_PREFERENCE.get(kinds[c], 2))
    kind = nic.kind or kinds[network]
    space = _space_of(view, nic, (network,))
    if kind is not model.NetworkKind.PHYSICAL:
        return NicChoice(name, network, kind, space)
    if nic.kind is None and view.type is model.HostType.LXD:
        # LXD gives a plain interface's free virtual functions to NICs (as MAAS did)
        pf = _free_pf(view, (network,), vfs)
        if pf is not None:
            vfs[pf.name] = vfs.get(pf.name, 0) + 1
            return NicChoice(name, pf.name, sriov, space)
    return NicChoice(name, network, model.NetworkKind.MACVLAN, space)


def _space_of(
    view: HostView, nic: model.InterfaceRequest, networks: tuple[str, ...]
) -> str | None:
    """The space asked for that the chosen network is in (the first when several are)."""
    return next((s for s in nic.spaces if set(view.spaces.get(s, ())) & set(networks)), nic.space)


def nic_placement(
    view: HostView, request: model.ComposeRequest
) -> tuple[tuple[NicChoice, ...], tuple[tuple[str, int], ...]] | Failure:
    """The network (and SR-IOV function) of every NIC asked for, or why there is none."""
    if not request.interfaces:
        if request.no_interfaces:
            return (), ()
        default = _default_nic(view)
        if not default:
            return Failure(Check.NETWORK, NO_NETWORK)
        return default, ()
    choices: list[NicChoice] = []
    vfs: dict[str, int] = {}
    for i, nic in enumerate(request.interfaces):
        choice = _choose(view, nic, nic.name or f"eth{i}", vfs)
        if isinstance(choice, Failure):
            return choice
        choices.append(choice)
    return tuple(choices), tuple(sorted(vfs.items()))
