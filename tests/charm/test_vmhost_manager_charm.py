"""State-transition tests of the vmhost-manager charm with ops.testing (Scenario).

The workload is replaced by one fake behind one seam (the `fake` fixture: `workload.Workload`
-> `fakes.FakeWorkload`, whose `api()` is an in-memory service). One test runs the real
workload module with a fake command runner and a temporary unit path instead, to show what the
charm makes the machine do.
"""

from __future__ import annotations

import json
import pathlib

import probes
import pytest
import service_client
import workload
import yaml
from fakes import FakeWorkload
from ops import testing

import charm

REPO = pathlib.Path(__file__).resolve().parents[2]
VM_HOST_OWNER = "vmhost-manager/vm-host/"


@pytest.fixture
def ctx(tmp_path: pathlib.Path) -> testing.Context[charm.VmhostManagerCharm]:
    """A context that autoloads metadata.yaml, config.yaml and actions.yaml from the repo root."""
    charm_dir = tmp_path / "charm"
    charm_dir.mkdir(exist_ok=True)
    return testing.Context(charm.VmhostManagerCharm, charm_root=charm_dir)


def manager_secret(**extra: str) -> testing.Secret:
    content = {"sealing-key": "k" * 44, "lxd-certificate": "CERT", "lxd-key": "KEY", **extra}
    return testing.Secret(content, owner="app", label=charm.MANAGER_SECRET_LABEL)


def ready(fake: FakeWorkload, **extra: str) -> testing.Secret:
    """A manager secret with an admin token the fake service accepts."""
    fake.api_.accepted = {"vmh_admin"}
    return manager_secret(**{"admin-token": "vmh_admin", **extra})


def test_metadata_config_and_actions_are_autoloaded(ctx):
    assert ctx.app_name == "vmhost-manager"  # from metadata.yaml
    state = testing.State.from_context(ctx)
    assert state.config["port"] == 5240  # config.yaml's default
    assert {r.endpoint for r in state.relations} >= {"database", "lxd", "vm-host", "cos-agent"}
    actions = yaml.safe_load((REPO / "actions.yaml").read_text())
    assert set(actions) == {
        "add-host",
        "get-certificate",
        "compose",
        "decompose",
        "refresh",
        "list-hosts",
        "list-vms",
        "create-token",
        "maas-credentials",
    }
    assert all(a["additionalProperties"] is False for a in actions.values())


# -- install, config, status -----------------------------------------------------------------


def test_install_creates_the_manager_secret_and_the_admin_token(ctx, fake):
    state_out = ctx.run(ctx.on.install(), testing.State(leader=True))

    (config,) = fake.configs
    assert (config.port, config.scheduling_policy, config.log_level) == (5240, "pack", "info")
    assert config.database_url is None and config.tls is False
    assert fake.installed
    (secret,) = state_out.secrets
    assert secret.owner == "app" and secret.label == charm.MANAGER_SECRET_LABEL
    content = secret.latest_content
    assert content["admin-token"] == fake.admin_tokens[0] == "vmh_admin_1"
    assert len(content["sealing-key"]) == 44 and fake.files["secret.key"] == content["sealing-key"]
    assert "BEGIN CERTIFICATE" in content["lxd-certificate"]
    assert state_out.opened_ports == {testing.TCPPort(5240)}
    assert state_out.workload_version == "0.1.0"
    assert state_out.unit_status.name == "active"


def test_install_keeps_the_sealing_key_a_unit_already_has(ctx, fake):
    fake.existing_sealing_key = "s" * 44

    state_out = ctx.run(ctx.on.install(), testing.State(leader=True))

    (secret,) = state_out.secrets
    assert secret.latest_content["sealing-key"] == "s" * 44


