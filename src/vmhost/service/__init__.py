"""Use cases: the only layer where store, scheduler and drivers meet. It owns transactions."""

from __future__ import annotations

from vmhost.settings import Settings

from . import views
from .allocation import AllocationService
from .catalog import (
    AuthenticationError,
    HostExtrasService,
    Identity,
    NamedService,
    Role,
    SpacesService,
    TokensService,
)
from .context import Context
from .hosts import HostDetail, HostsService
from .vms import ComposeResult, VmsService


class Services:
    """The composition root for one process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.hosts = HostsService(ctx)
        self.vms = VmsService(ctx)
        self.allocation = AllocationService(ctx)
        self.zones = NamedService(ctx, "zone")
        self.pools = NamedService(ctx, "pool")
        self.spaces = SpacesService(ctx)
        self.tokens = TokensService(ctx)
        self.extras = HostExtrasService(ctx)

    @classmethod
    def create(cls, settings: Settings, **kwargs: object) -> Services:
        """Open the database (migrating it) and build the services."""
        return cls(Context.create(settings, **kwargs))  # type: ignore[arg-type]

    def close(self) -> None:
        """Release database connections."""
        self.ctx.db.dispose()


__all__ = [
    "AllocationService",
    "AuthenticationError",
    "ComposeResult",
    "Context",
    "HostDetail",
    "HostExtrasService",
    "HostsService",
    "Identity",
    "NamedService",
    "Role",
    "Services",
    "Settings",
    "SpacesService",
    "TokensService",
    "VmsService",
    "views",
]
