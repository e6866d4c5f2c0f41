"""Tests of the `vmhost` interface library (lib/charms/vmhost_manager/v0/vmhost.py).

Each side runs in a minimal charm of its own, under custom endpoint names, so the tests show the
library does not depend on vmhost-manager's charm or endpoint names.
"""

from __future__ import annotations

import json

import ops
import pytest
from charms.vmhost_manager.v0 import vmhost
from ops import testing

PROVIDER_META = {"name": "provider", "provides": {"vms": {"interface": "vmhost"}}}
REQUIRER_META = {"name": "requirer", "requires": {"machines": {"interface": "vmhost"}}}


class ProviderCharm(ops.CharmBase):
    """Answers every request with fixed addresses."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.vm_host = vmhost.VmHostProvider(self, "vms")
        self.seen: list[vmhost.VmRequest] = []
        framework.observe(self.vm_host.on.vm_requested, self._on_vm_requested)

    def _on_vm_requested(self, _: vmhost.VmRequestedEvent) -> None:
        self.seen = self.vm_host.requests()
        for request in self.seen:
            addresses = [f"10.0.0.{index}" for index in range(1, request.count + 1)]
            self.vm_host.answer(request.relation_id, addresses=addresses)


class RequirerCharm(ops.CharmBase):
    """Asks for two VMs when related; records the answers it is told about."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.vms = vmhost.VmHostRequirer(self, "machines")
        self.answers: list[vmhost.ProviderAppData] = []
        framework.observe(self.on["machines"].relation_created, self._on_created)
        framework.observe(self.vms.on.vms_changed, self._on_vms_changed)

    def _on_created(self, _: ops.RelationCreatedEvent) -> None:
        self.vms.request("cores=2 mem=4G", count=2)

    def _on_vms_changed(self, _: vmhost.VmsChangedEvent) -> None:
        self.answers.append(self.vms.answer())


@pytest.mark.parametrize("model", [vmhost.RequirerAppData, vmhost.ProviderAppData])
def test_an_empty_databag_parses(model):
    relation = testing.Relation("vms")
    ctx = testing.Context(ProviderCharm, meta=PROVIDER_META)

    with ctx(ctx.on.update_status(), testing.State(relations={relation})) as manager:
        loaded = manager.charm.model.get_relation("vms").load(model, manager.charm.app)

    assert all(value is None for value in loaded.model_dump().values())


def test_request_and_answer_round_trip():
    requirer_ctx = testing.Context(RequirerCharm, meta=REQUIRER_META)
    provider_ctx = testing.Context(ProviderCharm, meta=PROVIDER_META)

    # The requirer's leader writes its request when the relation is created.
    to_provider = testing.Relation("machines", remote_app_name="provider")
    state = requirer_ctx.run(
        requirer_ctx.on.relation_created(to_provider),
        testing.State(leader=True, relations={to_provider}),
    )
    request = state.get_relation(to_provider.id).local_app_data
    assert request == {"constraints": '"cores=2 mem=4G"', "count": "2"}

    # The provider sees the request, and answers.
    to_requirer = testing.Relation("vms", remote_app_name="requirer", remote_app_data=request)
    with provider_ctx(
        provider_ctx.on.relation_changed(to_requirer),
        testing.State(leader=True, relations={to_requirer}),
    ) as manager:
        state = manager.run()
        assert manager.charm.seen == [
            vmhost.VmRequest(to_requirer.id, "requirer", "cores=2 mem=4G", 2)
        ]
    answer = state.get_relation(to_requirer.id).local_app_data
    assert answer == {"addresses": '["10.0.0.1", "10.0.0.2"]'}  # unset error: no key

    # The requirer reads the answer.
    back = testing.Relation("machines", remote_app_name="provider", remote_app_data=answer)
    with requirer_ctx(
        requirer_ctx.on.relation_changed(back), testing.State(relations={back})
    ) as manager:
        manager.run()
        assert manager.charm.answers == [
            vmhost.ProviderAppData(addresses=["10.0.0.1", "10.0.0.2"], error=None)
        ]