def test_config_change_reconfigures_and_the_service_honours_it(ctx, fake):
    secret = ready(fake)
    config = {
        "port": 6000,
        "scheduling-policy": "spread",
        "log-level": "debug",
        "default-cpu-over-commit-ratio": 2.5,
        "default-memory-over-commit-ratio": 1.5,
    }

    state_out = ctx.run(
        ctx.on.config_changed(), testing.State(leader=True, config=config, secrets={secret})
    )

    service = fake.configs[-1]
    assert (service.port, service.scheduling_policy, service.log_level) == (
        6000,
        "spread",
        "debug",
    )
    environment = service.environment()
    assert environment["VMHOST_POLICY"] == "spread"
    assert environment["VMHOST_DEFAULT_CPU_OVER_COMMIT_RATIO"] == "2.5"
    assert environment["VMHOST_DEFAULT_MEMORY_OVER_COMMIT_RATIO"] == "1.5"
    assert environment["VMHOST_LOG_LEVEL"] == "DEBUG"
    assert state_out.opened_ports == {testing.TCPPort(6000)}
    assert fake.admin_tokens == []  # the token in the secret is still good
    assert state_out.unit_status.name == "active"


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
            "default-memory-over-commit-ratio",
            -0.1,
            "invalid config: default-memory-over-commit-ratio=-0.1: "
            "Input should be greater than or equal to 0",
        ),
        (
            "scheduling-policy",
            "fastest",
            "invalid config: scheduling-policy='fastest': "
            "Input should be 'pack', 'spread' or 'least-loaded'",
        ),
        (
            "log-level",
            "loud",
            "invalid config: log-level='loud': "
            "Input should be 'debug', 'info', 'warning', 'error' or 'critical'",
        ),
    ],
)
def test_invalid_config_blocks_and_keeps_the_last_good_config(ctx, fake, option, value, message):
    state = testing.State(leader=True, secrets={ready(fake)})
    ctx.run(ctx.on.config_changed(), state)
    good = fake.configs[-1]

    state_out = ctx.run(ctx.on.config_changed(), dataclass_replace(state, config={option: value}))

    assert state_out.unit_status == testing.BlockedStatus(message)
    assert fake.configs == [good]


def test_a_port_in_use_blocks(ctx, fake):
    fake.taken_ports = {8080}

    state_out = ctx.run(
        ctx.on.config_changed(),
        testing.State(leader=True, config={"port": 8080}, secrets={ready(fake)}),
    )

    assert state_out.unit_status == testing.BlockedStatus(
        "invalid config: port=8080: in use by another program"
    )
    assert fake.configs == []


def test_tls_from_a_secret_reaches_the_service(ctx, fake):
    from vmhost import pki

    pair = pki.generate("vmhost.example", key_size=2048)
    tls = testing.Secret({"certificate": pair.certificate_pem, "key": pair.key_pem})

    state_out = ctx.run(
        ctx.on.config_changed(),
        testing.State(leader=True, config={"tls-secret": tls.id}, secrets={ready(fake), tls}),
    )

    service = fake.configs[-1]
    assert service.tls and "--tls-cert" in service.exec_start()
    assert service.url() == "https://127.0.0.1:5240"
    assert fake.files["tls"] == f"{pair.certificate_pem}\n{pair.key_pem}"
    assert state_out.unit_status.name == "active"


def test_a_bad_tls_pair_blocks(ctx, fake):
    from vmhost import pki

    one, other = (pki.generate(n, key_size=2048) for n in ("a", "b"))
    tls = testing.Secret({"certificate": one.certificate_pem, "key": other.key_pem})

    state_out = ctx.run(
        ctx.on.config_changed(),
        testing.State(leader=True, config={"tls-secret": tls.id}, secrets={ready(fake), tls}),
    )

    assert state_out.unit_status == testing.BlockedStatus(
        "invalid config: tls-secret: the certificate does not belong to this private key"
    )
    assert fake.configs == []


def test_a_tls_secret_that_cannot_be_read_waits(ctx, fake):
    not_granted = testing.Secret({"certificate": "x", "key": "y"})  # not in the state

    state_out = ctx.run(
        ctx.on.config_changed(),
        testing.State(leader=True, config={"tls-secret": not_granted.id}, secrets={ready(fake)}),
    )

    assert state_out.unit_status == testing.WaitingStatus(
        f"cannot read tls-secret {not_granted.id}: grant it to the application"
    )
    assert fake.configs == []


