"""State-transition tests of the vmhost-manager charm with ops.testing.

Two kinds of fakes, both injected with monkeypatch: the machine edges of the real workload
module (its command runner, unit path and health probe) where a test is about what the charm
makes the machine do, and a small stateful stand-in for the workload functions (tinyproxy
style) where a test is about status or actions.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import workload
from ops import testing

import charm


class FakeWorkload:
    """A stand-in for the workload module's machine-facing functions."""

    def __init__(self, *, active: bool = True, ready: bool = True):
        self.active = active
        self.ready = ready
        self.configs: list[workload.ServiceConfig] = []
        self.removed = False

    def missing_packages(self) -> list[str]:
        return []

    def install_packages(self, packages: list[str]) -> None:
        assert not packages

    def configure(self, config: workload.ServiceConfig) -> bool:
        restart = not self.configs or self.configs[-1] != config or not self.active
        self.configs.append(config)
        self.active = True
        return restart

    def wait_ready(self, port: int) -> bool:
        return self.ready

    def is_active(self) -> bool:
        return self.active

    def is_ready(self, port: int) -> bool:
        return self.active and self.ready

    def remove(self) -> None:
        self.active = False
        self.removed = True


def patch_workload(monkeypatch: pytest.MonkeyPatch, fake: FakeWorkload) -> None:
    """Replace the workload's machine-facing functions with the fake's."""
    for name in (
        "missing_packages",
        "install_packages",
        "configure",
        "wait_ready",
        "is_active",
        "is_ready",
        "remove",
    ):
        monkeypatch.setattr(f"charm.workload.{name}", getattr(fake, name))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeWorkload:
    """An installed, running, healthy service."""
    fake = FakeWorkload()
    patch_workload(monkeypatch, fake)
    return fake


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, runner, tmp_path: pathlib.Path):
    """The real workload module with a fake runner, a temporary unit path and a healthy API."""
    unit_path = tmp_path / "vmhost.service"
    monkeypatch.setattr(workload, "run", runner)
    monkeypatch.setattr(workload, "UNIT_PATH", unit_path)
    monkeypatch.setattr(workload, "is_ready", lambda port, timeout=2.0: True)
    return unit_path


@pytest.fixture
def ctx(tmp_path: pathlib.Path) -> testing.Context[charm.VmhostManagerCharm]:
    """A context that autoloads metadata.yaml, config.yaml and actions.yaml from the repo root.

    The charm directory is fixed for the test, as on a unit: the unit file names paths in it.
    """
    charm_dir = tmp_path / "charm"
    charm_dir.mkdir()
    return testing.Context(charm.VmhostManagerCharm, charm_root=charm_dir)


def test_metadata_config_and_actions_are_autoloaded(ctx):
    assert ctx.charm_spec.meta["name"] == "vmhost-manager"
    options = ctx.charm_spec.config["options"]
    assert options["port"]["default"] == 5240
    assert options["scheduling-policy"]["default"] == "pack"
    assert set(ctx.charm_spec.actions) == {
        "add-host",
        "get-certificate",
        "compose",
        "refresh",
        "create-token",
    }
    assert all(
        action["additionalProperties"] is False for action in ctx.charm_spec.actions.values()
    )


def test_config_defaults_load(ctx, fake):
    ctx.run(ctx.on.config_changed(), testing.State())

    (config,) = fake.configs
    assert config.port == 5240
    assert config.default_cpu_over_commit_ratio == 1.0
    assert config.default_memory_over_commit_ratio == 1.0
    assert config.scheduling_policy == "pack"
    assert config.log_level == "info"
    assert config.database_url is None


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("port", 0, "invalid config: port=0: Input should be greater than or equal to 1"),
        (
            "default-cpu-over-commit-ratio",
            10.5,
            "invalid config: default-cpu-over-commit-ratio=10.5: "
            "Input should be less than or equal to 10",
        ),
        (
            "scheduling-policy",
            "fastest",
            "invalid config: scheduling-policy='fastest': "
            "Input should be 'pack', 'spread' or 'least-loaded'",
        ),
    ],
)
def test_invalid_config_blocks_and_leaves_the_service_alone(ctx, fake, option, value, message):
    state_out = ctx.run(ctx.on.config_changed(), testing.State(config={option: value}))

    assert state_out.unit_status == testing.BlockedStatus(message)
    assert fake.configs == []


