"""The deployment's 制章者 (seal maker) CA: X.509 certificates for PAdES and SM2 certificates for GB/T 38540.

Two parallel hierarchies, one per signature kind a stamped PDF carries:

- PAdES (pyHanko, pdfsig): an ECDSA P-256 root ("…电子印章制章者") issues each seal an ECDSA P-256 or RSA-2048
  certificate with keyUsage digitalSignature + nonRepudiation (pyHanko refuses signer certificates without
  nonRepudiation by default). Built with ``cryptography``.
- GB/T 38540 (SES): ``cryptography`` cannot make SM2 certificates, so the SM2 root and the seals' SM2 certificates
  are assembled with ``asn1crypto`` (the same X.509 profile: subject, validity, basicConstraints, keyUsage, key
  identifiers) and signed SM2-with-SM3 over DER(tbsCertificate) with the issuer's key. OpenSSL 3 verifies them
  (``openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem seal.pem``: OpenSSL 3.0 needs the default SM2
user ID spelled out; see tests/test_seals_crypto.py).

Both certificates of a seal carry the same subject, so a verifier sees one seal with two keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import textwrap
from dataclasses import dataclass

from asn1crypto import algos, keys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from documents.seals import sm2

ALG_ECDSA_P256 = "ecdsa_p256"
ALG_RSA_2048 = "rsa_2048"
ALGORITHMS = (ALG_ECDSA_P256, ALG_RSA_2048)

# Clock skew allowance: a certificate issued "now" must already be valid for a verifier a few seconds behind.
BACKDATE = dt.timedelta(minutes=10)

keys.NamedCurve.register("sm2p256v1", sm2.OID_SM2_CURVE, 32)


class CAError(ValueError):
    pass


def build_name(common_name: str, organization: str, unit: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_key(pkcs8_der: bytes):
    return serialization.load_der_private_key(pkcs8_der, password=None)


def load_cert(pem_or_der: str | bytes) -> x509.Certificate:
    data = pem_or_der.encode() if isinstance(pem_or_der, str) else pem_or_der
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=not ca, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
    )


@dataclass(frozen=True)
class AuthorityMaterial:
    cert_pem: str  # ECDSA P-256 root, self-signed
    key_der: bytes  # PKCS#8, plaintext: the caller encrypts it before storing
    sm2_public_hex: str
    sm2_private_hex: str  # plaintext: the caller encrypts it
    sm2_cert_der: bytes  # SM2 root, self-signed (the 制章者证书 of GB/T 38540)


def create_authority(common_name: str, organization: str, *, years: int = 20,
                     now: dt.datetime | None = None) -> AuthorityMaterial:
    now = now or dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=365 * years)
    key = ec.generate_private_key(ec.SECP256R1())
    name = build_name(common_name, organization)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    sm2_private, sm2_public = sm2.generate_keypair()
    sm2_cert = issue_sm2_certificate(
        issuer_private_hex=sm2_private, issuer_public_hex=sm2_public, issuer_name=name,
        subject_name=name, subject_public_hex=sm2_public, not_before=now - BACKDATE, not_after=not_after, ca=True,
    )
    return AuthorityMaterial(cert_pem(cert), _pkcs8(key), sm2_public, sm2_private, sm2_cert)


def issue_seal_certificate(*, authority_cert_pem: str, authority_key_der: bytes, algorithm: str, subject: x509.Name,
                           not_before: dt.datetime, not_after: dt.datetime) -> tuple[bytes, str]:
    """A new key of ``algorithm`` and its certificate from the authority: (PKCS#8 DER, certificate PEM)."""
    if algorithm == ALG_ECDSA_P256:
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == ALG_RSA_2048:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise CAError(f"不支持的印章算法：{algorithm}")
    issuer_cert = load_cert(authority_cert_pem)
    issuer_key = load_private_key(authority_key_der)
    if not_after > issuer_cert.not_valid_after_utc:
        raise CAError("印章有效期不能超过制章者证书的有效期")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return _pkcs8(key), cert_pem(cert)


# ---- SM2 certificates (asn1crypto) --------------------------------------------------------------------------------

def _time(value: dt.datetime) -> ax509.Time:
    value = value.astimezone(dt.UTC).replace(microsecond=0)
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    return ax509.Time({"utc_time": value} if value.year < 2050 else {"general_time": value})


def sm2_public_key_info(public_hex: str) -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo({
        "algorithm": keys.PublicKeyAlgorithm({
            "algorithm": "ec",
            "parameters": keys.ECDomainParameters(name="named", value="sm2p256v1"),
        }),
        "public_key": bytes.fromhex("04" + public_hex),
    })


def _key_id(public_hex: str) -> bytes:
    # RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (an identifier, not a security function).
    return hashlib.sha1(bytes.fromhex("04" + public_hex), usedforsecurity=False).digest()


def issue_sm2_certificate(*, issuer_private_hex: str, issuer_public_hex: str, issuer_name: x509.Name,
                          subject_name: x509.Name, subject_public_hex: str, not_before: dt.datetime,
                          not_after: dt.datetime, ca: bool = False) -> bytes:
    """DER X.509 v3 certificate for an SM2 public key, signed SM2-with-SM3 by the issuer."""
    sig_alg = algos.SignedDigestAlgorithm({"algorithm": sm2.OID_SM2_SM3})
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True,
         "extn_value": {"ca": ca, "path_len_constraint": 0 if ca else None}},
        {"extn_id": "key_usage", "critical": True, "extn_value": ax509.KeyUsage(usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(subject_public_hex)},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": _key_id(issuer_public_hex)}},
    ]
    tbs = ax509.TbsCertificate({
        "version": "v3",
        "serial_number": int.from_bytes(secrets.token_bytes(16), "big") >> 1,
        "signature": sig_alg,
        "issuer": ax509.Name.load(issuer_name.public_bytes()),
        "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
        "subject": ax509.Name.load(subject_name.public_bytes()),
        "subject_public_key_info": sm2_public_key_info(subject_public_hex),
        "extensions": extensions,
    })
    signature = sm2.sign(issuer_private_hex, issuer_public_hex, tbs.dump())
    return ax509.Certificate({
        "tbs_certificate": tbs, "signature_algorithm": sig_alg, "signature_value": signature,
    }).dump()