def test_a_rejected_admin_token_is_renewed_by_the_leader(ctx, fake):
    secret = manager_secret(**{"admin-token": "vmh_from_sqlite"})  # not accepted

    state_out = ctx.run(ctx.on.update_status(), testing.State(leader=True, secrets={secret}))

    assert fake.admin_tokens == ["vmh_admin_1"]
    (secret_out,) = state_out.secrets
    assert secret_out.latest_content["admin-token"] == "vmh_admin_1"
    assert state_out.unit_status.name == "active"


@pytest.mark.parametrize(
    ("active", "ready_", "status"),
    [
        (True, True, testing.ActiveStatus()),
        (True, False, testing.WaitingStatus("waiting for the vmhost API on port 5240")),
        (False, False, testing.MaintenanceStatus("waiting for the vmhost service to start")),
    ],
)
def test_collect_status_reports_the_service(ctx, fake, active, ready_, status):
    fake.active, fake.ready = active, ready_
    secret = ready(fake)

    with ctx(ctx.on.collect_unit_status(), testing.State(secrets={secret}, leader=True)) as mgr:
        state_out = mgr.run()

    assert state_out.unit_status == status


def test_active_says_what_the_service_manages(ctx, fake):
    secret = ready(fake)
    state = testing.State(leader=True, secrets={secret})

    assert ctx.run(ctx.on.update_status(), state).unit_status == testing.ActiveStatus(
        "no VM hosts yet: run the add-host action or integrate lxd"
    )
    with_host(fake)
    fake.api_.add_host({"type": "lxd", "address": "https://10.0.0.5:8443", "name": "lxd1"})
    assert ctx.run(ctx.on.update_status(), state).unit_status == testing.ActiveStatus(
        "2 VM hosts, 1 not ready (see list-hosts)"
    )


def test_stop_removes_the_service(ctx, fake):
    ctx.run(ctx.on.stop(), testing.State())

    assert fake.removed


# -- peers and leadership ---------------------------------------------------------------------


def test_a_follower_waits_for_the_manager_secret(ctx, fake):
    peers = testing.PeerRelation("vmhost-peers")

    state_out = ctx.run(ctx.on.update_status(), testing.State(relations={peers}))

    assert state_out.unit_status == testing.WaitingStatus(
        "waiting for the leader to share the manager secret"
    )
    assert fake.configs == []


def test_a_follower_uses_the_leaders_secret_and_never_migrates(ctx, fake):
    secret = ready(fake)
    peers = testing.PeerRelation(
        "vmhost-peers", local_app_data={charm.MANAGER_SECRET_KEY: secret.id}, peers_data={1: {}}
    )
    database, pg_secret = database_relation()

    state_out = ctx.run(
        ctx.on.update_status(),
        testing.State(relations={peers, database}, secrets={secret, pg_secret}),
    )

    assert fake.files["secret.key"] == "k" * 44
    assert fake.configs[-1].database_url is not None
    assert fake.migrations == 0 and fake.admin_tokens == []
    assert state_out.unit_status.name == "active"


def test_the_new_leader_publishes_the_secret_id(ctx, fake):
    secret = ready(fake)
    peers = testing.PeerRelation("vmhost-peers")

    state_out = ctx.run(
        ctx.on.leader_elected(), testing.State(leader=True, relations={peers}, secrets={secret})
    )

    data = state_out.get_relation(peers.id).local_app_data
    assert data[charm.MANAGER_SECRET_KEY] == secret.id
    assert "vmh_admin" not in json.dumps(data)


