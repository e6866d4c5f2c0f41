"""The JSON of the MAAS API's catalogue, as gomaasapi and python-libmaas read it (pure).

Every key the clients require is present with its type (``tests/functional/maas/
test_catalog_shapes.py`` checks them against the tables of what gomaasapi requires); MAAS's
other keys are added where they are cheap, so a stricter client meets no missing key.
"""

from __future__ import annotations

from typing import Any

from vmhost import __version__, model
from vmhost.service.maas_catalog import MaasBootResource, MaasSpace, MaasSubnet

PREFIX = "/MAAS/api/2.0"  # = vmhost.maas.PREFIX (a test checks it)
#: The MAAS version answered: the last MAAS with VM hosts, whose API this one follows.
MAAS_VERSION = "3.7.3"
#: What ``version/`` says MAAS can do (gomaasapi's list; Juju checks none of them).
CAPABILITIES = (
    "networks-management",
    "static-ipaddresses",
    "ipv6-deployment-ubuntu",
    "devices-management",
    "storage-deployment-ubuntu",
    "network-deployment-ubuntu",
)
DOMAIN_ID = 0
DOMAIN_NAME = "maas"
DEFAULT_MTU = 1500


def version() -> dict[str, Any]:
    """``GET version/``."""
    return {
        "capabilities": list(CAPABILITIES),
        "version": MAAS_VERSION,
        "subversion": f"vmhost-{__version__}",
    }


def user(username: str, is_admin: bool) -> dict[str, Any]:
    """``GET users/?op=whoami``: the token as a MAAS user."""
    return {
        "username": username,
        "email": "",
        "is_superuser": is_admin,
        "is_local": True,
        "resource_uri": f"{PREFIX}/users/{username}/",
    }


def zone(item: model.Zone) -> dict[str, Any]:
    """A zone (``zones/``); MAAS names a zone's URI by its name."""
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "resource_uri": f"{PREFIX}/zones/{item.name}/",
    }


def domain() -> dict[str, Any]:
    """The one domain of the machines' FQDNs (``domains/``)."""
    return {
        "id": DOMAIN_ID,
        "name": DOMAIN_NAME,
        "authoritative": True,
        "is_default": True,
        "ttl": None,
        "resource_record_count": 0,
        "resource_uri": f"{PREFIX}/domains/{DOMAIN_ID}/",
    }


def vlan(subnet: MaasSubnet) -> dict[str, Any]:
    """The synthetic untagged VLAN of a subnet: fabric = the host network's name."""
    return {
        "id": subnet.id,
        "name": "untagged",
        "vid": 0,
        "mtu": DEFAULT_MTU,
        "dhcp_on": subnet.dhcp_on,
        "external_dhcp": None,
        "relay_vlan": None,
        "fabric": subnet.network,
        "fabric_id": subnet.id,
        "primary_rack": None,
        "secondary_rack": None,
        "space": subnet.space,
        "resource_uri": f"{PREFIX}/vlans/{subnet.id}/",
    }


def subnet(item: MaasSubnet) -> dict[str, Any]:
    """A subnet: a host network with an IPv4 CIDR."""
    return {
        "id": item.id,
        "name": item.cidr,
        "description": f"{item.network} on VM host {item.host}",
        "cidr": item.cidr,
        "vlan": vlan(item),
        "space": item.space,
        "gateway_ip": None,
        "dns_servers": [],
        "managed": item.dhcp_on,
        "active_discovery": False,
        "allow_dns": True,
        "allow_proxy": True,
        "rdns_mode": 2,
        "resource_uri": f"{PREFIX}/subnets/{item.id}/",
    }


def space(item: MaasSpace) -> dict[str, Any]:
    """A space with its subnets (and their VLANs, as MAAS lists them)."""
    return {
        "id": item.id,
        "name": item.name,
        "description": "",
        "subnets": [subnet(s) for s in item.subnets],
        "vlans": [vlan(s) for s in item.subnets],
        "resource_uri": f"{PREFIX}/spaces/{item.id}/",
    }


def boot_resource(item: MaasBootResource) -> dict[str, Any]:
    """A synced image: ``ubuntu/<series>`` on ``<arch>/generic``."""
    subarch = item.architecture.partition("/")[2] or "generic"
    return {
        "id": item.id,
        "type": "Synced",
        "name": item.name,
        "architecture": item.architecture,
        "subarches": subarch,
        "kflavor": "generic",
        "resource_uri": f"{PREFIX}/boot-resources/{item.id}/",
    }
