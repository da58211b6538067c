"""验章: verify both signature kinds of a stamped PDF and say, in Chinese, what holds.

Pure: the caller supplies the trust anchors (the deployment's CA certificates, X.509 and SM2), any SES_Signature
blobs belonging to the PDF, and the revocation list of seals. ``documents.selectors.seals.verify_pdf`` does the
database part (finding the SES by the PAdES signature value, loading the authorities).

PAdES (pyHanko): a signature counts only if ``bottom_line`` holds (intact, cryptographically valid, trusted,
compliant modification level); ``intact`` and ``valid`` alone stay True for untrusted signers and for revisions
appended after signing (STACK.md §9). Validation time is now (no trusted timestamp in the signature), as pdfsig and
Acrobat do.

SES (GB/T 38540 §7.3, order of DOMAIN.md §3.4): 1 signature over TBS_Sign with the signer certificate; 2 signer
certificate ∈ the seal's certList; 3 the 制章者's signature over SES_SealInfo, the 制章者 certificate is one of ours,
the seal's validity window contains the signing time; 4 the signer certificate was issued by the 制章者 and is
valid at the signing time (and the seal not revoked before it); 5 timestamp (we make none: reported as absent);
6 SM3 of the protected bytes equals dataHash. Validity is judged at 签章时间 (timeInfo), trust against our anchors.

"文档在盖章后被修改" is reported when any PAdES signature is not intact, when bytes follow the last signature
(coverage not ENTIRE_FILE for the last one), when pyHanko's difference analysis finds anything but form filling
(another seal) after a signature, or when an SES data hash does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import asdict, dataclass, field

from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from documents.rendering.fonts import pdf_font_report
from documents.seals import ca, ses, sm2
from documents.seals.stamping import signature_value_digest

log = logging.getLogger(__name__)

MODIFIED_MESSAGE = "文档在盖章后被修改"
COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: ("entire_file", "签名覆盖整个文件"),
    SignatureCoverageLevel.ENTIRE_REVISION: ("entire_revision", "签名覆盖其签署时的版本，其后文件有追加内容"),
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: ("partial", "签名只覆盖文件开头的一部分"),
    SignatureCoverageLevel.UNCLEAR: ("unclear", "签名覆盖范围不明"),
}
MODIFICATION = {
    ModificationLevel.NONE: ("none", "签名后未修改"),
    ModificationLevel.LTA_UPDATES: ("lta_updates", "签名后仅追加了验证数据或时间戳"),
    ModificationLevel.FORM_FILLING: ("form_filling", "签名后仅追加了其他签章"),
    ModificationLevel.ANNOTATIONS: ("annotations", "签名后追加了批注"),
    ModificationLevel.OTHER: ("other", "签名后文件内容被修改"),
}
ACCEPTABLE_LATER = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING}
MECHANISMS = {"sha256_ecdsa": "ECDSA（P-256）+ SHA-256", "ecdsa": "ECDSA + SHA-256", "sha256_rsa": "RSA（PKCS#1 v1.5）+ SHA-256",
              "rsassa_pkcs1v15": "RSA（PKCS#1 v1.5）+ SHA-256", "rsassa_pss": "RSA-PSS + SHA-256"}
SM2_LABEL = "SM2 + SM3（1.2.156.10197.1.501）"


@dataclass(frozen=True)
class TrustAnchors:
    x509_roots: tuple[str, ...] = ()  # PEM CA certificates for PAdES
    sm2_roots: tuple[bytes, ...] = ()  # DER SM2 制章者 certificates for SES
    revoked: dict[str, dt.datetime] = field(default_factory=dict)  # certificate serial (hex) or esID → revoked at


@dataclass
class Check:
    code: str
    ok: bool | None  # None: not applicable / not present
    label: str
    detail: str = ""


@dataclass
class PadesResult:
    field_name: str
    ok: bool = False
    code: str = ""
    message: str = ""
    signer_cn: str = ""
    signer_dn: str = ""
    issuer_dn: str = ""
    serial_hex: str = ""
    cert_not_before: dt.datetime | None = None
    cert_not_after: dt.datetime | None = None
    signing_time: dt.datetime | None = None
    md_algorithm: str = ""
    signature_mechanism: str = ""
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    bottom_line: bool = False
    coverage: str = ""
    coverage_label: str = ""
    modification_level: str = ""
    modification_label: str = ""
    revision_length: int = 0
    signature_value_sha256: str = ""
    seal_name: str = ""
    es_id: str = ""
    seal_type: str = ""


@dataclass
class SesResult:
    ok: bool = False
    code: str = ""
    message: str = ""
    es_id: str = ""
    seal_name: str = ""
    seal_type: str = ""
    vid: str = ""
    version: int = 0
    signer_dn: str = ""
    signer_serial_hex: str = ""
    maker_dn: str = ""
    signing_time: dt.datetime | None = None
    algorithm: str = SM2_LABEL
    seal_valid_start: dt.datetime | None = None
    seal_valid_end: dt.datetime | None = None
    picture_type: str = ""
    picture_mm: str = ""
    hashed_length: int = 0
    covers_entire_file: bool = False
    pades_field: str = ""
    checks: list[Check] = field(default_factory=list)


@dataclass
class Report:
    ok: bool
    code: str
    message: str
    modified_after_sealing: bool
    pdf_sha256: str
    pdf_size: int
    pades: list[PadesResult] = field(default_factory=list)
    ses: list[SesResult] = field(default_factory=list)
    fonts: str = ""  # which faces the PDF is set in, embedded or not, stand-ins named (PdfFontReport.summary)

    def as_dict(self) -> dict:
        def conv(value):
            if isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: conv(v) for k, v in value.items()}
            if isinstance(value, list):
                return [conv(v) for v in value]
            return value

        return conv(asdict(self))


def _dn(name: ax509.Name) -> str:
    return ca.dn_string(name)


def _cn(name: ax509.Name) -> str:
    return name.native.get("common_name", "") if isinstance(name.native, dict) else ""


# ---- PAdES ---------------------------------------------------------------------------------------------------

def _pades(emb, anchors: TrustAnchors, roots: list[ax509.Certificate]) -> tuple[PadesResult, ModificationLevel | None,
                                                                               SignatureCoverageLevel | None]:
    result = PadesResult(field_name=emb.field_name)
    try:
        cert = emb.signer_cert
        result.signer_cn, result.signer_dn = _cn(cert.subject), _dn(cert.subject)
        result.issuer_dn, result.serial_hex = _dn(cert.issuer), format(cert.serial_number, "x")
        result.cert_not_before = cert["tbs_certificate"]["validity"]["not_before"].native
        result.cert_not_after = cert["tbs_certificate"]["validity"]["not_after"].native
        result.signing_time = emb.self_reported_timestamp
        result.signature_value_sha256 = signature_value_digest(emb.signer_info)
        byte_range = list(emb.byte_range)
        result.revision_length = int(byte_range[2]) + int(byte_range[3])
        status = validate_pdf_signature(emb, ValidationContext(trust_roots=roots, allow_fetching=False))
    except Exception as exc:  # pyHanko raises many kinds on hostile input; the report must still come back
        log.info("pades validation failed: %s", exc)
        result.code, result.message = "signature_unreadable", f"签名数据无法解析：{exc}"
        return result, None, None
    result.intact, result.valid, result.trusted = status.intact, status.valid, status.trusted
    result.bottom_line = status.bottom_line
    result.md_algorithm = status.md_algorithm.upper().replace("SHA", "SHA-")
    result.signature_mechanism = MECHANISMS.get(status.pkcs7_signature_mechanism, status.pkcs7_signature_mechanism)
    result.coverage, result.coverage_label = COVERAGE.get(status.coverage, ("unclear", "签名覆盖范围不明"))
    level = status.modification_level
    result.modification_level, result.modification_label = MODIFICATION.get(level, ("unknown", "无法判断签名后是否被修改"))
    revoked_at = anchors.revoked.get(result.serial_hex)
    if not status.intact:
        result.code, result.message = "modified_after_sealing", f"{MODIFIED_MESSAGE}：签名范围内的内容与签名时不一致"
    elif not status.valid:
        result.code, result.message = "signature_invalid", "签名值验证失败"
    elif level is not None and level not in ACCEPTABLE_LATER:
        result.code, result.message = "modified_after_sealing", f"{MODIFIED_MESSAGE}：{result.modification_label}"
    elif revoked_at and (result.signing_time is None or revoked_at <= result.signing_time):
        result.code, result.message = "seal_revoked", f"印章已于 {revoked_at:%Y-%m-%d %H:%M} 注销，此后的签章无效"
    elif not status.trusted:
        result.code, result.message = "untrusted", "签章证书不受信任（不是本平台制章者签发，或证书已过期）"
    elif not status.bottom_line:
        result.code, result.message = "policy_failed", "签名不满足验证策略"
    else:
        result.ok = True
        result.code = "valid"
        result.message = "签名有效，证书受信任" + ("" if status.coverage == SignatureCoverageLevel.ENTIRE_FILE
                                                  else "；其后仅追加了其他签章")
    return result, level, status.coverage


# ---- SES -----------------------------------------------------------------------------------------------------

def _within(t: dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
    return start <= t <= end


def verify_ses(ses_der: bytes, pdf_bytes: bytes, anchors: TrustAnchors) -> SesResult:
    result = SesResult()
    try:
        sig = ses.parse_signature(ses_der)
    except ses.SESError as exc:
        result.code, result.message = "ses_unreadable", str(exc)
        return result
    seal = sig.seal
    t = sig.time_info
    result.es_id, result.seal_name, result.seal_type = seal.es_id, seal.name, seal.seal_type_name
    result.vid, result.version, result.signing_time = seal.vid, sig.version, t
    result.seal_valid_start, result.seal_valid_end = seal.valid_start, seal.valid_end
    result.picture_type = seal.picture_type
    result.picture_mm = f"{seal.picture_width_mm}×{seal.picture_height_mm} mm"
    checks = result.checks

    def add(code: str, ok: bool | None, label: str, detail: str = "") -> bool | None:
        checks.append(Check(code, ok, label, detail))
        return ok

    signer = maker = None
    try:
        signer = ca.parse_sm2_certificate(sig.signer_cert_der)
        result.signer_dn, result.signer_serial_hex = signer.subject, signer.serial_hex
    except ca.CAError as exc:
        add("ses_signature_valid", False, "电子签章签名值", f"签章者证书无法解析：{exc}")
    if signer is not None:
        ok = sig.signature_alg == sm2.OID_SM2_SM3 and sm2.verify(signer.public_hex, sig.tbs_der, sig.signature)
        add("ses_signature_valid", ok, "电子签章签名值",
            "SM2 签名验证通过" if ok else "签章者对签章数据（TBS_Sign）的签名验证失败")
    # 2. signer certificate vs seal
    if seal.cert_list_type == ses.CERT_LIST_CERTS:
        match = sig.signer_cert_der in seal.cert_list
    else:
        match = any(v in (sm2.sm3(sig.signer_cert_der), hashlib.sha256(sig.signer_cert_der).digest())
                    for v in seal.cert_list)
    add("signer_matches_seal", match, "签章者证书与印章匹配",
        "签章者证书在印章的证书列表中" if match else "签章者证书不在印章的证书列表中（不是该印章的持有证书）")
    # 3. seal: 制章者 signature, 制章者 trusted, seal validity at signing time
    try:
        maker = ca.parse_sm2_certificate(seal.maker_cert_der)
        result.maker_dn = maker.subject
    except ca.CAError as exc:
        add("seal_signature_valid", False, "制章者对印章的签名", f"制章者证书无法解析：{exc}")
    if maker is not None:
        ok = seal.sign_alg == sm2.OID_SM2_SM3 and sm2.verify(maker.public_hex, seal.seal_info_der, seal.signed_value)
        add("seal_signature_valid", ok, "制章者对印章的签名",
            "制章者签名验证通过" if ok else "印章数据不是由其制章者签名，或已被篡改")
        trusted = seal.maker_cert_der in anchors.sm2_roots
        in_time = _within(t, maker.not_before, maker.not_after)
        add("maker_trusted", trusted and in_time and "key_cert_sign" in maker.key_usage, "制章者证书可信",
            ("制章者为本平台电子印章制章者" if trusted else "制章者证书不是本平台信任的制章者")
            + ("" if in_time else "；签章时制章者证书不在有效期内"))
    seal_in_time = _within(t, seal.valid_start, seal.valid_end)
    add("seal_valid_at_signing", seal_in_time, "签章时印章在有效期内",
        f"印章有效期 {seal.valid_start:%Y-%m-%d} 至 {seal.valid_end:%Y-%m-%d}" + ("" if seal_in_time else "，签章时间不在其中"))
    # 4. signer certificate
    if signer is not None:
        problems = []
        if maker is None or not ca.sm2_certificate_signed_by(signer, maker.public_hex):
            problems.append("签章者证书不是由制章者签发")
        if not _within(t, signer.not_before, signer.not_after):
            problems.append("签章时签章者证书不在有效期内")
        if signer.is_ca or not {"digital_signature", "non_repudiation"} & signer.key_usage:
            problems.append("签章者证书的密钥用法不允许签名")
        revoked_at = anchors.revoked.get(seal.es_id)
        if revoked_at and revoked_at <= t:
            problems.append(f"印章已于 {revoked_at:%Y-%m-%d %H:%M} 注销")
        add("signer_cert_valid", not problems, "签章者证书有效", "；".join(problems) or "由制章者签发，签章时有效")
    # 5. timestamp
    add("timestamp", None, "时间戳", "签章未附可信时间戳，签章时间为签章者声明的时间")
    # 6. data hash
    n = sig.hashed_length or len(pdf_bytes)
    result.hashed_length = n
    result.covers_entire_file = n == len(pdf_bytes)
    hash_ok = n <= len(pdf_bytes) and sm2.sm3(pdf_bytes[:n]) == sig.data_hash
    add("data_hash_match", hash_ok, "原文杂凑值（SM3）",
        ("与签章时一致" + ("" if result.covers_entire_file else f"（签章覆盖文件前 {n} 字节，其后有追加内容）"))
        if hash_ok else f"{MODIFIED_MESSAGE}：SM3 杂凑值与签章时记录的不一致")

    failed = [c for c in checks if c.ok is False]
    if not hash_ok:
        result.code, result.message = "modified_after_sealing", MODIFIED_MESSAGE
    elif failed:
        first = failed[0]
        result.code = {"ses_signature_valid": "signature_invalid", "signer_matches_seal": "signer_mismatch",
                       "seal_signature_valid": "seal_invalid", "maker_trusted": "untrusted",
                       "seal_valid_at_signing": "seal_expired", "signer_cert_valid": "signer_cert_invalid"}[first.code]
        result.message = f"{first.label}：{first.detail}"
    else:
        result.ok, result.code, result.message = True, "valid", "电子签章有效"
    return result


# ---- whole document ------------------------------------------------------------------------------------------

def verify_pdf_bytes(pdf_bytes: bytes, ses_signatures: dict[str, bytes] | list[bytes] | None,
                     anchors: TrustAnchors) -> Report:
    """Verify every PAdES signature and every SES signature given (by PAdES signature-value digest, or a list)."""
    digest = hashlib.sha256(pdf_bytes).hexdigest()
    report = Report(ok=False, code="", message="", modified_after_sealing=False, pdf_sha256=digest,
                    pdf_size=len(pdf_bytes))
    if not pdf_bytes.startswith(b"%PDF-"):
        report.code, report.message = "not_pdf", "文件不是 PDF"
        return report
    report.fonts = pdf_font_report(pdf_bytes).summary()
    try:
        embedded = list(PdfFileReader(io.BytesIO(pdf_bytes), strict=False).embedded_signatures)
    except Exception as exc:  # hostile or broken input: pyHanko raises PdfError and plain Python errors alike
        log.info("unreadable pdf: %r", exc)
        report.code, report.message = "pdf_unreadable", "PDF 无法解析（文件可能已损坏或被篡改）"
        return report
    roots = [ax509.Certificate.load(ca.cert_der(ca.load_cert(p))) for p in anchors.x509_roots]

    levels, coverages = [], []
    for emb in embedded:
        result, level, coverage = _pades(emb, anchors, roots)
        report.pades.append(result)
        levels.append(level)
        coverages.append(coverage)

    by_digest = ses_signatures if isinstance(ses_signatures, dict) else {}
    listed = list(ses_signatures) if isinstance(ses_signatures, list) else []
    ses_blobs: list[tuple[str, bytes]] = []
    for p in report.pades:
        if p.signature_value_sha256 in by_digest:
            ses_blobs.append((p.field_name, bytes(by_digest[p.signature_value_sha256])))
    ses_blobs.extend(("", bytes(b)) for b in listed)
    for field_name, blob in ses_blobs:
        sres = verify_ses(blob, pdf_bytes, anchors)
        sres.pades_field = field_name or next(
            (p.field_name for p in report.pades if p.revision_length == sres.hashed_length), "")
        report.ses.append(sres)
        for p in report.pades:  # show the seal's identity beside its PAdES signature
            if p.field_name == sres.pades_field:
                p.seal_name, p.es_id, p.seal_type = sres.seal_name, sres.es_id, sres.seal_type

    if not embedded and not report.ses:
        report.code, report.message = "no_signature", "文件中没有电子签章"
        return report
    signed_end = max((p.revision_length for p in report.pades), default=len(pdf_bytes))
    modified = (
        signed_end < len(pdf_bytes)  # bytes after the last signed revision, whatever pyHanko makes of them
        or any(p.code == "modified_after_sealing" for p in report.pades)
        or any(s.code == "modified_after_sealing" for s in report.ses)
        or (bool(coverages) and coverages[-1] != SignatureCoverageLevel.ENTIRE_FILE)
        or any(lv is not None and lv not in ACCEPTABLE_LATER for lv in levels)
    )
    report.modified_after_sealing = modified
    tail_unsigned = signed_end < len(pdf_bytes) or (bool(coverages) and coverages[-1] not in (
        None, SignatureCoverageLevel.ENTIRE_FILE))
    if tail_unsigned and report.pades and report.pades[-1].ok:
        # bytes follow the last signature: nothing vouches for them
        last = report.pades[-1]
        last.ok, last.code = False, "modified_after_sealing"
        last.message = f"{MODIFIED_MESSAGE}：最后一个签章之后文件又被追加了内容"
    if modified:
        for s in report.ses:
            if s.ok and not s.covers_entire_file:
                s.ok, s.code = False, "modified_after_sealing"
                s.message = f"{MODIFIED_MESSAGE}：签章所覆盖的内容未变，但其后被追加的内容不是有效签章"
    paired = {s.pades_field for s in report.ses if s.pades_field}
    if modified:
        report.code, report.message = "modified_after_sealing", MODIFIED_MESSAGE
    elif any(p.code == "signature_unreadable" for p in report.pades):
        report.code, report.message = "signature_unreadable", "有签名无法解析"
    elif any(p.code in ("signature_invalid",) for p in report.pades) or any(
            s.code in ("signature_invalid", "seal_invalid", "signer_mismatch", "ses_unreadable") for s in report.ses):
        report.code, report.message = "signature_invalid", "签名验证失败"
    elif any(p.code == "seal_revoked" for p in report.pades) or any(
            s.code == "signer_cert_invalid" for s in report.ses):
        report.code, report.message = "seal_revoked", "印章或签章证书无效（已注销或不在有效期内）"
    elif any(s.code == "seal_expired" for s in report.ses):
        report.code, report.message = "seal_expired", "签章时印章不在有效期内"
    elif any(not p.ok for p in report.pades) or any(not s.ok for s in report.ses):
        report.code, report.message = "untrusted", "签章不受本平台信任"
    elif any(p.field_name not in paired for p in report.pades):
        report.code, report.message = "ses_missing", "未找到与 PDF 签名对应的 GB/T 38540 电子签章数据"
    else:
        report.ok, report.code = True, "valid"
        report.message = f"文件中的 {len(report.pades)} 个电子签章均有效，盖章后文档未被修改"
    return report