def test_several_units_without_a_database_block(ctx, fake):
    peers = testing.PeerRelation("vmhost-peers", peers_data={1: {}})

    state_out = ctx.run(
        ctx.on.update_status(),
        testing.State(leader=True, relations={peers}, secrets={ready(fake)}),
    )

    assert state_out.unit_status == testing.BlockedStatus(
        "several units need the database integration"
    )


# -- database ----------------------------------------------------------------------------------


def database_relation(**data: str) -> tuple[testing.Relation, testing.Secret]:
    secret = testing.Secret({"username": "relation-7", "password": 'p%ss"word'})
    remote = {"database": "vmhost", "endpoints": "10.1.2.3:5432,10.1.2.4:5432"}
    remote["secret-user"] = secret.id
    remote.update(data)
    return testing.Relation("database", remote_app_data=remote), secret


def test_database_joined_asks_for_a_database(ctx, fake):
    database = testing.Relation("database")

    state_out = ctx.run(
        ctx.on.relation_created(database),
        testing.State(leader=True, relations={database}, secrets={ready(fake)}),
    )

    local = state_out.get_relation(database.id).local_app_data
    assert local["database"] == "vmhost"
    assert "password" in json.loads(local["requested-secrets"])
    assert state_out.unit_status == testing.WaitingStatus("waiting for PostgreSQL credentials")
    assert fake.configs == []


def test_database_changed_moves_the_service_to_postgresql(ctx, fake):
    database, pg_secret = database_relation()

    state_out = ctx.run(
        ctx.on.relation_changed(database),
        testing.State(leader=True, relations={database}, secrets={ready(fake), pg_secret}),
    )

    url = fake.configs[-1].database_url
    assert url == "postgresql+psycopg://relation-7:p%25ss%22word@10.1.2.3:5432/vmhost"
    assert fake.configs[-1].environment()["VMHOST_MIGRATE_AT_START"] == "false"
    assert fake.migrations == 1  # the leader migrates
    assert state_out.unit_status.name == "active"


def test_a_database_is_refused_while_sqlite_holds_hosts(ctx, fake):
    fake.sqlite_hosts = 2
    database, pg_secret = database_relation()

    state_out = ctx.run(
        ctx.on.relation_changed(database),
        testing.State(leader=True, relations={database}, secrets={ready(fake), pg_secret}),
    )

    assert fake.configs[-1].database_url is None  # still on SQLite
    assert fake.migrations == 0
    assert state_out.unit_status == testing.BlockedStatus(
        "the SQLite database on this unit holds 2 VM host(s), which vmhost does not copy to "
        "PostgreSQL: remove them or the database integration"
    )


def test_malformed_database_data_waits(ctx, fake):
    database = testing.Relation("database", remote_app_data={"endpoints": "10.0.0.1:5432"})

    state_out = ctx.run(
        ctx.on.relation_changed(database),
        testing.State(leader=True, relations={database}, secrets={ready(fake)}),
    )

    assert state_out.unit_status == testing.WaitingStatus("waiting for PostgreSQL credentials")


def test_database_broken_goes_back_to_sqlite(ctx, fake):
    database, pg_secret = database_relation()

    ctx.run(
        ctx.on.relation_broken(database),
        testing.State(leader=True, relations={database}, secrets={ready(fake), pg_secret}),
    )

    assert fake.configs[-1].database_url is None


# -- lxd ---------------------------------------------------------------------------------------


def test_lxd_relation_registers_the_published_host_with_our_certificate(ctx, fake):
    lxd = testing.Relation(
        "lxd",
        remote_app_name="lxd",
        remote_units_data={
            0: {"version": "1.0", "certificate": "SERVER", "addresses": "10.5.0.2:8443"}
        },
    )

    state_out = ctx.run(
        ctx.on.relation_changed(lxd, remote_unit=0),
        testing.State(leader=True, relations={lxd}, secrets={ready(fake)}),
    )

    local = state_out.get_relation(lxd.id).local_app_data
    assert local == {"version": "1.0", "certificate": "CERT"}
    host = fake.api_.hosts["lxd-lxd-0"]
    assert (host.address, host.certificate) == ("https://10.5.0.2:8443", "CERT")
    assert host.server_certificate == "SERVER"  # pinned as published


