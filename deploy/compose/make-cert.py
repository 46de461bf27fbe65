"""Writes a self-signed certificate for localhost into the directory given (cert.pem,
key.pem), readable by the albauth image's uid 10001: ALB authenticates on HTTPS listeners
only, and on a laptop nobody has a certificate for localhost at hand. Runs with the image's
own Python (cryptography is one of albauth's dependencies)."""

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

directory = sys.argv[1]
if os.path.exists(os.path.join(directory, "cert.pem")):
    sys.exit(0)  # kept across `compose up`s, so the browser's exception stays valid
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
for file, data in (("cert.pem", cert.public_bytes(serialization.Encoding.PEM)),
                   ("key.pem", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))):
    path = os.path.join(directory, file)
    with open(path, "wb") as out:
        out.write(data)
    if os.getuid() == 0:
        os.chown(path, 10001, 10001)
    os.chmod(path, 0o600 if file == "key.pem" else 0o644)
