"""The paged host list the web UI reads (filters, sort, pages, filter choices) and the preview
of a settings change (the host's accounts with the proposed ratios, nothing written)."""

from __future__ import annotations

import dataclasses

import pytest
from core_support import add_fake_host, inventory

from vmhost import model
from vmhost.service import HostListQuery, HostSort, Services, views


@pytest.fixture()
def hosts(services: Services) -> dict[str, int]:
    services.zones.create("z1")
    services.zones.create("empty-zone")
    ids = {}
    for i, name in enumerate(["delta", "alpha", "charlie", "bravo"]):
        ids[name] = add_fake_host(services, name, inventory(cores=4 + 4 * i))
    services.hosts.update(ids["alpha"], model.HostChanges(zone="z1", tags=("gpu",)))
    services.hosts.update(ids["charlie"], model.HostChanges(zone="z1"))
    services.vms.compose(model.ComposeRequest(cores=3, memory_mib=1024, host_id=ids["bravo"]))
    return ids


def names(services: Services, **query: object) -> list[str]:
    page = services.host_list.page(HostListQuery(**query))  # type: ignore[arg-type]
    return [d.host.name for d in page.hosts]


def test_filters_sort_and_pages(services: Services, hosts: dict[str, int]) -> None:
    assert names(services) == ["alpha", "bravo", "charlie", "delta"]
    assert names(services, zone="z1") == ["alpha", "charlie"]
    assert names(services, tag="gpu") == ["alpha"]
    assert names(services, text="AR") == ["charlie"]
    assert names(services, status=model.HostStatus.ERROR) == []
    # free shared vCPUs: delta 4, alpha 8, charlie 12, bravo 16 - 3 = 13
    assert names(services, sort=HostSort.FREE_CORES) == ["delta", "alpha", "charlie", "bravo"]
    assert names(services, sort=HostSort.FREE_CORES, descending=True)[0] == "bravo"
    assert names(services, sort=HostSort.VMS, descending=True)[0] == "bravo"
    page = services.host_list.page(HostListQuery(per_page=3, page=2))
    assert [d.host.name for d in page.hosts] == ["delta"]
    assert (page.matching, page.total, page.pages) == (4, 4, 2)
    beyond = services.host_list.page(HostListQuery(per_page=3, page=9))
    assert beyond.hosts == [] and beyond.matching == 4


def test_a_page_holds_the_same_accounts_as_the_host_read(
    services: Services, hosts: dict[str, int]
) -> None:
    listed = services.host_list.page(HostListQuery(text="bravo")).hosts[0]
    read = services.hosts.get(hosts["bravo"])
    assert views.host_summary(listed.view) == views.host_summary(read.view)


def test_filter_choices_count_hosts(services: Services, hosts: dict[str, int]) -> None:
    facets = services.host_list.page(HostListQuery(zone="z1")).facets
    assert dict(facets.zones) == {"default": 2, "z1": 2, "empty-zone": 0}
    assert dict(facets.tags) == {"gpu": 1}
    assert dict(facets.statuses) == {"ready": 4}
    usage = services.host_list.usage_of_names()
    assert sorted(usage["zone"]["z1"]) == ["alpha", "charlie"]


def test_bad_paging_is_refused(services: Services) -> None:
    with pytest.raises(model.InvalidInputError) as err:
        HostListQuery(per_page=0)
    assert "per_page" in err.value.fields
    with pytest.raises(model.InvalidInputError):
        HostListQuery(page=0)


def test_settings_preview_is_the_host_with_other_settings(
    services: Services, hosts: dict[str, int]
) -> None:
    host = hosts["bravo"]  # 16 cores, 3 vCPUs composed
    before = services.hosts.get(host)
    preview = services.previews.settings(host, 0.1, 2.0, 0, 0)
    cores = dataclasses.asdict(views.resources(preview.then).cores)
    assert (cores["capacity"], cores["allocated"], cores["free"]) == (1, 3, -2)
    assert preview.min_cpu_ratio == 0.2  # floor(16 x 0.2) = 3 holds the 3 vCPUs
    memory = dataclasses.asdict(views.resources(preview.then).memory)
    assert memory["capacity_mib"] == 2 * before.view.memory_mib
    assert views.resources(preview.now) == views.resources(before.view)
    after = services.hosts.get(host)
    assert after.host.generation == before.host.generation  # nothing written
    assert after.host.cpu_over_commit_ratio == 1.0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((10.5, 1.0, 0, 0), "cpu_over_commit_ratio"),
        ((1.0, "x", 0, 0), "memory_over_commit_ratio"),
        ((1.0, 1.0, -1, 0), "reserved_cores"),
        ((1.0, 1.0, 99, 0), "reserved_cores"),
        ((1.0, 1.0, 0, 10**9), "reserved_memory_mib"),
    ],
)
def test_settings_preview_names_bad_fields(
    services: Services, hosts: dict[str, int], args: tuple[object, ...], field: str
) -> None:
    with pytest.raises(model.InvalidInputError) as err:
        services.previews.settings(hosts["alpha"], *args)
    assert field in err.value.fields