def test_provider_ignores_a_relation_without_constraints():
    ctx = testing.Context(ProviderCharm, meta=PROVIDER_META)
    relation = testing.Relation("vms", remote_app_data={"count": "3"})

    ctx.run(ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation}))

    assert not any(isinstance(event, vmhost.VmRequestedEvent) for event in ctx.emitted_events)


def test_malformed_data_reads_as_empty_and_unknown_keys_are_ignored():
    ctx = testing.Context(ProviderCharm, meta=PROVIDER_META)
    relation = testing.Relation(
        "vms",
        remote_app_data={"constraints": "not json", "count": "-1", "future-field": '"x"'},
    )

    with ctx(ctx.on.update_status(), testing.State(relations={relation})) as manager:
        assert manager.charm.vm_host.requests() == []

    relation = testing.Relation(
        "vms", remote_app_data={"constraints": '"arch=amd64"', "future-field": '"x"'}
    )
    with ctx(ctx.on.update_status(), testing.State(relations={relation})) as manager:
        (request,) = manager.charm.vm_host.requests()
    assert (request.constraints, request.count) == ("arch=amd64", 1)


def test_answering_an_error_replaces_the_addresses():
    ctx = testing.Context(ProviderCharm, meta=PROVIDER_META)
    relation = testing.Relation("vms", local_app_data={"addresses": '["10.0.0.1"]'})

    with ctx(ctx.on.update_status(), testing.State(leader=True, relations={relation})) as manager:
        manager.charm.vm_host.answer(relation.id, error="no host has 64 GiB free")
        state = manager.run()

    data = state.get_relation(relation.id).local_app_data
    assert data == {"error": json.dumps("no host has 64 GiB free")}


def test_requirer_without_a_relation_reads_an_empty_answer():
    ctx = testing.Context(RequirerCharm, meta=REQUIRER_META)

    with ctx(ctx.on.update_status(), testing.State()) as manager:
        assert manager.charm.vms.answer() == vmhost.ProviderAppData()


def test_machines_round_trip_and_addresses_default_to_theirs():
    provider_ctx = testing.Context(ProviderCharm, meta=PROVIDER_META)
    relation = testing.Relation("vms")
    machines = [
        vmhost.MachineData(id=7, hostname="vm-7", addresses=["10.0.0.7"]),
        vmhost.MachineData(id=8, hostname="vm-8"),
    ]

    with provider_ctx(
        provider_ctx.on.update_status(), testing.State(leader=True, relations={relation})
    ) as manager:
        manager.charm.vm_host.answer(relation.id, machines=machines)
        state = manager.run()

    data = state.get_relation(relation.id).local_app_data
    assert json.loads(data["addresses"]) == ["10.0.0.7"]
    assert json.loads(data["machines"])[1] == {"id": 8, "hostname": "vm-8", "addresses": []}

    requirer_ctx = testing.Context(RequirerCharm, meta=REQUIRER_META)
    to_provider = testing.Relation("machines", remote_app_data=data)
    with requirer_ctx(
        requirer_ctx.on.relation_changed(to_provider), testing.State(relations={to_provider})
    ) as manager:
        manager.run()
        (answer,) = manager.charm.answers
    assert answer.machines == machines and answer.error is None


@pytest.mark.parametrize(
    "data",
    [
        {"machines": '[{"id": "seven"}]'},
        {"machines": "{"},
        {"addresses": '"10.0.0.1"'},
    ],
)
def test_a_malformed_answer_reads_as_empty(data):
    ctx = testing.Context(RequirerCharm, meta=REQUIRER_META)
    relation = testing.Relation("machines", remote_app_data=data)

    with ctx(ctx.on.update_status(), testing.State(relations={relation})) as manager:
        assert manager.charm.vms.answer() == vmhost.ProviderAppData()
