"""The control plane's certificates, made per run (nothing is reused across runs):
a CA, the API server's serving certificate for 127.0.0.1, an admin client certificate
(group system:masters) and the service-account signing key."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICE_IP = "10.96.0.1"  # the first address of --service-cluster-ip-range


@dataclass(frozen=True)
class Pki:
    folder: Path

    def path(self, name: str) -> str:
        return str(self.folder / name)


def _name(common: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _certificate(subject: x509.Name, key, issuer: x509.Name, issuer_key, *, ca: bool,
                 usages: list, names: list | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path, serving_ips: tuple[str, ...] = ()) -> Pki:
    """`serving_ips`: more addresses the API server is reached at (a real node's)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("cloudgeo-test-ca")
    ca = _certificate(ca_name, ca_key, ca_name, ca_key, ca=True, usages=[])
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key, folder / "ca.key")
    leaves = {
        "apiserver": (_name("kube-apiserver"), [ExtendedKeyUsageOID.SERVER_AUTH], [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address(SERVICE_IP)), x509.DNSName("localhost"),
            x509.DNSName("kubernetes.default.svc"),
            *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in serving_ips)]),
        "admin": (_name("admin", "system:masters"), [ExtendedKeyUsageOID.CLIENT_AUTH], None),
    }
    for name, (subject, usages, names) in leaves.items():
        _leaf(folder, name, subject, usages, names, ca_name, ca_key)
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(signer, folder / "sa.key")
    (folder / "sa.pub").write_bytes(signer.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return Pki(folder)


def _leaf(folder: Path, name: str, subject: x509.Name, usages: list, names: list | None,
          ca_name: x509.Name, ca_key) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(subject, key, ca_name, ca_key, ca=False, usages=usages, names=names)
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, folder / f"{name}.key")


def issue_client_certificate(pki: Pki, name: str, user: str, group: str) -> None:
    """`name`.crt and `name`.key: a client certificate for `user` in `group` (a kubelet's
    is system:node:<node> in system:nodes, which the Node authorizer expects)."""
    ca_key = serialization.load_pem_private_key(Path(pki.path("ca.key")).read_bytes(), None)
    ca = x509.load_pem_x509_certificate(Path(pki.path("ca.crt")).read_bytes())
    _leaf(pki.folder, name, _name(user, group), [ExtendedKeyUsageOID.CLIENT_AUTH], None,
          ca.subject, ca_key)


def kubeconfig(server: str, ca: str, user: dict[str, str]) -> dict:
    """A kubeconfig for one user: {"client-certificate": ..., "client-key": ...} or
    {"token": ...}."""
    return {"apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": server,
                                                      "certificate-authority": ca}}],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "user"}}]}
