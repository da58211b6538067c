"""GB/T 38540-2020 ("v4") electronic seal (SES_Seal) and electronic signature (SES_Signature) structures.

Field lists follow DOMAIN.md §3.2 (ofdrw ``org.ofdrw.gm.ses.v4``, Chingliu/gm_0031_38540_verifier). Encoding
choices of this system, used identically when signing and verifying:

- 制章者 = the deployment's SealAuthority; ``SES_Seal.cert`` is its self-signed SM2 certificate (DER) and
  ``signedValue`` its SM2-with-SM3 signature over DER(SES_SealInfo).
- ``certListType`` = 1 (数字证书): ``certList`` holds the seal's own SM2 certificate (issued by the 制章者), the
  certificate that ``SES_Signature.cert`` must equal (verification step 2).
- ``extDatas`` of the seal carries one extension under our private arc: the SHA-256 digest of the seal's X.509
  (ECDSA/RSA) certificate that makes the PAdES signature, linking the two signatures of one stamping.
- Signature values are DER SM2Signature inside the BIT STRING.
- ``dataHash`` = SM3 of the signed PDF's bytes ``[0, n)``; ``propertyInfo`` says exactly that:
  ``"application/pdf;byterange=0-<n-1>;hash=sm3"`` (a later incremental update, e.g. a co-issuer's seal, leaves the
  first n bytes unchanged, so the SES of an earlier seal still verifies against the prefix).
- ``SES_ESPropertyInfo.type`` (印章类型): 1 = 公章, 2 = 业务专用章, 3 = 签名章 (our mapping; GB/T 38540 leaves the
  codes to the application — DOMAIN.md §3.2 notes only GM/T 0031's 1 = 单位印章, 2 = 个人印章).

No timestamp ([0] timeStamp) is produced: the deployment has no trusted time-stamping authority, and reports say so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from asn1crypto import core

from documents.seals import sm2

VERSION = 4
HEADER_ID = "ES"
VENDOR_ID = "JIEDONG-OA"  # SES_Header.vid (厂商标识)
# Private OID arc derived from a UUID (ITU-T X.667 / RFC 4122 2.25 arc): nobody has to register it.
OID_EXT_PADES_CERT_SHA256 = "2.25.176934582049371822493541075092616351877.1"
CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2

SEAL_TYPE_CODES = {"official": 1, "business": 2, "signature": 3}
SEAL_TYPE_NAMES = {1: "公章", 2: "业务专用章", 3: "签名章"}
_PROPERTY_RE = re.compile(r"^application/pdf;byterange=0-(\d+);hash=sm3$")


class SESError(ValueError):
    """Malformed GB/T 38540 structure."""


# ---- ASN.1 ---------------------------------------------------------------------------------------------------

class SESHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class ESPropertyInfo(core.Sequence):
    # certList is an untagged CHOICE of two SEQUENCE OFs; DER cannot tell them apart, certListType does.
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class ESPictureInfo(core.Sequence):  # SES_ESPictrueInfo
    _fields = [("type", core.IA5String), ("data", core.OctetString), ("width", core.Integer), ("height", core.Integer)]


class ExtData(core.Sequence):
    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SESSealInfo(core.Sequence):
    _fields = [
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", ESPropertyInfo),
        ("picture", ESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):  # SES_Seal
    _fields = [
        ("e_seal_info", SESSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TBSSign(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SESeal),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESSignature(core.Sequence):
    _fields = [
        ("to_sign", TBSSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


def _gtime(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise SESError("时间必须带时区")
    return value.astimezone(dt.UTC).replace(microsecond=0)


# ---- building ------------------------------------------------------------------------------------------------

def build_seal_info(*, es_id: str, seal_type: int, name: str, signer_cert_der: bytes, created: dt.datetime,
                    valid_start: dt.datetime, valid_end: dt.datetime, picture_png: bytes, picture_mm: int,
                    pades_cert_sha256: bytes | None = None) -> SESSealInfo:
    if not es_id.isascii():
        raise SESError("印章编码（esID）只能包含 ASCII 字符")
    info = {
        "header": {"id": HEADER_ID, "version": VERSION, "vid": VENDOR_ID},
        "es_id": es_id,
        "property": {
            "type": seal_type,
            "name": name,
            "cert_list_type": CERT_LIST_CERTS,
            "cert_list": CertInfoList([signer_cert_der]),
            "create_date": _gtime(created),
            "valid_start": _gtime(valid_start),
            "valid_end": _gtime(valid_end),
        },
        "picture": {"type": "PNG", "data": picture_png, "width": picture_mm, "height": picture_mm},
    }
    if pades_cert_sha256 is not None:
        info["ext_datas"] = [{"extn_id": OID_EXT_PADES_CERT_SHA256, "critical": False, "extn_value": pades_cert_sha256}]
    return SESSealInfo(info)


def make_seal(seal_info: SESSealInfo, *, maker_cert_der: bytes, maker_private_hex: str, maker_public_hex: str) -> bytes:
    """SES_Seal: the 制章者 signs DER(SES_SealInfo) with SM2-with-SM3."""
    signed = sm2.sign(maker_private_hex, maker_public_hex, seal_info.dump())
    return SESeal({
        "e_seal_info": seal_info, "cert": maker_cert_der, "sign_alg_id": sm2.OID_SM2_SM3, "signed_value": signed,
    }).dump()


def property_info_for(length: int) -> str:
    return f"application/pdf;byterange=0-{length - 1};hash=sm3"


def sign_document(*, seal_der: bytes, signer_cert_der: bytes, signer_private_hex: str, signer_public_hex: str,
                  pdf_bytes: bytes, time_info: dt.datetime) -> bytes:
    """SES_Signature over the SM3 digest of ``pdf_bytes`` (the PDF as it is after the PAdES signature)."""
    tbs = TBSSign({
        "version": VERSION,
        "eseal": SESeal.load(seal_der),
        "time_info": _gtime(time_info),
        "data_hash": sm2.sm3(pdf_bytes),
        "property_info": property_info_for(len(pdf_bytes)),
    })
    signature = sm2.sign(signer_private_hex, signer_public_hex, tbs.dump())
    return SESSignature({
        "to_sign": tbs, "cert": signer_cert_der, "signature_alg_id": sm2.OID_SM2_SM3, "signature": signature,
    }).dump()


# ---- parsing -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedSeal:
    der: bytes
    seal_info_der: bytes
    version: int
    vid: str
    es_id: str
    seal_type: int
    name: str
    cert_list_type: int
    cert_list: list[bytes]  # DER certificates (type 1) or digests (type 2)
    cert_digest_types: list[str]
    created: dt.datetime
    valid_start: dt.datetime
    valid_end: dt.datetime
    picture_type: str
    picture: bytes
    picture_width_mm: int
    picture_height_mm: int
    maker_cert_der: bytes
    sign_alg: str
    signed_value: bytes
    extensions: dict[str, bytes] = field(default_factory=dict)

    @property
    def seal_type_name(self) -> str:
        return SEAL_TYPE_NAMES.get(self.seal_type, f"类型{self.seal_type}")


@dataclass(frozen=True)
class ParsedSignature:
    der: bytes
    tbs_der: bytes
    version: int
    seal: ParsedSeal
    time_info: dt.datetime
    data_hash: bytes
    property_info: str
    signer_cert_der: bytes
    signature_alg: str
    signature: bytes
    has_timestamp: bool

    @property
    def hashed_length(self) -> int | None:
        """n of ``byterange=0-<n-1>``; None when propertyInfo is not in our format (the whole file is hashed)."""
        m = _PROPERTY_RE.match(self.property_info)
        return int(m.group(1)) + 1 if m else None


def _exts(value: core.Asn1Value) -> dict[str, bytes]:
    if not value or isinstance(value, core.Void):
        return {}
    return {e["extn_id"].dotted: e["extn_value"].native for e in value}


def parse_seal(der: bytes | SESeal) -> ParsedSeal:
    try:
        seal = der if isinstance(der, SESeal) else SESeal.load(bytes(der), strict=True)
        info = seal["e_seal_info"]
        prop = info["property"]
        list_type = prop["cert_list_type"].native
        raw_list = prop["cert_list"].dump()
        digest_types: list[str] = []
        if list_type == CERT_LIST_CERTS:
            certs = [c.native for c in CertInfoList.load(raw_list, strict=True)]
        elif list_type == CERT_LIST_DIGESTS:
            objs = CertDigestList.load(raw_list, strict=True)
            certs = [o["value"].native for o in objs]
            digest_types = [o["type"].native for o in objs]
        else:
            raise SESError(f"未知的证书列表类型 certListType={list_type}")
        header = info["header"]
        if header["id"].native != HEADER_ID:
            raise SESError("印章头标识不是 ES")
        picture = info["picture"]
        return ParsedSeal(
            der=seal.dump(), seal_info_der=info.dump(), version=header["version"].native, vid=header["vid"].native,
            es_id=info["es_id"].native, seal_type=prop["type"].native, name=prop["name"].native,
            cert_list_type=list_type, cert_list=certs, cert_digest_types=digest_types,
            created=prop["create_date"].native, valid_start=prop["valid_start"].native, valid_end=prop["valid_end"].native,
            picture_type=picture["type"].native, picture=picture["data"].native,
            picture_width_mm=picture["width"].native, picture_height_mm=picture["height"].native,
            maker_cert_der=seal["cert"].native, sign_alg=seal["sign_alg_id"].dotted,
            signed_value=seal["signed_value"].native, extensions=_exts(info["ext_datas"]),
        )
    except SESError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise SESError(f"电子印章数据（SES_Seal）格式错误：{exc}") from exc


def parse_signature(der: bytes) -> ParsedSignature:
    try:
        sig = SESSignature.load(bytes(der), strict=True)
        tbs = sig["to_sign"]
        return ParsedSignature(
            der=bytes(der), tbs_der=tbs.dump(), version=tbs["version"].native, seal=parse_seal(tbs["eseal"]),
            time_info=tbs["time_info"].native, data_hash=tbs["data_hash"].native,
            property_info=tbs["property_info"].native, signer_cert_der=sig["cert"].native,
            signature_alg=sig["signature_alg_id"].dotted, signature=sig["signature"].native,
            has_timestamp=not isinstance(sig["time_stamp"], core.Void),
        )
    except SESError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise SESError(f"电子签章数据（SES_Signature）格式错误：{exc}") from exc