def test_lxd_departed_removes_the_host(ctx, fake):
    secret = ready(fake)
    fake.api_.hosts["lxd-lxd-0"] = __import__("fakes").FakeHost(
        9, "lxd-lxd-0", "lxd", "https://10.5.0.2:8443", tags=(service_client.LXD_RELATION_TAG,)
    )
    fake.api_.hosts["kvm1"] = __import__("fakes").FakeHost(10, "kvm1", "libvirt", "qemu:///system")
    lxd = testing.Relation("lxd", remote_app_name="lxd", remote_units_data={})

    ctx.run(
        ctx.on.relation_departed(lxd, remote_unit=0, departing_unit=0),
        testing.State(leader=True, relations={lxd}, secrets={secret}),
    )

    assert set(fake.api_.hosts) == {"kvm1"}


def test_malformed_lxd_data_is_ignored(ctx, fake):
    lxd = testing.Relation(
        "lxd", remote_units_data={0: {"version": "2.0", "addresses": "10.5.0.2:8443"}}
    )

    state_out = ctx.run(
        ctx.on.relation_changed(lxd, remote_unit=0),
        testing.State(leader=True, relations={lxd}, secrets={ready(fake)}),
    )

    assert fake.api_.hosts == {}
    assert state_out.unit_status.name == "active"


# -- vm-host -----------------------------------------------------------------------------------


def vm_host_relation(constraints: str, count: int) -> testing.Relation:
    data = {"constraints": json.dumps(constraints), "count": json.dumps(count)}
    return testing.Relation("vm-host", remote_app_name="app", remote_app_data=data)


def with_host(fake: FakeWorkload, cores: int = 8) -> None:
    fake.api_.add_host({"type": "libvirt", "address": "qemu:///system", "name": "kvm1"})
    fake.api_.hosts["kvm1"].cores = cores


def test_a_request_for_two_machines_composes_two_and_publishes_them(ctx, fake):
    with_host(fake)
    relation = vm_host_relation("cores=2 mem=4G", 2)

    state_out = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(leader=True, relations={relation}, secrets={ready(fake)}),
    )

    assert [c for c in fake.api_.calls if c[0] == "composed"] == [("composed", 2), ("composed", 3)]
    answer = state_out.get_relation(relation.id).local_app_data
    machines = json.loads(answer["machines"])
    assert [(m["id"], m["hostname"], m["addresses"]) for m in machines] == [
        (2, "vm-2", ["10.0.0.2"]),
        (3, "vm-3", ["10.0.0.3"]),
    ]
    assert json.loads(answer["addresses"]) == ["10.0.0.2", "10.0.0.3"]
    assert "error" not in answer
    owners = {vm.owner for vm in fake.api_.vms.values()}
    assert owners == {f"{VM_HOST_OWNER}{relation.id}"}


def test_shrinking_the_request_decomposes_one(ctx, fake):
    with_host(fake)
    relation = vm_host_relation("cores=2", 2)
    state = testing.State(leader=True, relations={relation}, secrets={ready(fake)})
    state = ctx.run(ctx.on.relation_changed(relation), state)

    smaller = dataclass_replace(
        relation, remote_app_data={"constraints": '"cores=2"', "count": "1"}
    )
    state_out = ctx.run(
        ctx.on.relation_changed(smaller), dataclass_replace(state, relations={smaller})
    )

    assert ("decompose", 3) in fake.api_.calls
    machines = json.loads(state_out.get_relation(relation.id).local_app_data["machines"])
    assert [m["id"] for m in machines] == [2]


