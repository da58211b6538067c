"""Pure stamping: put the seal picture at its GB/T 9704 §7.3.5.1 anchor as a visible PAdES signature.

``stamp_pdf`` knows nothing about the database: the caller passes the PDF, the anchors the renderer computed
(``documents.rendering.render_pdf_with_layout(spec).seal_anchors``) and the decrypted key material. The PDF is
extended by an incremental update (earlier signatures, e.g. a co-issuer's seal, stay valid), signed with pyHanko:
subfilter ETSI.CAdES.detached (PAdES B-B), SHA-256, the seal's ECDSA P-256 or RSA-2048 key, the CA certificate
embedded as the chain. The SES (GB/T 38540) signature over the result is made by the caller (see ses.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass

from asn1crypto import cms
from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from PIL import Image
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.stamp import StaticContentStamp, StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from documents.rendering.layout import SealAnchor
from documents.seals import ca
from oa.refusals import Refusal

PT_PER_MM = 72 / 25.4
# Room for the CMS container in /Contents. Fixed, so pyHanko signs once instead of making a trial signature to
# measure it (half the stamping time): our CMS (signer + CA certificate, PAdES attributes, ECDSA or RSA-2048
# signature) is 2–4 KB; 8 KB leaves ample margin.
CMS_BYTES_RESERVED = 8192


@dataclass(frozen=True)
class SealMaterial:
    """What signing needs, already decrypted: never store or log an instance."""

    agency_names: tuple[str, ...]  # the 署名 texts this seal may press (full name, 规范化简称)
    png: bytes
    key_der: bytes  # PKCS#8
    cert_pem: str
    chain_pems: tuple[str, ...]  # issuer certificates, embedded so verifiers can build the path
    signer_name: str  # seal name, shown by viewers as the signer
    diameter_mm: float = 42.0


@dataclass(frozen=True)
class StampResult:
    pdf: bytes
    field_name: str
    anchor: SealAnchor
    signed_at: dt.datetime  # /M of the signature dictionary (the SES timeInfo uses the same instant)
    signature_value_sha256: str  # SHA-256 of the CMS signature value: finds this stamping again from any copy


class _InkStamp(StaticContentStamp):
    """The seal picture composited like red ink: blend mode Multiply on its graphics state (GB/T 9704 §7.3.5.1).

    Drawn normally, the opaque red of the star and the characters replaces the black 署名 and 成文日期 glyphs under
    it (「人」 vanished under the star). Multiplied, red × white = red and red × black = black, as on paper: the text
    under the seal stays readable and the picture itself is unchanged (the same PNG, the same appearance box).
    """

    def set_resource(self, category, name, value):  # type: ignore[no-untyped-def]
        if category == content.ResourceType.EXT_G_STATE and name == "/BackgroundGS":
            value[generic.pdf_name("/BM")] = generic.pdf_name("/Multiply")
        super().set_resource(category, name, value)


@dataclass(frozen=True)
class InkStampStyle(StaticStampStyle):
    """StaticStampStyle whose background (the seal PNG) is multiplied onto the page instead of covering it."""

    def create_stamp(self, writer, box, text_params):  # type: ignore[no-untyped-def]
        return _InkStamp(writer=writer, style=self, box=box)


def signature_value_digest(signer_info) -> str:
    return hashlib.sha256(signer_info["signature"].native).hexdigest()


def choose_anchor(anchors: list[SealAnchor], agency_names: tuple[str, ...]) -> SealAnchor:
    wanted = {n.strip() for n in agency_names if n.strip()}
    for anchor in anchors:
        if anchor.agency.strip() in wanted:
            return anchor
    if not anchors:
        raise Refusal("seal_anchor_missing", "公文的排版结果中没有用印位置（发文机关署名），无法盖章")
    raise Refusal(
        "seal_anchor_missing",
        f"排版结果中没有与印章所属机关（{'、'.join(sorted(wanted))}）相符的发文机关署名，无法盖章"
        f"（署名为：{'、'.join(a.agency for a in anchors)}）",
    )


def _reader(pdf_bytes: bytes) -> PdfFileReader:
    if not pdf_bytes.startswith(b"%PDF-"):
        raise Refusal("not_pdf", "待盖章文件不是 PDF")
    try:
        return PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    except (PdfError, ValueError) as exc:
        raise Refusal("pdf_unreadable", f"待盖章的 PDF 无法读取：{exc}") from exc


def next_field_name(pdf_bytes: bytes) -> str:
    existing = {name for name, _, _ in fields.enumerate_sig_fields(_reader(pdf_bytes))}
    n = 1
    while f"Seal{n}" in existing:
        n += 1
    return f"Seal{n}"


def stamp_pdf(pdf_bytes: bytes, anchors: list[SealAnchor], material: SealMaterial, *,
              field_name: str | None = None) -> StampResult:
    anchor = choose_anchor(anchors, material.agency_names)
    field_name = field_name or next_field_name(pdf_bytes)
    diameter = min(material.diameter_mm * PT_PER_MM, anchor.max_diameter_pt)
    half = diameter / 2
    box = (anchor.center_x_pt - half, anchor.center_y_pt - half, anchor.center_x_pt + half, anchor.center_y_pt + half)

    cert = ax509.Certificate.load(ca.cert_der(ca.load_cert(material.cert_pem)))
    chain = [ax509.Certificate.load(ca.cert_der(ca.load_cert(p))) for p in material.chain_pems]
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=akeys.PrivateKeyInfo.load(material.key_der),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )
    style = InkStampStyle(
        background=PdfImage(Image.open(io.BytesIO(material.png))),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        if anchor.page >= int(writer.root["/Pages"]["/Count"]):
            raise Refusal("seal_anchor_missing", "用印位置所在的页不存在（排版结果与待盖章文件不一致）")
        fields.append_signature_field(writer, fields.SigFieldSpec(field_name, on_page=anchor.page, box=box))
        out = io.BytesIO()
        signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
                name=material.signer_name, reason="用印", location=material.agency_names[0],
            ),
            signer,
            stamp_style=style,
        ).sign_pdf(writer, output=out, bytes_reserved=CMS_BYTES_RESERVED)
    except (PdfError, SigningError, ValueError) as exc:
        raise Refusal("seal_sign_failed", f"PDF 签章失败：{exc}") from exc
    signed = out.getvalue()
    signed_at, digest = _new_signature_facts(signed, len(pdf_bytes))
    return StampResult(pdf=signed, field_name=field_name, anchor=anchor, signed_at=signed_at,
                       signature_value_sha256=digest)


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_SIG_TIME = re.compile(rb"/M\s*(\((?:[^()\\]|\\.)*\))")


def _new_signature_facts(signed: bytes, old_length: int) -> tuple[dt.datetime, str]:
    """/M and the signature-value digest of the signature we just appended, read from the update we wrote.

    Re-parsing the whole file with pyHanko would cost as much as a quarter of the stamping; the update after
    ``old_length`` holds exactly one signature dictionary, written by pyHanko a moment ago.
    """
    tail = signed[old_length:]
    byte_range, when = _BYTE_RANGE.search(tail), _SIG_TIME.search(tail)
    if byte_range is None or when is None:  # pragma: no cover - pyHanko always writes both
        raise Refusal("seal_sign_failed", "PDF 签章失败：签名字典不完整")
    gap_start, gap_end = int(byte_range.group(1)), int(byte_range.group(2))
    contents = bytes.fromhex(signed[gap_start + 1 : gap_end - 1].decode("ascii"))  # <hex…>, zero-padded
    signer_info = cms.ContentInfo.load(contents, strict=False)["content"]["signer_infos"][0]
    text = generic.read_object(io.BytesIO(when.group(1)), generic.TrailerReference(None))
    return generic.parse_pdf_date(str(text)), signature_value_digest(signer_info)
