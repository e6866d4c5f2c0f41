"""The charm's own interface modules alone, each in a minimal charm under other endpoint names:
`database` (postgresql_client v0 requirer), `lxd_https` (lxd-https requirer) and `cos_agent`
(cos_agent provider), against the databag fields their interfaces document."""

from __future__ import annotations

import json
import pathlib

import cos_agent
import database
import lxd_https
import ops
import pytest
from ops import testing

META = {
    "name": "probe",
    "requires": {"db": {"interface": "postgresql_client"}, "hv": {"interface": "lxd-https"}},
    "provides": {"o11y": {"interface": "cos_agent"}},
}


class Probe(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = database.DatabaseRequirer(self, "db", "probe-db")
        self.hv = lxd_https.LxdRequirer(self, "hv")
        self.o11y = cos_agent.CosAgentProvider(self, "o11y")


def ctx() -> testing.Context[Probe]:
    return testing.Context(Probe, meta=META)


# -- postgresql_client ---------------------------------------------------------------------


def test_database_request_is_the_v0_contract():
    relation = testing.Relation("db")
    context = ctx()
    with context(
        context.on.update_status(), testing.State(leader=True, relations={relation})
    ) as m:
        m.charm.db.request()
        state = m.run()

    local = state.get_relation(relation.id).local_app_data
    assert local["database"] == "probe-db"
    assert json.loads(local["requested-secrets"]) == ["username", "password", "tls", "tls-ca"]


@pytest.mark.parametrize(
    ("remote", "reason"),
    [
        ({}, "waiting for PostgreSQL credentials"),
        ({"endpoints": "10.0.0.1:5432"}, "waiting for PostgreSQL credentials"),
        (
            {"endpoints": "", "username": "u", "password": "p"},
            "waiting for PostgreSQL credentials",
        ),
        (
            {"endpoints": "10.0.0.1:5432", "secret-user": "secret:cv0abc0not0granted00"},
            "cannot read the PostgreSQL credentials secret yet",
        ),
    ],
)
def test_database_answers_that_are_not_complete_are_not_ready(remote, reason):
    relation = testing.Relation("db", remote_app_data=remote)
    context = ctx()
    state = testing.State(relations={relation})
    with (
        context(context.on.update_status(), state) as m,
        pytest.raises(database.DatabaseNotReadyError) as raised,
    ):
        m.charm.db.credentials()
    assert str(raised.value) == reason


def test_database_credentials_from_plain_fields_and_from_a_secret():
    secret = testing.Secret({"username": "relation-9", "password": "pw"})
    with_secret = testing.Relation(
        "db",
        remote_app_data={
            "endpoints": "10.0.0.2:5432,10.0.0.3:5432",
            "database": "probe-db",
            "secret-user": secret.id,
        },
    )
    context = ctx()
    with context(
        context.on.update_status(), testing.State(relations={with_secret}, secrets={secret})
    ) as m:
        found = m.charm.db.credentials()
    assert found == database.Credentials("10.0.0.2:5432", "probe-db", "relation-9", "pw")

    plain = testing.Relation(
        "db", remote_app_data={"endpoints": "10.0.0.4:5432", "username": "u", "password": "p"}
    )
    with context(context.on.update_status(), testing.State(relations={plain})) as m:
        assert m.charm.db.credentials() == database.Credentials(
            "10.0.0.4:5432", "probe-db", "u", "p"
        )


def test_without_a_database_relation_there_are_no_credentials():
    context = ctx()
    with context(context.on.update_status(), testing.State()) as m:
        assert m.charm.db.credentials() is None


# -- lxd-https -----------------------------------------------------------------------------


def test_lxd_publishes_our_certificate_and_reads_units_and_clusters():
    standalone = testing.Relation(
        "hv",
        remote_app_name="lxd",
        remote_units_data={
            0: {"version": "1.0", "certificate": "S0", "addresses": "10.0.0.5:8443,10.0.1.5:8443"},
            1: {},  # not answered yet
        },
    )
    cluster = testing.Relation(
        "hv",
        remote_app_name="lxd-cluster",
        remote_app_data={"version": "1.0", "certificate": "C", "addresses": "10.9.0.1:8443"},
        remote_units_data={0: {}, 1: {}},
    )
    context = ctx()
    state = testing.State(leader=True, relations={standalone, cluster})
    with context(context.on.update_status(), state) as m:
        m.charm.hv.publish("OUR-CERT")
        servers = m.charm.hv.servers()
        names = m.charm.hv.names()
        out = m.run()

    assert servers == [
        lxd_https.Server("lxd-lxd-0", "https://10.0.0.5:8443", "S0"),
        lxd_https.Server("lxd-lxd-cluster", "https://10.9.0.1:8443", "C"),
    ]
    assert names == {"lxd-lxd", "lxd-lxd-0", "lxd-lxd-1", "lxd-lxd-cluster"} | {
        "lxd-lxd-cluster-0",
        "lxd-lxd-cluster-1",
    }
    for relation in (standalone, cluster):
        assert out.get_relation(relation.id).local_app_data == {
            "version": "1.0",
            "certificate": "OUR-CERT",
        }


@pytest.mark.parametrize(
    "data",
    [
        {"version": "2.0", "certificate": "S", "addresses": "10.0.0.5:8443"},
        {"certificate": "S", "addresses": "10.0.0.5:8443"},
        {"version": "1.0", "addresses": "10.0.0.5:8443"},
        {"version": "1.0", "certificate": "S", "addresses": ""},
        {"version": "1.0", "certificate": "S", "addresses": "evil/path?x:1"},
    ],
)
def test_malformed_lxd_answers_are_ignored(data):
    relation = testing.Relation("hv", remote_units_data={0: data})
    context = ctx()
    with context(context.on.update_status(), testing.State(relations={relation})) as m:
        assert m.charm.hv.servers() == []


# -- cos_agent -----------------------------------------------------------------------------


def test_cos_agent_unit_data_has_the_documented_shape(tmp_path: pathlib.Path):
    (tmp_path / "d.json").write_text(json.dumps({"title": "probe", "panels": []}))
    config = cos_agent.unit_config(
        port=7000,
        tls=True,
        token="vmh_reader",
        log_file=pathlib.Path("/var/log/probe.log"),
        dashboards_dir=tmp_path,
    )
    relation = testing.Relation("o11y")
    context = ctx()
    with context(context.on.update_status(), testing.State(relations={relation})) as m:
        m.charm.o11y.publish(config)
        out = m.run()

    data = json.loads(out.get_relation(relation.id).local_unit_data["config"])
    assert set(data) == {
        "metrics_alert_rules",
        "log_alert_rules",
        "dashboards",
        "metrics_scrape_jobs",
        "log_slots",
        "include_log_files",
    }
    (job,) = data["metrics_scrape_jobs"]
    assert (job["scheme"], job["static_configs"]) == ("https", [{"targets": ["localhost:7000"]}])
    assert job["tls_config"] == {"insecure_skip_verify": True}
    assert cos_agent.decode_dashboard(data["dashboards"][0])["title"] == "probe"
    assert data["include_log_files"] == ["/var/log/probe.log"]