def test_an_impossible_request_publishes_the_message_and_is_retried(ctx, fake):
    with_host(fake, cores=4)
    relation = vm_host_relation("cores=64", 1)
    state = testing.State(leader=True, relations={relation}, secrets={ready(fake)})

    state = ctx.run(ctx.on.relation_changed(relation), state)

    answer = state.get_relation(relation.id).local_app_data
    assert json.loads(answer["error"]) == "no VM host can satisfy constraint cores=64"
    assert json.loads(answer["machines"]) == []

    fake.api_.hosts["kvm1"].cores = 128  # the operator added capacity
    state_out = ctx.run(ctx.on.update_status(), state)
    answer = state_out.get_relation(relation.id).local_app_data
    assert "error" not in answer and len(json.loads(answer["machines"])) == 1


def test_the_relation_going_away_decomposes_its_machines(ctx, fake):
    with_host(fake)
    relation = vm_host_relation("cores=1", 2)
    state = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(leader=True, relations={relation}, secrets={ready(fake)}),
    )
    assert len(fake.api_.vms) == 2

    ctx.run(ctx.on.relation_broken(state.get_relation(relation.id)), state)

    assert fake.api_.vms == {}


def test_malformed_vm_host_data_is_ignored_and_keeps_the_machines(ctx, fake):
    with_host(fake)
    relation = vm_host_relation("cores=1", 1)
    state = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(leader=True, relations={relation}, secrets={ready(fake)}),
    )
    bad = dataclass_replace(relation, remote_app_data={"constraints": "not json", "count": "-3"})

    state_out = ctx.run(ctx.on.relation_changed(bad), dataclass_replace(state, relations={bad}))

    assert len(fake.api_.vms) == 1
    assert state_out.unit_status.name == "active"


def test_only_the_leader_answers(ctx, fake):
    with_host(fake)
    relation = vm_host_relation("cores=1", 1)
    secret = ready(fake)
    peers = testing.PeerRelation(
        "vmhost-peers", local_app_data={charm.MANAGER_SECRET_KEY: secret.id}
    )

    state_out = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(relations={relation, peers}, secrets={secret}),
    )

    assert fake.api_.vms == {}
    assert state_out.get_relation(relation.id).local_app_data == {}


# -- cos-agent ---------------------------------------------------------------------------------


def test_cos_agent_gets_metrics_logs_and_a_dashboard_without_the_admin_token(ctx, fake):
    import cos_agent

    cos = testing.Relation("cos-agent")

    state_out = ctx.run(
        ctx.on.relation_joined(cos),
        testing.State(leader=True, relations={cos}, secrets={ready(fake)}),
    )

    raw = state_out.get_relation(cos.id).local_unit_data["config"]
    config = json.loads(raw)
    (job,) = config["metrics_scrape_jobs"]
    assert job["metrics_path"] == "/api/v1/metrics"
    assert job["static_configs"] == [{"targets": ["localhost:5240"]}]
    assert job["authorization"]["credentials"] == fake.api_.tokens["juju-cos-agent"]
    assert "vmh_admin" not in raw
    assert config["include_log_files"] == ["/var/log/vmhost/vmhost.log"]
    (dashboard,) = config["dashboards"]
    assert cos_agent.decode_dashboard(dashboard)["title"] == "vmhost"
    (secret,) = state_out.secrets
    assert secret.latest_content["metrics-token"] == fake.api_.tokens["juju-cos-agent"]


def test_a_metrics_token_the_service_no_longer_knows_is_made_again(ctx, fake):
    cos = testing.Relation("cos-agent")
    secret = ready(fake, **{"metrics-token": "vmh_from_sqlite"})

    state_out = ctx.run(
        ctx.on.relation_joined(cos),
        testing.State(leader=True, relations={cos}, secrets={secret}),
    )

    new = fake.api_.tokens["juju-cos-agent"]
    (secret_out,) = state_out.secrets
    assert secret_out.latest_content["metrics-token"] == new != "vmh_from_sqlite"
    config = json.loads(state_out.get_relation(cos.id).local_unit_data["config"])
    assert config["metrics_scrape_jobs"][0]["authorization"]["credentials"] == new


# -- ingress -----------------------------------------------------------------------------------