def test_install_renders_the_unit_and_runs_systemctl(ctx, machine, runner):
    state_out = ctx.run(ctx.on.install(), testing.State())

    unit = machine.read_text()
    python = pathlib.Path(ctx.charm_root, "venv", "bin", "python")
    assert f"ExecStart={python} -m vmhost.server --host 0.0.0.0 --port 5240" in unit
    assert "--data-dir /var/lib/vmhost" in unit
    assert "VMHOST_DATABASE_URL" not in unit
    assert runner.commands("apt-get")[-1][-1] == "libvirt0"
    assert runner.commands("systemctl")[:3] == [
        ("daemon-reload",),
        ("enable", "vmhost"),
        ("restart", "vmhost"),
    ]
    assert state_out.opened_ports == {testing.TCPPort(5240)}
    assert state_out.unit_status == testing.ActiveStatus()


def test_config_changed_rerenders_and_restarts_only_on_change(ctx, machine, runner):
    state = ctx.run(ctx.on.install(), testing.State())
    runner.calls.clear()

    ctx.run(ctx.on.config_changed(), state)
    assert ("restart", "vmhost") not in runner.commands("systemctl")
    assert runner.commands("apt-get") == []

    state_out = ctx.run(ctx.on.config_changed(), testing.State(config={"port": 6000}))
    assert "--port 6000" in machine.read_text()
    assert ("restart", "vmhost") in runner.commands("systemctl")
    assert state_out.opened_ports == {testing.TCPPort(6000)}


def test_database_credentials_from_a_secret_reach_the_unit(ctx, machine):
    secret = testing.Secret({"username": "vmhost_user", "password": 'p%ss"word'})
    database = testing.Relation(
        "database",
        remote_app_data={
            "database": "vmhost",
            "endpoints": "10.1.2.3:5432,10.1.2.4:5432",
            "secret-user": secret.id,
        },
    )
    state_out = ctx.run(
        ctx.on.relation_changed(database),
        testing.State(leader=True, relations={database}, secrets={secret}),
    )

    expected = (
        'Environment="VMHOST_DATABASE_URL='
        'postgresql+psycopg://vmhost_user:p%%25ss%%22word@10.1.2.3:5432/vmhost"'
    )
    assert expected in machine.read_text()
    local = state_out.get_relation(database.id).local_app_data
    assert local["database"] == "vmhost"
    assert "password" in json.loads(local["requested-secrets"])
    assert state_out.unit_status == testing.ActiveStatus()


def test_database_relation_without_credentials_waits(ctx, fake):
    database = testing.Relation("database")

    state_out = ctx.run(ctx.on.relation_created(database), testing.State(relations={database}))

    assert state_out.unit_status == testing.WaitingStatus("waiting for PostgreSQL credentials")
    assert fake.configs[-1].database_url is None


def test_several_units_without_a_database_block(ctx, fake):
    peers = testing.PeerRelation("vmhost-peers", peers_data={1: {}})

    state_out = ctx.run(ctx.on.update_status(), testing.State(relations={peers}))

    assert state_out.unit_status == testing.BlockedStatus(
        "several units need the database integration"
    )


@pytest.mark.parametrize(
    ("active", "ready", "status"),
    [
        (True, True, testing.ActiveStatus()),
        (True, False, testing.WaitingStatus("waiting for the vmhost API on port 5240")),
        (False, False, testing.MaintenanceStatus("waiting for the vmhost service to start")),
    ],
)
def test_collect_status_reports_the_service(ctx, monkeypatch, active, ready, status):
    patch_workload(monkeypatch, FakeWorkload(active=active, ready=ready))

    state_out = ctx.run(ctx.on.update_status(), testing.State())

    assert state_out.unit_status == status


def test_stop_removes_the_service(ctx, fake):
    ctx.run(ctx.on.stop(), testing.State())

    assert fake.removed


def test_get_certificate_fails_clearly_until_the_api_lands(ctx, fake):
    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(ctx.on.action("get-certificate", params={"host": "kvm1"}), testing.State())

    assert failure.value.message == (
        "get-certificate is not available until the API lands: "
        "the vmhost service on port 5240 has no route for it yet"
    )


def test_create_token_fails_clearly_until_the_api_lands(ctx, fake):
    with pytest.raises(testing.ActionFailed, match="create-token is not available"):
        ctx.run(ctx.on.action("create-token", params={"name": "ci"}), testing.State())


def test_compose_rejects_invalid_parameters(ctx, fake):
    with pytest.raises(testing.ActionFailed, match="memory_mib"):
        ctx.run(ctx.on.action("compose", params={"memory-mib": 512}), testing.State())


def test_vm_host_requests_are_answered_with_what_is_missing(ctx, fake):
    vm_host = testing.Relation(
        "vm-host", remote_app_name="app", remote_app_data={"constraints": '"cores=2 mem=4G"'}
    )

    state_out = ctx.run(
        ctx.on.relation_changed(vm_host), testing.State(leader=True, relations={vm_host})
    )

    answer = state_out.get_relation(vm_host.id).local_app_data
    assert json.loads(answer["error"]) == charm.VM_HOST_NOT_YET
    assert "addresses" not in answer
