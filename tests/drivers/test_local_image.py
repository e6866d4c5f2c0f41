"""``python -m vmhost.local`` (what ``scripts/run`` runs each time) applies
``VMHOST_LOCAL_LXD_IMAGE`` on every run, not only when the local LXD is first registered
(issue 12 item 20): the README's offline advice works on a second run too.

Against the real LXD on 127.0.0.1:8443 with a throwaway data directory; the trust entry the
run adds is removed afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import lxd_helpers as h
import pytest

from vmhost import local
from vmhost.service import Services, Settings

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = Services.create(Settings(data_dir=str(tmp_path)))
    fingerprints: list[str] = []
    try:
        yield services
    finally:
        try:
            host_id = services.hosts.host_id_by_name("local-lxd")
            fingerprints.append(services.certificates.certificate(host_id).fingerprint)
            services.hosts.delete(host_id, decompose=True)
        finally:
            services.close()
            listed = json.loads(h.lxc("config", "trust", "list", "--format", "json"))
            trusted = {c["fingerprint"] for c in listed}
            for fingerprint in fingerprints:
                if fingerprint in trusted:
                    h.lxc("config", "trust", "remove", fingerprint)


def _image(services: Services) -> object:
    host_id = services.hosts.host_id_by_name("local-lxd")
    return services.hosts.parameters(host_id)["options"].get("image")


def test_every_run_applies_the_image_variable(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VMHOST_LOCAL_LXD_IMAGE", raising=False)
    assert local.register_lxd(services).startswith("ready"), "the local LXD is not ready"
    assert _image(services) is None  # LXD's default image (ubuntu:24.04), from the internet

    monkeypatch.setenv("VMHOST_LOCAL_LXD_IMAGE", h.IMAGE)  # the README's offline advice
    assert local.register_lxd(services).startswith("ready")
    assert _image(services) == h.IMAGE
    host_id = services.hosts.host_id_by_name("local-lxd")
    assert services.ctx.connection(host_id).options["image"] == h.IMAGE

    monkeypatch.delenv("VMHOST_LOCAL_LXD_IMAGE")  # not given: the host's setting is kept
    local.register_lxd(services)
    assert _image(services) == h.IMAGE