def test_ingress_asks_for_the_port_and_shows_the_url(ctx, fake):
    relation = testing.Relation(
        "ingress",
        remote_app_data={"ingress": json.dumps({"url": "http://proxy.example/m-vmhost-manager/"})},
    )

    state_out = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(leader=True, relations={relation}, secrets={ready(fake)}),
    )

    out = state_out.get_relation(relation.id)
    assert json.loads(out.local_app_data["port"]) == 5240
    assert json.loads(out.local_app_data["strip-prefix"]) is True
    assert json.loads(out.local_app_data["scheme"]) == "http"
    assert json.loads(out.local_app_data["name"]) == "vmhost-manager"
    assert json.loads(out.local_unit_data["host"]) == "192.0.2.0"  # Scenario's default address
    assert state_out.unit_status == testing.ActiveStatus(
        "no VM hosts yet: run the add-host action or integrate lxd; "
        "at http://proxy.example/m-vmhost-manager/"
    )


@pytest.mark.parametrize("raw", ["not json", '{"url": 5}', '{"no": "url"}', '"ftp://x"'])
def test_malformed_ingress_data_is_ignored(ctx, fake, raw):
    relation = testing.Relation("ingress", remote_app_data={"ingress": raw})

    state_out = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(leader=True, relations={relation}, secrets={ready(fake)}),
    )

    assert state_out.unit_status == testing.ActiveStatus(
        "no VM hosts yet: run the add-host action or integrate lxd"
    )


# -- actions -----------------------------------------------------------------------------------


def run_action(ctx, fake, action: str, **params: object) -> dict[str, object]:
    ctx.run(
        ctx.on.action(action, params=params), testing.State(leader=True, secrets={ready(fake)})
    )
    return dict(ctx.action_results or {})


def test_add_host_returns_the_certificate_and_trust_command_of_an_untrusting_lxd(ctx, fake):
    results = run_action(ctx, fake, "add-host", type="lxd", address="https://10.0.0.5:8443")

    assert results["status"] == "untrusted"
    assert "BEGIN CERTIFICATE" in results["certificate"]
    assert results["fingerprint"] == "ab" * 32
    assert results["trust-command"].startswith("lxc config trust add")


def test_add_host_failure_is_an_action_failure(ctx, fake):
    with_host(fake)

    with pytest.raises(testing.ActionFailed) as failure:
        run_action(ctx, fake, "add-host", type="libvirt", address="qemu:///system", name="kvm1")

    assert failure.value.message == "a VM host named 'kvm1' already exists"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "add-host",
            {"type": "lxd", "address": ""},
            "invalid parameters: address: String should have at least 1 character",
        ),
        (
            "compose",
            {"memory-mib": 16},
            "invalid parameters: memory-mib: Input should be greater than or equal to 1024",
        ),
        (
            "decompose",
            {"vm": 0},
            "invalid parameters: vm: Input should be greater than or equal to 1",
        ),
        (
            "create-token",
            {"name": "two words"},
            "invalid parameters: name: String should match pattern '^[A-Za-z0-9][\\w.-]*$'",
        ),
    ],
)
def test_actions_with_bad_parameters_fail_with_the_reason(ctx, fake, name, params, message):
    with pytest.raises(testing.ActionFailed) as failure:
        run_action(ctx, fake, name, **params)

    assert failure.value.message == message
    assert not [c for c in fake.api_.calls if c[0] not in ("check_token",)]


def test_get_certificate_and_refresh(ctx, fake):
    fake.api_.add_host({"type": "lxd", "address": "https://10.0.0.5:8443", "name": "lxd1"})

    assert (
        "BEGIN CERTIFICATE" in run_action(ctx, fake, "get-certificate", host="lxd1")["certificate"]
    )
    assert run_action(ctx, fake, "refresh", host="lxd1")["name"] == "lxd1"
    with pytest.raises(testing.ActionFailed, match="VM host 'nope' does not exist"):
        run_action(ctx, fake, "refresh", host="nope")


