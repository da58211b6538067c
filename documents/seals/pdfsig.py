"""Independent check with poppler's ``pdfsig`` (NSS), for tests and for operators (docs/seals.md).

pdfsig exits 0 even on "Digest Mismatch" and on an untrusted issuer (STACK.md §9), so the output is parsed. Trust
comes from a throwaway NSS database holding the given CA certificates (``certutil -A -t "C,C,C"``). OCSP checks
stay on: our certificates carry no AIA, so nothing is fetched, and ``-no-ocsp`` made poppler 22.12 report a trusted
chain as "Unknown issue".
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class PdfsigUnavailable(RuntimeError):
    pass


@dataclass
class PdfsigSignature:
    field_name: str = ""
    signer_cn: str = ""
    signer_dn: str = ""
    hash_algorithm: str = ""
    signature_type: str = ""
    total_document_signed: bool = False
    signature_validation: str = ""  # e.g. "Signature is Valid." / "Digest Mismatch."
    certificate_validation: str = ""  # e.g. "Certificate is Trusted." / "Certificate issuer isn't Trusted."

    @property
    def valid(self) -> bool:
        return self.signature_validation == "Signature is Valid."

    @property
    def trusted(self) -> bool:
        return self.certificate_validation == "Certificate is Trusted."


@dataclass
class PdfsigReport:
    returncode: int
    output: str
    signatures: list[PdfsigSignature] = field(default_factory=list)


_FIELDS = {
    "Signature Field Name": "field_name",
    "Signer Certificate Common Name": "signer_cn",
    "Signer full Distinguished Name": "signer_dn",
    "Signing Hash Algorithm": "hash_algorithm",
    "Signature Type": "signature_type",
    "Signature Validation": "signature_validation",
    "Certificate Validation": "certificate_validation",
}


def parse_output(text: str) -> list[PdfsigSignature]:
    sigs: list[PdfsigSignature] = []
    for line in text.splitlines():
        if re.match(r"^Signature #\d+:", line):
            sigs.append(PdfsigSignature())
            continue
        m = re.match(r"^\s+- (.+?)(?::\s(.*))?$", line)
        if not m or not sigs:
            continue
        key, value = m.group(1).strip(), (m.group(2) or "").strip()
        if key == "Total document signed":
            sigs[-1].total_document_signed = True
        elif key in _FIELDS:
            setattr(sigs[-1], _FIELDS[key], value)
    return sigs


def run_pdfsig(pdf_bytes: bytes, trusted_ca_pems: tuple[str, ...] = (), *, timeout: float = 60) -> PdfsigReport:
    """pdfsig's view of ``pdf_bytes`` with an NSS database trusting exactly ``trusted_ca_pems`` (may be empty)."""
    pdfsig, certutil = shutil.which("pdfsig"), shutil.which("certutil")
    if pdfsig is None or certutil is None:
        raise PdfsigUnavailable("需要 poppler-utils（pdfsig）和 libnss3-tools（certutil）")
    with tempfile.TemporaryDirectory(prefix="oa-pdfsig-") as tmp:
        root = Path(tmp)
        nss = root / "nss"
        nss.mkdir()
        db = f"sql:{nss.resolve()}"
        subprocess.run([certutil, "-N", "-d", db, "--empty-password"], check=True, capture_output=True, timeout=timeout)
        for i, pem in enumerate(trusted_ca_pems):
            ca_file = root / f"ca{i}.pem"
            ca_file.write_text(pem)
            subprocess.run([certutil, "-A", "-d", db, "-n", f"oa-seal-ca-{i}", "-t", "C,C,C", "-i", str(ca_file)],
                           check=True, capture_output=True, timeout=timeout)
        pdf = root / "in.pdf"
        pdf.write_bytes(pdf_bytes)
        result = subprocess.run([pdfsig, "-nssdir", db, str(pdf)], capture_output=True, text=True, timeout=timeout)
    return PdfsigReport(result.returncode, result.stdout + result.stderr, parse_output(result.stdout))
