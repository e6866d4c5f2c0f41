"""Service settings, read once at process entry points (environment ``VMHOST_*``)."""

from __future__ import annotations

import os

import pydantic
import pydantic_settings

from vmhost import model


class Settings(pydantic_settings.BaseSettings):
    """Where vmhost keeps its data, which database it uses and how it schedules."""

    model_config = pydantic_settings.SettingsConfigDict(env_prefix="VMHOST_")

    data_dir: str = pydantic.Field(default="/var/lib/vmhost", description="SQLite, keys, secrets")
    database_url: str = pydantic.Field(default="", description="empty = SQLite in data_dir")
    listen_host: str = pydantic.Field(
        default="127.0.0.1",
        description="address(es) to listen on, comma-separated: e.g. 127.0.0.1 and the VMs' "
        "bridge address, so that Juju's controller in a VM reaches the MAAS API; 0.0.0.0 is "
        "every address (every API still needs a token)",
    )
    listen_port: int = pydantic.Field(default=5240, ge=1, le=65535)
    policy: model.PlacementPolicy = model.PlacementPolicy.PACK
    default_cpu_over_commit_ratio: float = pydantic.Field(
        default=1.0, ge=0, le=10, allow_inf_nan=False, description="of hosts added without one"
    )
    default_memory_over_commit_ratio: float = pydantic.Field(
        default=1.0, ge=0, le=10, allow_inf_nan=False, description="of hosts added without one"
    )
    manager_name: str = "vmhost"
    compose_attempts: int = pydantic.Field(default=5, ge=1, le=50)
    reconcile_grace_s: float | None = pydantic.Field(
        default=None,
        ge=0,
        description="claims older than this are settled at start (default: 0 on SQLite, "
        "900 s on a database several managers share)",
    )
    migrate_at_start: bool = pydantic.Field(
        default=True,
        description="migrate the schema when serving starts (false: `vmhost-server db upgrade` "
        "does it, e.g. once for several managers sharing a database)",
    )
    log_level: str = "INFO"

    @pydantic.field_validator("listen_host")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for address in value.split(","):
            if not address.strip() or any(c.isspace() for c in address.strip()):
                raise ValueError(f"listen_host: {value!r} is not a comma-separated address list")
        return value

    def listen_hosts(self) -> tuple[str, ...]:
        """The addresses to listen on, in order, without repeats."""
        return tuple(dict.fromkeys(a.strip() for a in self.listen_host.split(",")))

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{os.path.join(self.data_dir, 'vmhost.db')}"
