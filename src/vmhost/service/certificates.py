"""LXD client certificates: checking an imported pair, generating one, and showing a host's
certificate with the command that makes the LXD host trust it."""

from __future__ import annotations

import dataclasses
import datetime

from vmhost import model, pki, store

from .context import Context


@dataclasses.dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a host authenticates with (the key is never shown or logged)."""

    certificate_pem: str = ""
    key_pem: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateInfo:
    """An LXD host's client certificate and how to make the host trust it."""

    host_id: int
    name: str
    certificate: str  # PEM
    cn: str
    fingerprint: str
    not_before: str
    not_after: str
    days_left: int
    generated_by_vmhost: bool
    fetch_url: str
    trust_command: str
    trust_command_restricted: str
    trust_heredoc: str


class CertificatesService:
    """Client certificates of LXD hosts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def client_credentials(
        self, host_type: model.HostType, certificate: str = "", key: str = ""
    ) -> ClientCredentials:
        """Check a client certificate + key given for a host (LXD only; the pair must match and
        have no passphrase). Nothing given: nothing to check (``HostsService.add`` generates
        the pair of a new LXD host)."""
        if host_type is not model.HostType.LXD:
            if certificate or key:
                field = "certificate" if certificate else "key"
                raise model.InvalidInputError.for_field(
                    field, "only LXD hosts authenticate with a client certificate"
                )
            return ClientCredentials()
        if not certificate and not key:
            return ClientCredentials()
        if key and not certificate:
            raise model.InvalidInputError.for_field(
                "certificate", "a private key was given without its certificate"
            )
        pair = pki.load_pair(certificate, key)
        return ClientCredentials(pair.certificate_pem, pair.key_pem)

    def pair_for(self, host_name: str, cert_pem: str, key_pem: str) -> ClientCredentials:
        """The pair a new LXD host authenticates with: the imported one (both halves, matching,
        no passphrase), or one generated for it."""
        if bool(cert_pem) != bool(key_pem):
            missing = "key" if cert_pem else "certificate"
            raise model.InvalidInputError.for_field(
                missing,
                f"import both the certificate and its private key (the {missing} is missing)",
            )
        if cert_pem:
            pki.load_pair(cert_pem, key_pem)  # raises field errors: passphrase, mismatch, not PEM
            return ClientCredentials(cert_pem, key_pem)
        pair = pki.generate(pki.client_cn(host_name, self.ctx.settings.manager_name))
        return ClientCredentials(pair.certificate_pem, pair.key_pem)

    def certificate(self, host_id: int, fetch_url: str = "") -> CertificateInfo:
        """An LXD host's client certificate: PEM, fingerprint, CN, validity, and the command
        that makes the LXD host trust it (from ``fetch_url`` when given)."""
        with self.ctx.db.read() as conn:
            host = store.hosts.host(conn, host_id)
            creds = store.hosts.credentials(conn, host_id)
        pem = str(creds.get("client_cert_pem") or "")
        if not pem:
            raise model.NotFoundError("client certificate of VM host", host.name)
        info = pki.describe(pem)
        projects = [host.project] if host.project else []
        source = fetch_url or "vmhost.crt"
        return CertificateInfo(
            host_id=host_id,
            name=host.name,
            certificate=pem,
            cn=info.cn,
            fingerprint=info.fingerprint,
            not_before=info.not_before.isoformat(),
            not_after=info.not_after.isoformat(),
            days_left=info.days_left(datetime.datetime.now(datetime.UTC)),
            generated_by_vmhost=info.generated_by_vmhost,
            fetch_url=fetch_url,
            trust_command=pki.trust_command(source, name=host.name),
            trust_command_restricted=pki.trust_command(source, name=host.name, projects=projects)
            if projects
            else "",
            trust_heredoc=f"lxc config trust add - <<EOF\n{pem.rstrip()}\nEOF",
        )

    def certificate_pem(self, name: str) -> str:
        """Only the PEM of a host's client certificate, by host name (the anonymous URL)."""
        pem = ""
        with self.ctx.db.read() as conn:
            try:
                host_id = store.hosts.host_id_by_name(conn, name)
            except model.NotFoundError:
                pass  # the same answer as for a host without a certificate, below
            else:
                pem = str(store.hosts.credentials(conn, host_id).get("client_cert_pem") or "")
        if not pem:
            # One 404 for "no such host" and "a host of another type": the anonymous URL does
            # not tell which other names exist.
            raise model.NotFoundError("client certificate of VM host", name)
        return pem
