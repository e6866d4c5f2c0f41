"""Use cases: the only layer where store, scheduler and drivers meet. It owns transactions."""

from __future__ import annotations

from typing import Unpack

from vmhost.settings import Settings

from . import host_json, views
from .allocation import AllocationService
from .catalog import NamedService, SpacesService
from .certificates import CertificateInfo, CertificatesService, ClientCredentials
from .claims import Claim, ClaimsService
from .context import Context, Hooks
from .host_list import HostListPage, HostListQuery, HostListService, HostSort
from .hosts import Counts, HostDetail, HostsService
from .maas_catalog import MaasCatalogService
from .maas_files import MaasFilesService
from .machine_deploy import MachineDeployService
from .machine_release import MachineReleaseService
from .machines import MachinesService
from .previews import PreviewService, SettingsPreview
from .recovery import Reconciled, RecoveryService
from .tokens import AuthenticationError, Identity, Role, TokenRecord, TokensService
from .vms import ComposeResult, VmsService


class Services:
    """The composition root for one process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.certificates = CertificatesService(ctx)
        self.hosts = HostsService(ctx, self.certificates)
        self.claims = ClaimsService(ctx)
        self.vms = VmsService(ctx, self.claims)
        self.recovery = RecoveryService(ctx, self.claims)
        self.allocation = AllocationService(ctx, self.vms)
        self.zones = NamedService(ctx, "zone")
        self.pools = NamedService(ctx, "pool")
        self.spaces = SpacesService(ctx)
        self.tokens = TokensService(ctx)
        self.host_list = HostListService(ctx)
        self.previews = PreviewService(ctx)
        self.maas_catalog = MaasCatalogService(ctx)
        self.maas_files = MaasFilesService(ctx)
        self.machines = MachinesService(ctx, self.claims, self.vms)
        self.machine_release = MachineReleaseService(ctx, self.claims, self.machines)
        self.machine_deploy = MachineDeployService(ctx, self.machines)

    @classmethod
    def create(cls, settings: Settings, migrate: bool = True, **hooks: Unpack[Hooks]) -> Services:
        """Open the database (migrating it unless told not to) and build the services."""
        return cls(Context.create(settings, migrate, **hooks))

    def close(self) -> None:
        """Release database connections."""
        self.ctx.db.dispose()


__all__ = [
    "AllocationService",
    "AuthenticationError",
    "CertificateInfo",
    "CertificatesService",
    "Claim",
    "ClaimsService",
    "ClientCredentials",
    "ComposeResult",
    "Context",
    "Counts",
    "HostDetail",
    "HostListPage",
    "HostListQuery",
    "HostListService",
    "HostSort",
    "HostsService",
    "Identity",
    "MaasCatalogService",
    "MaasFilesService",
    "MachineDeployService",
    "MachineReleaseService",
    "MachinesService",
    "NamedService",
    "PreviewService",
    "Reconciled",
    "RecoveryService",
    "Role",
    "Services",
    "Settings",
    "SettingsPreview",
    "SpacesService",
    "TokenRecord",
    "TokensService",
    "VmsService",
    "host_json",
    "views",
]