def test_compose_with_constraints_decompose_and_lists(ctx, fake):
    with_host(fake)

    composed = run_action(ctx, fake, "compose", constraints="cores=3")
    assert fake.api_.vms[int(composed["id"])].cores == 3
    assert json.loads(run_action(ctx, fake, "list-vms")["vms"]) == [composed["hostname"]]
    assert json.loads(run_action(ctx, fake, "list-hosts")["hosts"]) == ["kvm1"]
    assert run_action(ctx, fake, "decompose", vm=int(composed["id"]))["id"] == composed["id"]
    with pytest.raises(testing.ActionFailed, match="No VM host can take this request"):
        run_action(ctx, fake, "compose", cores=64)
    with pytest.raises(testing.ActionFailed, match="constraints 'cores=x'"):
        run_action(ctx, fake, "compose", constraints="cores=x")


def test_create_token_puts_the_token_in_a_secret_not_in_the_output(ctx, fake):
    state_out = ctx.run(
        ctx.on.action("create-token", params={"name": "ci", "read-only": True}),
        testing.State(leader=True, secrets={ready(fake)}),
    )

    results = ctx.action_results or {}
    token = fake.api_.tokens["ci"]
    assert token not in json.dumps(results)
    assert results["role"] == "readonly"
    (secret,) = [s for s in state_out.secrets if s.label == "vmhost-token-ci"]
    assert secret.owner == "unit" and secret.tracked_content == {"token": token}
    assert results["secret-id"] == secret.id
    assert results["read-with"] == f"juju show-secret --reveal {secret.id}"


def test_create_token_with_a_name_in_use_fails(ctx, fake):
    fake.api_.tokens["ci"] = "vmh_old"

    with pytest.raises(testing.ActionFailed, match="a token named 'ci' already exists"):
        run_action(ctx, fake, "create-token", name="ci")


def test_actions_fail_while_the_service_is_unreachable(ctx, fake):
    secret = ready(fake)
    fake.api_.down = True

    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(ctx.on.action("list-hosts"), testing.State(leader=True, secrets={secret}))

    assert failure.value.message == "cannot reach http://127.0.0.1:5240: refused"


def test_maas_credentials_says_the_maas_api_is_missing(ctx, fake):
    with pytest.raises(testing.ActionFailed) as failure:
        run_action(ctx, fake, "maas-credentials")

    assert "no MAAS API" in failure.value.message


# -- the real workload module, machine edges faked -------------------------------------------


def test_install_renders_the_unit_and_runs_systemctl(ctx, monkeypatch, runner, tmp_path):
    unit_path = tmp_path / "vmhost.service"
    data_dir = tmp_path / "data"
    real = workload.Workload
    monkeypatch.setattr(
        workload,
        "Workload",
        lambda charm_dir: real(charm_dir, runner=runner, unit_path=unit_path, data_dir=data_dir),
    )
    monkeypatch.setattr(probes, "is_ready", lambda port, timeout=2.0, tls=False: False)
    monkeypatch.setattr(probes, "wait_ready", lambda port, tls=False: False)
    monkeypatch.setattr(probes, "port_free", lambda port: True)

    state_out = ctx.run(ctx.on.install(), testing.State(leader=True))

    unit = unit_path.read_text()
    python = pathlib.Path(ctx.charm_root, "venv", "bin", "python")
    assert f"ExecStart={python} -m vmhost.server --host 0.0.0.0 --port 5240" in unit
    assert "StandardOutput=append:/var/log/vmhost/vmhost.log" in unit
    assert "VMHOST_DATABASE_URL" not in unit
    assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert runner.commands("apt-get")[-1][-1] == "libvirt0"
    assert runner.commands("systemctl")[:3] == [
        ("daemon-reload",),
        ("enable", "vmhost"),
        ("restart", "vmhost"),
    ]
    assert state_out.unit_status == testing.WaitingStatus(
        "waiting for the vmhost API on port 5240"
    )


def dataclass_replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)
