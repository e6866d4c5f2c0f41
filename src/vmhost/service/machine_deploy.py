"""MAAS deploy: realise a reservation on its host with the series' image and the caller's
cloud-init, in the background.

``start`` checks and records the deploy (``Deploying``) and returns the work to run in the
background (the API's operations pool); ``realise`` composes the VM with its reserved
resources, MACs and name, then waits until it runs with an IPv4 address on its boot NIC
(``Deployed``). A driver error or the timeout is ``Failed deployment`` with the reason in
``status_message``; a failed VM's instance is removed, its reservation kept.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import ipaddress
import logging
import time
from collections.abc import Callable, Sequence

from vmhost import model, store
from vmhost.drivers import base

from .context import Context
from .machines import MachinesService

log = logging.getLogger("vmhost.service.machines")

Status = model.MaasStatus
DEPLOY_TIMEOUT_S = 900.0
POLL_INTERVAL_S = 1.0
MAX_USER_DATA_BYTES = 1_000_000


def decode_user_data(value: str | None) -> str:
    """MAAS's ``user_data``: base64 (whitespace ignored) of the cloud-init text, gzipped or
    not; 400 naming the field when it is not that."""
    if not value:
        return ""
    compact = "".join(value.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise model.InvalidInputError.for_field(
            "user_data", "user_data: not base64 (send the cloud-init data base64-encoded)"
        ) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            raise model.InvalidInputError.for_field(
                "user_data", "user_data: its gzip data is corrupt"
            ) from None
    if len(raw) > MAX_USER_DATA_BYTES:
        raise model.InvalidInputError.for_field(
            "user_data", f"user_data: more than {MAX_USER_DATA_BYTES} bytes once decoded"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise model.InvalidInputError.for_field(
            "user_data", "user_data: cloud-init data must be text (UTF-8) once decoded"
        ) from None


def _ipv4(addresses: tuple[str, ...]) -> str | None:
    for address in addresses:
        try:
            if isinstance(ipaddress.ip_address(address.split("/")[0]), ipaddress.IPv4Address):
                return address
        except ValueError:
            continue
    return None


def record_failed(
    ctx: Context, vm: model.Vm, reason: str, *, expect_status: Sequence[Status] = ()
) -> None:
    """Failed deployment with its reason: the record back to a reservation, powered off and
    with no addresses (its instance is gone)."""
    with ctx.db.write() as conn:
        store.vms.update_vm(
            conn,
            dataclasses.replace(vm, state=model.VmState.RESERVED, power_state="off", addresses=()),
        )
        store.machines.set_machine(
            conn,
            vm.id,
            {
                "maas_status": Status.FAILED_DEPLOYMENT.value,
                "status_message": f"Failed deployment: {reason}"[:1000],
            },
            expect_status=expect_status,
        )


INTERRUPTED = "vmhost restarted during the deploy; release the machine or deploy it again"


def settle_interrupted(ctx: Context, before: float) -> list[model.Machine]:
    """Deploys a restart cut short (their background work is gone): Failed deployment, any
    instance they had made removed (decompose is idempotent), their reservation kept. Hosts
    that cannot be reached are left for next time."""
    with ctx.db.read() as conn:
        stale = store.machines.stale_deploys(conn, before)
    settled = []
    for machine in stale:
        vm = machine.vm
        try:
            with ctx.driver(vm.host_id) as driver:
                driver.decompose(vm.name, vm.disks)
        except base.DriverError as exc:
            log.warning("machine %s: host unreachable, left for later: %s", machine.system_id, exc)
            continue
        record_failed(ctx, vm, INTERRUPTED, expect_status=[Status.DEPLOYING])
        settled.append(machine)
    return settled


class MachineDeployService:
    """Deploy machines."""

    def __init__(self, ctx: Context, machines: MachinesService) -> None:
        self.ctx = ctx
        self.machines = machines
        self.timeout_s = DEPLOY_TIMEOUT_S
        self.poll_interval_s = POLL_INTERVAL_S

    def start(
        self, system_id: str, owner: str, distro_series: str, user_data: str | None
    ) -> tuple[model.Machine, Callable[[], None]]:
        """Record the deploy (``Deploying``) and return the machine and the background work.
        A Ready machine is allocated to ``owner`` first, as MAAS does."""
        machine = self.machines.get(system_id)
        if machine.vm.owner not in ("", owner):
            raise model.MachineForbiddenError(f"Machine {system_id} is allocated to someone else.")
        status = machine.fields.status
        if status not in (Status.READY, Status.ALLOCATED):
            raise model.ConflictError(
                f"Can't deploy a machine that is in the '{status.value}' state"
            )
        cloud_init = decode_user_data(user_data)
        with self.ctx.db.read() as conn:
            options = store.hosts.credentials(conn, machine.vm.host_id).get("options") or {}
        series, image = model.image_for_series(options, distro_series)
        with self.ctx.db.write() as conn:
            won = store.machines.set_machine(
                conn,
                machine.vm.id,
                {
                    "owner": owner,
                    "maas_status": Status.DEPLOYING.value,
                    "status_message": "Deploying",
                    "distro_series": series,
                    "osystem": "ubuntu" if series in model.DEFAULT_SERIES_IMAGES else "custom",
                    "user_data": cloud_init,
                },
                expect_status=[status],
                expect_owner=machine.vm.owner,
            )
            after = store.machines.get_machine(conn, machine.vm.id)
        if not won or after is None:
            raise model.ConflictError(
                f"Machine {system_id} changed while the deploy was being recorded; try again."
            )
        log.info("deploying machine %s (%s) with %s", system_id, series, image)
        return after, lambda: self.realise(after.vm.id, image)

    def realise(self, vm_id: int, image: str) -> None:
        """Compose the reserved VM on its host and wait for its address; record the outcome
        (never raises for a host's failure: the machine says it)."""
        with self.ctx.db.read() as conn:
            machine = store.machines.get_machine(conn, vm_id)
        if machine is None or machine.fields.status is not Status.DEPLOYING:
            return  # released meanwhile
        vm = machine.vm
        spec = dataclasses.replace(
            base.ComposeSpec.from_vm(vm, model.ComposeRequest(architecture=None)),
            user_data=machine.fields.user_data or None,
            image=image,
            interfaces=vm.interfaces,
        )
        try:
            with self.ctx.driver(vm.host_id) as driver:
                got = driver.compose(spec)
                self._record_composed(vm, got)
                address = self._wait_for_address(driver, vm, got.addresses)
        except (base.DriverError, TimeoutError) as exc:
            self._failed(machine, str(exc) or type(exc).__name__)
            return
        with self.ctx.db.write() as conn:
            store.machines.set_machine(
                conn,
                vm_id,
                {"maas_status": Status.DEPLOYED.value, "status_message": "Deployed"},
                expect_status=[Status.DEPLOYING],
            )
        log.info("machine %s deployed (%s)", machine.system_id, address)

    def _record_composed(self, vm: model.Vm, got: model.ComposedVm) -> None:
        fresh = dataclasses.replace(
            vm,
            state=model.VmState.READY,
            power_state=got.power_state,
            uuid=got.uuid,
            addresses=got.addresses,
            disks=got.disks or vm.disks,
        )
        with self.ctx.db.write() as conn:
            store.vms.update_vm(conn, fresh, expect_state=model.VmState.RESERVED)

    def _wait_for_address(
        self, driver: base.HostDriver, vm: model.Vm, addresses: tuple[str, ...]
    ) -> str:
        deadline = time.monotonic() + self.timeout_s
        while True:
            found = _ipv4(addresses)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no IPv4 address on the boot interface after {self.timeout_s:.0f} s"
                )
            time.sleep(self.poll_interval_s)
            power, addresses = driver.observe(vm.name)
            with self.ctx.db.write() as conn:
                store.vms.set_observed(conn, vm.id, power, addresses)

    def _failed(self, machine: model.Machine, reason: str) -> None:
        """Failed deployment: the reason kept, the instance removed, the reservation kept."""
        vm = machine.vm
        log.warning("deploy of machine %s failed: %s", machine.system_id, reason)
        try:
            with self.ctx.driver(vm.host_id) as driver:
                driver.decompose(vm.name, vm.disks)
        except base.DriverError as exc:
            log.warning("could not remove the failed instance %s: %s", vm.name, exc)
        record_failed(self.ctx, vm, reason)
