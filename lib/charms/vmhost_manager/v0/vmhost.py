"""Library for the `vmhost` interface: ask a vmhost-manager for virtual machines.

A charm that needs machines (the *requirer*) writes a Juju constraint string and a count in its
application databag. vmhost-manager (the *provider*) composes VMs that satisfy them and answers
in its application databag with the machines (id, hostname, addresses), or with an error that
says why it could not (then it keeps what it composed and tries again at a later event).
A smaller count decomposes the newest machines; removing the relation decomposes them all.
As with Juju's own constraints, changed constraints apply to machines composed afterwards.
Only leaders write; every field is optional and an empty databag parses, so either side may be
older or newer than the other.

Wire format (each value JSON-encoded, as `ops.Relation.save` does; absent keys mean "unset"):

    requirer app databag:  constraints = "cores=2 mem=4G root-disk=20G"   count = 3
    provider app databag:  machines = [{"id": 7, "hostname": "vm-7", "addresses": ["10.0.0.5"]}]
                           addresses = ["10.0.0.5"]   (every machine's, flattened)
                           error = "no VM host can satisfy constraint mem=..."

Requirer side:

    from charms.vmhost_manager.v0 import vmhost

    class MyCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self._vms = vmhost.VmHostRequirer(self, "vm-host")
            framework.observe(self.on["vm-host"].relation_created, self._on_vm_host_created)
            framework.observe(self._vms.on.vms_changed, self._on_vms_changed)

        def _on_vm_host_created(self, _: ops.RelationCreatedEvent):
            if self.unit.is_leader():
                self._vms.request("cores=2 mem=4G", count=3)

        def _on_vms_changed(self, _: vmhost.VmsChangedEvent):
            answer = self._vms.answer()
            if answer.error:
                ...  # e.g. Blocked status with answer.error
            for machine in answer.machines or []:
                ...  # machine.id, machine.hostname, machine.addresses

Provider side (vmhost-manager):

    self._vm_host = vmhost.VmHostProvider(self, "vm-host")
    framework.observe(self._vm_host.on.vm_requested, self._reconcile)
    ...
    for request in self._vm_host.requests():   # leader only, in _reconcile
        machine = vmhost.MachineData(id=7, hostname="vm-7", addresses=["10.0.0.5"])
        self._vm_host.answer(request.relation_id, machines=[machine])

metadata.yaml: `requires: {vm-host: {interface: vmhost}}` on the requirer,
`provides: {vm-host: {interface: vmhost}}` on the provider. Libraries never set status: the
charm decides what an error means for it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TypeVar

import ops
import pydantic

# The unique Charmhub library identifier, never change it
LIBID = "44b8193ad923481bac71254324ff8e89"

# Increment this major API version when introducing breaking changes
LIBAPI = 0

# Increment this PATCH version before using `charmcraft publish-lib` or reset
# to 0 if you are raising the major API version
LIBPATCH = 2

PYDEPS = ["pydantic>=2"]

DEFAULT_ENDPOINT = "vm-host"

logger = logging.getLogger(__name__)

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)


class RequirerAppData(pydantic.BaseModel):
    """What a requirer asks for. Unknown keys are ignored; every field may be absent."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    constraints: str | None = pydantic.Field(
        default=None,
        description="Juju constraints for each VM, e.g. 'cores=2 mem=4G root-disk=20G'.",
    )
    count: int | None = pydantic.Field(
        default=None, ge=0, description="How many VMs the requirer wants; absent means 1."
    )


class MachineData(pydantic.BaseModel):
    """One machine given to the requirer."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    id: int = pydantic.Field(description="The machine's id in vmhost.")
    hostname: str = pydantic.Field(description="Its hostname.")
    addresses: list[str] = pydantic.Field(
        default_factory=list, description="Its IP addresses (empty until it has one)."
    )


class ProviderAppData(pydantic.BaseModel):
    """The provider's answer. Unknown keys are ignored; every field may be absent."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    machines: list[MachineData] | None = pydantic.Field(
        default=None, description="The machines composed for this requirer."
    )
    addresses: list[str] | None = pydantic.Field(
        default=None, description="Addresses of the VMs composed for this requirer."
    )
    error: str | None = pydantic.Field(
        default=None, description="Why the request cannot be (fully) met, for the operator."
    )