@dataclass(frozen=True)
class SM2Cert:
    """The parts of an SM2 certificate a verifier needs."""

    der: bytes
    subject: str
    issuer: str
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    public_hex: str
    is_ca: bool
    key_usage: frozenset[str]
    tbs_der: bytes
    signature: bytes


_RDN_KEYS = {"common_name": "CN", "organization_name": "O", "organizational_unit_name": "OU", "country_name": "C"}


def dn_string(name: ax509.Name) -> str:
    """RFC 4514 order (most specific first), as pdfsig prints it: ``CN=…,O=…,C=CN``."""
    parts = []
    for rdn in reversed(name.chosen):
        for attr in rdn:
            parts.append(f"{_RDN_KEYS.get(attr['type'].native, attr['type'].native)}={attr['value'].native}")
    return ",".join(parts)


def parse_sm2_certificate(der: bytes) -> SM2Cert:
    try:
        cert = ax509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        spki = tbs["subject_public_key_info"]
        params = spki["algorithm"]["parameters"]
        if spki["algorithm"]["algorithm"].native != "ec" or params.chosen.dotted != sm2.OID_SM2_CURVE:
            raise CAError("证书公钥不是 SM2 公钥")
        if cert["signature_algorithm"]["algorithm"].dotted != sm2.OID_SM2_SM3:
            raise CAError("证书签名算法不是 SM2-with-SM3")
        point = spki["public_key"].native
        if len(point) != 65 or point[0] != 4:
            raise CAError("SM2 公钥须为未压缩点")
        basic = cert.basic_constraints_value
        usage = cert.key_usage_value
        validity = tbs["validity"]
        return SM2Cert(
            der=der,
            subject=dn_string(cert.subject),
            issuer=dn_string(cert.issuer),
            serial_hex=format(tbs["serial_number"].native, "x"),
            not_before=validity["not_before"].native,
            not_after=validity["not_after"].native,
            public_hex=sm2.check_public_key(point.hex()),
            is_ca=bool(basic and basic["ca"].native),
            key_usage=frozenset(usage.native) if usage else frozenset(),
            tbs_der=tbs.dump(),
            signature=cert["signature_value"].native,
        )
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, CAError):
            raise
        raise CAError(f"无法解析 SM2 证书：{exc}") from exc


def sm2_certificate_signed_by(cert: SM2Cert, issuer_public_hex: str) -> bool:
    return sm2.verify(issuer_public_hex, cert.tbs_der, cert.signature)


def der_to_pem(der: bytes) -> str:
    """PEM armour for a DER certificate (SM2 certificates included, which ``cryptography`` cannot load)."""
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
