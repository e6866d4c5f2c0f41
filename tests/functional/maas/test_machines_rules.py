"""The rules under the machine life cycle: user data decoding, the series -> image map, owner
data merging, and a deploy a restart interrupted (reconcile: Failed deployment, reservation
kept, nothing left on the host)."""

from __future__ import annotations

import base64
import gzip

import pytest
from core_support import assert_accounts_exact
from maas_support import MaasEnv
from test_machines_api import _on_host, _records, allocate, host  # noqa: F401

from vmhost import model
from vmhost.service.machine_deploy import decode_user_data

TEXT = "#cloud-config\nruncmd: [echo hi]\n"


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(gzip.compress(TEXT.encode())).decode(),  # Juju's
        base64.encodebytes(TEXT.encode()).decode(),  # python-libmaas's (newlines)
        "  " + base64.b64encode(TEXT.encode()).decode() + "\n",
    ],
)
def test_user_data_is_decoded(encoded: str) -> None:
    assert decode_user_data(encoded) == TEXT


@pytest.mark.parametrize(
    ("encoded", "words"),
    [
        ("%%%", "not base64"),
        (base64.b64encode(b"\x1f\x8bbroken").decode(), "gzip data is corrupt"),
        (base64.b64encode(b"\xff\xfe\x00").decode(), "must be text"),
    ],
)
def test_undecodable_user_data_names_the_field(encoded: str, words: str) -> None:
    with pytest.raises(model.InvalidInputError) as caught:
        decode_user_data(encoded)
    assert "user_data" in caught.value.fields and words in caught.value.message


def test_series_images() -> None:
    assert model.image_for_series({}, "") == ("noble", "ubuntu:24.04")
    assert model.image_for_series({}, "jammy") == ("jammy", "ubuntu:22.04")
    assert model.image_for_series({}, "my-custom-image") == ("my-custom-image", "my-custom-image")
    own = {"series_images": {"noble": "vmhost-test"}}
    assert model.image_for_series(own, "noble") == ("noble", "vmhost-test")
    assert model.series_images(own)["focal"] == "ubuntu:20.04"


def test_owner_data_merge() -> None:
    merged = model.merged_owner_data({"a": "1", "b": "2"}, {"b": "", "c": "3"})
    assert merged == (("a", "1"), ("c", "3"))
    with pytest.raises(model.InvalidInputError):
        model.merged_owner_data({}, {"": "x"})


def test_interrupted_deploy_is_failed_at_restart(maas: MaasEnv, host: int) -> None:  # noqa: F811
    sid = allocate(maas, cpu_count="1").json()["system_id"]
    machine, _work = maas.services.machine_deploy.start(sid, "juju", "noble", None)
    assert machine.fields.status is model.MaasStatus.DEPLOYING  # the work never runs
    result = maas.services.recovery.reconcile(older_than_s=0)
    assert any(sid in a or machine.vm.name in a for a in result.actions)
    after = maas.get(f"machines/{sid}/").json()
    assert after["status_name"] == "Failed deployment"
    assert "restarted during the deploy" in after["status_message"]
    assert _on_host() == {} and _records(maas) == 1
    assert_accounts_exact(maas.services)
    assert maas.post(f"machines/{sid}/?op=release").status_code == 200
    assert _records(maas) == 0


def test_warm_pool_vms_are_not_offered_as_ready_machines(maas: MaasEnv, host: int) -> None:  # noqa: F811
    warm = maas.services.vms.compose(model.ComposeRequest(cores=1, memory_mib=1024))
    assert warm.vm.owner == "" and warm.vm.state is model.VmState.READY  # booted, idle
    assert maas.get("machines/").json() == []
    taken = allocate(maas, cpu_count="1", mem="1024").json()
    assert taken["hostname"] != warm.vm.hostname
    assert [m["system_id"] for m in maas.get("machines/").json()] == [taken["system_id"]]
    assert maas.services.vms.get(warm.vm.id).owner == ""
    assert_accounts_exact(maas.services)
