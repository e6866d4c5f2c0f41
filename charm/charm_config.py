"""The charm's typed inputs: config options (config.yaml) and action parameters (actions.yaml).

Pure pydantic models, loaded by `ops.CharmBase.load_config` and `ops.ActionEvent.load_params`
(dashes read as underscores). No I/O: whether a port is free or a secret readable is asked of
the workload or the model by the charm.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

Ratio = Annotated[float, pydantic.Field(ge=0.0, le=10.0, allow_inf_nan=False)]
Name = Annotated[str, pydantic.Field(min_length=1, max_length=255)]


class CharmConfig(pydantic.BaseModel):
    """The charm's config options."""

    model_config = pydantic.ConfigDict(frozen=True)

    port: int = pydantic.Field(default=5240, ge=1, le=65535)
    default_cpu_over_commit_ratio: Ratio = 1.0
    default_memory_over_commit_ratio: Ratio = 1.0
    scheduling_policy: Literal["pack", "spread", "least-loaded"] = "pack"
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # ops hands a `secret` option over as an `ops.Secret`; its URI is what is kept.
    tls_secret: Annotated[
        str | None, pydantic.BeforeValidator(lambda value: getattr(value, "id", value))
    ] = pydantic.Field(default=None, pattern=r"^secret:")


class AddHostParams(pydantic.BaseModel):
    """Parameters of the add-host action."""

    type: Literal["lxd", "libvirt"]
    address: str = pydantic.Field(min_length=1, max_length=2048)
    name: Name | None = None
    zone: Name | None = None
    pool: Name | None = None
    project: Name | None = None
    trust_token: str | None = pydantic.Field(default=None, min_length=1, max_length=4096)


class HostParams(pydantic.BaseModel):
    """Parameters of the actions that name one VM host (get-certificate, refresh)."""

    host: Name


class ComposeParams(pydantic.BaseModel):
    """Parameters of the compose action: Juju constraints, or sizes."""

    host: Name | None = None
    constraints: str | None = pydantic.Field(default=None, max_length=4096)
    cores: int = pydantic.Field(default=1, ge=1, le=4096)
    memory_mib: int = pydantic.Field(default=2048, ge=1024, le=2**40)
    storage: str | None = pydantic.Field(default=None, max_length=4096)
    interfaces: str | None = pydantic.Field(default=None, max_length=4096)
    hostname: Name | None = None


class DecomposeParams(pydantic.BaseModel):
    """Parameters of the decompose action."""

    vm: int = pydantic.Field(ge=1)


class ListVmsParams(pydantic.BaseModel):
    """Parameters of the list-vms action."""

    host: Name | None = None


class CreateTokenParams(pydantic.BaseModel):
    """Parameters of the create-token action."""

    name: str = pydantic.Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.-]*$")
    read_only: bool = False


class Waiting(Exception):  # noqa: N818 (a status, not an error)
    """Something outside this unit is not there yet; `str()` is the status message."""


class Blocked(Exception):  # noqa: N818
    """The operator must act; `str()` is the status message."""


def config_error_message(error: pydantic.ValidationError) -> str:
    """A one-line status message naming each invalid option, its value and what is wrong."""
    problems: list[str] = []
    for problem in error.errors():
        option = "-".join(str(part) for part in problem["loc"]).replace("_", "-")
        problems.append(f"{option}={problem['input']!r}: {problem['msg']}")
    return "invalid config: " + "; ".join(problems)