@dataclasses.dataclass(frozen=True)
class VmRequest:
    """One requirer application's request, as the provider sees it."""

    relation_id: int
    app_name: str
    constraints: str
    count: int


class VmRequestedEvent(ops.RelationEvent):
    """A requirer wrote or changed its request."""


class VmsChangedEvent(ops.RelationEvent):
    """The provider wrote or changed its answer."""


class VmHostProviderEvents(ops.ObjectEvents):
    """Events the provider side emits."""

    vm_requested = ops.EventSource(VmRequestedEvent)


class VmHostRequirerEvents(ops.ObjectEvents):
    """Events the requirer side emits."""

    vms_changed = ops.EventSource(VmsChangedEvent)


def _load(
    relation: ops.Relation, source: ops.Application | ops.Unit, cls: type[_ModelT]
) -> _ModelT:
    """Read a databag into `cls`; a malformed databag reads as empty (and is logged)."""
    try:
        return relation.load(cls, source)
    except ValueError as error:  # json.JSONDecodeError and pydantic.ValidationError both are
        logger.warning("ignoring malformed %s data from %s: %s", relation.name, source.name, error)
        return cls()


def _save(relation: ops.Relation, destination: ops.Application, data: pydantic.BaseModel) -> None:
    """Write `data` to a databag: JSON per field, and unset fields removed rather than 'null'."""
    content = relation.data[destination]
    for key, value in data.model_dump(mode="json").items():
        content[key] = "" if value is None else json.dumps(value)


class VmHostProvider(ops.Object):
    """The vmhost-manager side: reads requests, writes answers (leader only)."""

    on = VmHostProviderEvents()  # pyright: ignore[reportAssignmentType]

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_ENDPOINT):
        super().__init__(charm, relation_name)
        self._relation_name = relation_name
        charm.framework.observe(charm.on[relation_name].relation_changed, self._on_changed)

    def _on_changed(self, event: ops.RelationChangedEvent) -> None:
        if event.app is not None and _load(event.relation, event.app, RequirerAppData).constraints:
            self.on.vm_requested.emit(event.relation, app=event.app, unit=event.unit)

    def requests(self) -> list[VmRequest]:
        """Every related application's current request (those with constraints)."""
        found: list[VmRequest] = []
        for relation in self.model.relations[self._relation_name]:
            if relation.app is None:
                continue
            data = _load(relation, relation.app, RequirerAppData)
            if data.constraints is None:
                continue
            count = 1 if data.count is None else data.count
            found.append(VmRequest(relation.id, relation.app.name, data.constraints, count))
        return found

    def answer(
        self,
        relation_id: int,
        *,
        machines: list[MachineData] | None = None,
        addresses: list[str] | None = None,
        error: str | None = None,
    ) -> None:
        """Publish the answer to one relation's request. Only the leader may call this.

        `addresses` defaults to every machine's addresses.
        """
        relation = self.model.get_relation(self._relation_name, relation_id)
        if relation is None:
            raise KeyError(f"no {self._relation_name} relation with id {relation_id}")
        if addresses is None and machines is not None:
            addresses = [address for machine in machines for address in machine.addresses]
        data = ProviderAppData(machines=machines, addresses=addresses, error=error)
        _save(relation, self.model.app, data)


class VmHostRequirer(ops.Object):
    """The side that wants VMs: writes its request (leader only), reads the answer."""

    on = VmHostRequirerEvents()  # pyright: ignore[reportAssignmentType]

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_ENDPOINT):
        super().__init__(charm, relation_name)
        self._relation_name = relation_name
        charm.framework.observe(charm.on[relation_name].relation_changed, self._on_changed)

    def _on_changed(self, event: ops.RelationChangedEvent) -> None:
        if event.app is not None:
            self.on.vms_changed.emit(event.relation, app=event.app, unit=event.unit)

    def request(self, constraints: str, count: int = 1) -> None:
        """Ask every related provider for `count` VMs matching `constraints` (leader only)."""
        data = RequirerAppData(constraints=constraints, count=count)
        for relation in self.model.relations[self._relation_name]:
            _save(relation, self.model.app, data)

    def answer(self) -> ProviderAppData:
        """The provider's answer; empty when there is no relation or no answer yet."""
        relation = self.model.get_relation(self._relation_name)
        if relation is None or relation.app is None:
            return ProviderAppData()
        return _load(relation, relation.app, ProviderAppData)
