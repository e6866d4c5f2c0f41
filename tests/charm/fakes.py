"""One stand-in for the charm's workload (`workload.Workload`) and the service behind it.

`FakeWorkload` keeps the state the real one would change on the machine (unit config written,
service running, packages, files) and hands out a `FakeApi`: the service's VM hosts, VMs and
tokens in memory, with the same methods, results and errors as `service_client.ServiceApi`.
Tests install it with one `monkeypatch` of `workload.Workload` (the `fake` fixture).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import service_client
import workload
from vmhost_provider.constraints import ConstraintsError, parse


@dataclasses.dataclass
class FakeHost:
    id: int
    name: str
    type: str
    address: str
    cores: int = 8
    status: str = "ready"
    tags: tuple[str, ...] = ()
    certificate: str = ""
    server_certificate: str = ""
    refreshed: int = 0


@dataclasses.dataclass
class FakeVm:
    id: int
    hostname: str
    host: FakeHost
    cores: int
    memory_mib: int
    owner: str = ""
    addresses: tuple[str, ...] = ()


class FakeApi:
    """`service_client.ServiceApi` over in-memory hosts and VMs."""

    def __init__(self) -> None:
        self.hosts: dict[str, FakeHost] = {}
        self.vms: dict[int, FakeVm] = {}
        self.tokens: dict[str, str] = {}
        self.accepted: set[str] = set()
        self.calls: list[tuple[str, Any]] = []
        self.down = False
        self._ids = 0

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def _check(self, call: str, argument: Any = None) -> None:
        self.calls.append((call, argument))
        if self.down:
            raise service_client.ServiceError("cannot reach http://127.0.0.1:5240: refused")

    def _host(self, key: int | str) -> FakeHost:
        for host in self.hosts.values():
            if str(host.id) == str(key) or host.name == key:
                return host
        raise service_client.ServiceError(f"VM host {key!r} does not exist")

    # the service ---------------------------------------------------------------------------

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def version(self) -> str:
        self._check("version")
        return "0.1.0"

    def check_token(self) -> None:
        self._check("check_token")
        if self.token not in self.accepted:
            raise service_client.UnauthorizedError("the vmhost service refused the charm's token")

    token = ""

    def token_accepted(self) -> bool:
        self._check("token_accepted")
        return self.token in self.accepted or self.token in self.tokens.values()

    # actions -------------------------------------------------------------------------------

    def add_host(self, fields: dict[str, Any]) -> dict[str, str]:
        self._check("add_host", fields)
        name = fields.get("name") or fields["address"].split("//")[-1].split(":")[0]
        if name in self.hosts:
            raise service_client.ServiceError(f"a VM host named {name!r} already exists")
        trusted = fields["type"] != "lxd" or bool(fields.get("trust_token"))
        host = FakeHost(
            self._next(),
            name,
            fields["type"],
            fields["address"],
            status="ready" if trusted else "untrusted",
            certificate=f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n",
        )
        self.hosts[name] = host
        results = {"id": str(host.id), "name": name, "status": host.status}
        if not trusted:
            results.update(self.certificate(name))
        return results

    def certificate(self, key: int | str) -> dict[str, str]:
        self._check("certificate", key)
        host = self._host(key)
        if host.type != "lxd":
            raise service_client.ServiceError(
                f"client certificate of VM host {host.name!r} does not exist"
            )
        return {
            "certificate": host.certificate,
            "fingerprint": "ab" * 32,
            "trust-command": f"lxc config trust add - --name vmhost-{host.name} <<'EOF' ...",
        }

    def refresh(self, key: int | str) -> dict[str, str]:
        self._check("refresh", key)
        host = self._host(key)
        host.refreshed += 1
        return {"id": str(host.id), "name": host.name, "status": host.status}

    def compose(self, **request: Any) -> dict[str, str]:
        self._check("compose", request)
        cores = request["cores"]
        if request.get("constraints"):
            try:
                cores = parse(request["constraints"]).cores or 1
            except ConstraintsError as exc:
                raise service_client.ServiceError(
                    f"constraints {request['constraints']!r}: {exc}"
                ) from None
        vm = self._compose(cores, request["memory_mib"], owner="", host=request.get("host"))
        if vm is None:
            raise service_client.ServiceError(
                f"No VM host can take this request: lack {cores} cores"
            )
        return {"id": str(vm.id), "hostname": vm.hostname, "host": vm.host.name}

    def _compose(
        self, cores: int, memory_mib: int, *, owner: str, host: str | None = None
    ) -> FakeVm | None:
        for candidate in self.hosts.values():
            if host is not None and host not in (candidate.name, str(candidate.id)):
                continue
            used = sum(v.cores for v in self.vms.values() if v.host is candidate)
            if candidate.status == "ready" and candidate.cores - used >= cores:
                vm_id = self._next()
                vm = FakeVm(
                    vm_id, f"vm-{vm_id}", candidate, cores, memory_mib, owner, (f"10.0.0.{vm_id}",)
                )
                self.vms[vm_id] = vm
                return vm
        return None

    def decompose(self, vm_id: int) -> dict[str, str]:
        self._check("decompose", vm_id)
        if vm_id not in self.vms:
            raise service_client.ServiceError(f"VM {vm_id} does not exist")
        vm = self.vms.pop(vm_id)
        return {"id": str(vm_id), "name": vm.hostname}

    def list_hosts(self) -> dict[str, str]:
        self._check("list_hosts")
        import json

        return {"count": str(len(self.hosts)), "hosts": json.dumps(sorted(self.hosts))}

    def list_vms(self, host: str | None = None) -> dict[str, str]:
        self._check("list_vms", host)
        import json

        vms = [v.hostname for v in self.vms.values() if host is None or v.host.name == host]
        return {"count": str(len(vms)), "vms": json.dumps(vms)}

    def create_token(self, name: str, *, read_only: bool) -> tuple[str, dict[str, str]]:
        self._check("create_token", name)
        if name in self.tokens:
            raise service_client.ServiceError(f"a token named {name!r} already exists")
        token = f"vmh_{name}_{self._next()}"
        self.tokens[name] = token
        return token, {
            "id": str(len(self.tokens)),
            "name": name,
            "role": "readonly" if read_only else "admin",
        }

    def renew_token(self, name: str, *, read_only: bool) -> str:
        self.tokens.pop(name, None)
        return self.create_token(name, read_only=read_only)[0]

    def host_count(self) -> int:
        self._check("host_count")
        return len(self.hosts)

    def hosts_summary(self) -> tuple[int, int]:
        self._check("hosts_summary")
        return len(self.hosts), sum(1 for h in self.hosts.values() if h.status != "ready")

    # integrations --------------------------------------------------------------------------

    def sync_lxd_hosts(self, wanted: Any, keep: Any, *, certificate: str, key: str) -> list[str]:
        self._check("sync_lxd_hosts")
        names = set(keep)
        for server in wanted:
            names.add(server.name)
            host = self.hosts.get(server.name)
            if host is None:
                self.hosts[server.name] = FakeHost(
                    self._next(),
                    server.name,
                    "lxd",
                    server.address,
                    tags=(service_client.LXD_RELATION_TAG,),
                    certificate=certificate,
                    server_certificate=server.server_certificate,
                )
            else:
                host.address = server.address
                host.refreshed += 1
        for name, host in list(self.hosts.items()):
            if service_client.LXD_RELATION_TAG in host.tags and name not in names:
                del self.hosts[name]  # its VMs stay on the hypervisor
        return []

    def machines(self, owner: str, constraints: str, count: int) -> service_client.MachinesAnswer:
        self._check("machines", (owner, constraints, count))
        mine = sorted((v for v in self.vms.values() if v.owner == owner), key=lambda v: v.id)
        for extra in mine[count:]:
            self.decompose(extra.id)
        mine = mine[:count]
        error = None
        try:
            cons = parse(constraints)
        except ConstraintsError as exc:
            return service_client.MachinesAnswer(
                self._answer(mine), f"constraints {constraints!r}: {exc}"
            )
        while len(mine) < count:
            vm = self._compose(cons.cores or 1, cons.mem or 2048, owner=owner)
            if vm is None:
                error = f"no VM host can satisfy constraint cores={cons.cores or 1}"
                break
            self.calls.append(("composed", vm.id))
            mine.append(vm)
        return service_client.MachinesAnswer(self._answer(mine), error)

    @staticmethod
    def _answer(vms: list[FakeVm]) -> tuple[service_client.Machine, ...]:
        return tuple(service_client.Machine(v.id, v.hostname, v.addresses) for v in vms)

    def owners(self, prefix: str) -> set[str]:
        self._check("owners", prefix)
        return {v.owner for v in self.vms.values() if v.owner.startswith(prefix)}

    def release_owner(self, owner: str) -> int:
        self._check("release_owner", owner)
        mine = [v.id for v in self.vms.values() if v.owner == owner]
        for vm_id in mine:
            del self.vms[vm_id]
        return len(mine)


class FakeWorkload:
    """`workload.Workload` without the machine: what it would write and run, recorded."""

    def __init__(
        self, charm_dir: pathlib.Path, *, active: bool = True, ready: bool = True
    ) -> None:
        self.charm_dir = charm_dir
        self.data_dir = workload.DATA_DIR
        self.active = active
        self.ready = ready
        self.installed = False
        self.configs: list[workload.ServiceConfig] = []
        self.files: dict[str, str] = {}
        self.removed = False
        self.migrations = 0
        self.taken_ports: set[int] = set()
        self.sqlite_hosts = 0
        self.existing_sealing_key: str | None = None
        self.api_ = FakeApi()
        self.admin_tokens: list[str] = []

    def install(self) -> None:
        self.installed = True

    def service_config(self, **values: Any) -> workload.ServiceConfig:
        return workload.ServiceConfig(charm_dir=self.charm_dir, data_dir=self.data_dir, **values)

    def configure(
        self, config: workload.ServiceConfig, *, sealing_key: str, tls: tuple[str, str] | None
    ) -> bool:
        files = {"secret.key": sealing_key, **({"tls": "\n".join(tls)} if tls else {})}
        restart = (
            not self.configs
            or self.configs[-1] != config
            or files != self.files
            or not self.active
        )
        self.configs.append(config)
        self.files = files
        self.active = True
        return restart

    def is_active(self) -> bool:
        return self.active

    def is_ready(self, port: int, *, tls: bool) -> bool:
        return self.active and self.ready

    def wait_ready(self, port: int, *, tls: bool) -> bool:
        return self.is_ready(port, tls=tls)

    def port_taken(self, port: int, *, tls: bool) -> bool:
        return port in self.taken_ports

    def remove(self) -> None:
        self.active = False
        self.removed = True

    def sealing_key(self) -> str | None:
        return self.existing_sealing_key

    def sqlite_host_count(self) -> int:
        return self.sqlite_hosts

    def migrate(self, config: workload.ServiceConfig) -> None:
        self.migrations += 1

    def create_admin_token(self, config: workload.ServiceConfig) -> str:
        token = f"vmh_admin_{len(self.admin_tokens) + 1}"
        self.admin_tokens.append(token)
        self.api_.accepted = {token}
        return token

    def api(self, config: workload.ServiceConfig, token: str) -> FakeApi:
        self.api_.token = token
        return self.api_
