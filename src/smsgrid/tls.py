"""The self-signed certificate HTTPS serves: made on first start, kept in the data dir, reused after.

The SDK built from a connection string always speaks https (SPEC §2), so the default run needs TLS; clients
trust this one file with `connection_verify=<cert path>`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path


def ensure_certificate(data_dir: Path) -> TlsFiles:
    folder = data_dir / "tls"
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    if files.cert.exists() and files.key.exists():
        return files
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smsgrid local")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tmp_key = files.key.with_suffix(".tmp")
    tmp_key.unlink(missing_ok=True)  # a leftover of a crash may have another mode; O_EXCL below makes a new one
    # Created 0600, never readable by others even for a moment (a write-then-chmod leaves a window).
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    tmp_key.replace(files.key)
    tmp_cert = files.cert.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_cert.replace(files.cert)
    return files
