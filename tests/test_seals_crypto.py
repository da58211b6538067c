"""E-seal cryptography without the database: SM2/SM3, SM2 certificates, GB/T 38540 structures, the KEK, the seal
picture, and the pure stamping + verification path, each cross-checked by an independent tool where one exists
(gmssl's own SM2, OpenSSL for SM2 certificates and ASN.1, poppler pdfsig + NSS for PAdES)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from gmssl import sm2 as gm_sm2
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from documents.rendering.layout import SealAnchor
from documents.rendering.pdf import render_pdf_with_layout
from documents.rendering.spec import BodyBlock, DocumentSpec, TableBlock
from documents.seals import ca, image, keys, ses, sm2, stamping, verify
from documents.seals.pdfsig import parse_output, run_pdfsig
from oa.refusals import Refusal

AGENCY = "揭阳市揭东区人民政府办公室"
SENTENCE = "为深入贯彻落实安全生产工作部署，切实做好冬季各项安全防范工作，确保全区安全形势持续稳定。"
needs_pdfsig = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("certutil")),
                                  reason="poppler-utils / libnss3-tools not installed")


# ---- SM3 / SM2 -----------------------------------------------------------------------------------------------

def test_sm3_standard_vector():
    assert sm2.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm2_keypair_is_on_the_curve_without_prefix():
    private_hex, public_hex = sm2.generate_keypair()
    assert len(private_hex) == 64 and len(public_hex) == 128
    assert sm2.is_on_curve(public_hex)
    assert sm2.public_key_of(private_hex) == public_hex
    assert sm2.check_public_key("04" + public_hex) == public_hex  # a prefixed key is accepted and normalised
    with pytest.raises(sm2.SM2Error):
        sm2.check_public_key(public_hex[:-1] + ("0" if public_hex[-1] != "0" else "1"))  # off the curve


def test_sm2_round_trip_against_gmssl_both_ways():
    private_hex, public_hex = sm2.generate_keypair()
    message = "揭东府办〔2026〕5号".encode()
    ours = sm2.sign(private_hex, public_hex, message)
    r, s = sm2.decode_signature(ours)  # DER SM2Signature
    theirs = gm_sm2.CryptSM2(private_key=private_hex, public_key=public_hex, asn1=True)
    assert theirs.verify_with_sm3(ours.hex(), message)
    assert not theirs.verify_with_sm3(ours.hex(), message + b"x")
    their_sig = theirs.sign_with_sm3(message, f"{sm2.N - 12345:064x}")
    assert sm2.verify(public_hex, message, bytes.fromhex(their_sig))
    assert not sm2.verify(public_hex, message + b"x", bytes.fromhex(their_sig))
    # fresh nonce each time (secrets): two signatures of one message differ, both verify
    again = sm2.sign(private_hex, public_hex, message)
    assert again != ours and sm2.verify(public_hex, message, again)
    assert not sm2.verify(public_hex, message, sm2.encode_signature(r, (s + 1) % sm2.N))
    assert not sm2.verify(public_hex, message, b"\x30\x00garbage")


def test_sm2_public_key_starting_with_04_still_works():
    # gmssl's constructor lstrip("04")s such a key (1 key in 256 starts so); d = 11 gives one. Test-only key.
    private_hex = f"{11:064x}"
    public_hex = sm2.public_key_of(private_hex)
    assert public_hex.startswith("04") and len(public_hex) == 128
    signature = sm2.sign(private_hex, public_hex, b"data")
    assert sm2.verify(public_hex, b"data", signature)
    # gmssl's own constructor mangles this key, prefixed or not …
    for given in (public_hex, "04" + public_hex):
        assert gm_sm2.CryptSM2(private_key=private_hex, public_key=given).public_key != public_hex
    # … but with the attribute set directly gmssl's own verify_with_sm3 agrees with ours
    engine = gm_sm2.CryptSM2(private_key=private_hex, public_key="", asn1=True)
    engine.public_key = public_hex
    assert engine.verify_with_sm3(signature.hex(), b"data")


# ---- SM2 certificates ----------------------------------------------------------------------------------------

def openssl_sm2_verify(tmp_path, cert_pem_path, data: bytes, signature: bytes) -> bool:
    """SM2-with-SM3 verification by OpenSSL (default user ID), with the public key taken from a certificate."""
    pub = tmp_path / "pub.pem"
    pub.write_bytes(subprocess.run(["openssl", "x509", "-in", str(cert_pem_path), "-noout", "-pubkey"],
                                   capture_output=True, check=True).stdout)
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "sig.der").write_bytes(signature)
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin", "-in", str(tmp_path / "data.bin"),
         "-sigfile", str(tmp_path / "sig.der"), "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
        capture_output=True, text=True,
    )
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


@pytest.fixture(scope="module")
def authority() -> ca.AuthorityMaterial:
    return ca.create_authority("测试电子印章制章者", "测试平台")


def _sm2_leaf(authority: ca.AuthorityMaterial, public_hex: str, *, days: int = 365) -> bytes:
    now = dt.datetime.now(dt.UTC)
    return ca.issue_sm2_certificate(
        issuer_private_hex=authority.sm2_private_hex, issuer_public_hex=authority.sm2_public_hex,
        issuer_name=ca.load_cert(authority.cert_pem).subject, subject_name=ca.build_name(f"{AGENCY}公章", AGENCY),
        subject_public_hex=public_hex, not_before=now - dt.timedelta(minutes=5), not_after=now + dt.timedelta(days=days),
    )


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_sm2_certificates_verify_with_openssl(authority, tmp_path):
    _, public_hex = sm2.generate_keypair()
    leaf = _sm2_leaf(authority, public_hex)
    root_pem, leaf_pem = tmp_path / "root.pem", tmp_path / "leaf.pem"
    root_pem.write_text(ca.der_to_pem(authority.sm2_cert_der))
    leaf_pem.write_text(ca.der_to_pem(leaf))
    # OpenSSL 3.0 verifies SM2 certificates only with the default user ID given explicitly (GM/T 0009)
    sm2_id = ["-vfyopt", "distid:1234567812345678"]
    ok = subprocess.run(["openssl", "verify", *sm2_id, "-CAfile", str(root_pem), str(leaf_pem)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(leaf_pem), "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout
    assert "SM2-with-SM3" in text and "ASN1 OID: SM2" in text and "Digital Signature, Non Repudiation" in text
    # one flipped byte in the signed part: OpenSSL refuses it, and so do we
    tampered = bytearray(leaf)
    tampered[60] ^= 0x01
    (tmp_path / "bad.pem").write_text(ca.der_to_pem(bytes(tampered)))
    bad = subprocess.run(["openssl", "verify", *sm2_id, "-CAfile", str(root_pem), str(tmp_path / "bad.pem")],
                         capture_output=True, text=True)
    assert bad.returncode != 0
    # `verify` does not check the root's self-signature with the SM2 ID; pkeyutl does
    root = ca.parse_sm2_certificate(authority.sm2_cert_der)
    assert root.is_ca and "key_cert_sign" in root.key_usage
    assert openssl_sm2_verify(tmp_path, root_pem, root.tbs_der, root.signature)
    assert not openssl_sm2_verify(tmp_path, root_pem, root.tbs_der + b"x", root.signature)
    parsed = ca.parse_sm2_certificate(leaf)
    assert parsed.public_hex == public_hex and not parsed.is_ca
    assert ca.sm2_certificate_signed_by(parsed, authority.sm2_public_hex)
    with pytest.raises(ca.CAError):
        ca.parse_sm2_certificate(bytes(tampered[:-3]))


# ---- GB/T 38540 structures -------------------------------------------------------------------------------------

def _seal_der(authority, public_hex: str, png: bytes = b"\x89PNG\r\n\x1a\nfake", **kw) -> tuple[bytes, bytes]:
    now = dt.datetime.now(dt.UTC)
    leaf = _sm2_leaf(authority, public_hex)
    info = ses.build_seal_info(
        es_id="91445203MB2C12345X-01-0001", seal_type=1, name=f"{AGENCY}公章", signer_cert_der=leaf, created=now,
        valid_start=kw.get("valid_start", now - dt.timedelta(minutes=5)),
        valid_end=kw.get("valid_end", now + dt.timedelta(days=365)), picture_png=png, picture_mm=42,
        pades_cert_sha256=b"\x11" * 32,
    )
    return ses.make_seal(info, maker_cert_der=authority.sm2_cert_der, maker_private_hex=authority.sm2_private_hex,
                         maker_public_hex=authority.sm2_public_hex), leaf


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_ses_signature_round_trip_and_openssl_asn1(authority, tmp_path):
    private_hex, public_hex = sm2.generate_keypair()
    seal_der, leaf = _seal_der(authority, public_hex)
    when = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
    blob = ses.sign_document(seal_der=seal_der, signer_cert_der=leaf, signer_private_hex=private_hex,
                             signer_public_hex=public_hex, pdf_bytes=b"%PDF-1.7 body", time_info=when)
    parsed = ses.parse_signature(blob)
    assert parsed.version == 4 and parsed.seal.version == 4 and parsed.seal.vid == ses.VENDOR_ID
    assert parsed.seal.es_id == "91445203MB2C12345X-01-0001" and parsed.seal.name == f"{AGENCY}公章"
    assert parsed.seal.seal_type_name == "公章" and parsed.seal.cert_list == [leaf]
    assert parsed.time_info == when and parsed.data_hash == sm2.sm3(b"%PDF-1.7 body")
    assert parsed.property_info == "application/pdf;byterange=0-12;hash=sm3" and parsed.hashed_length == 13
    assert parsed.signature_alg == sm2.OID_SM2_SM3 and not parsed.has_timestamp
    assert sm2.verify(public_hex, parsed.tbs_der, parsed.signature)
    assert sm2.verify(authority.sm2_public_hex, parsed.seal.seal_info_der, parsed.seal.signed_value)
    # the same two signatures checked by OpenSSL with the keys from the embedded certificates
    (tmp_path / "signer.pem").write_text(ca.der_to_pem(parsed.signer_cert_der))
    (tmp_path / "maker.pem").write_text(ca.der_to_pem(parsed.seal.maker_cert_der))
    assert openssl_sm2_verify(tmp_path, tmp_path / "signer.pem", parsed.tbs_der, parsed.signature)
    assert openssl_sm2_verify(tmp_path, tmp_path / "maker.pem", parsed.seal.seal_info_der, parsed.seal.signed_value)
    assert parsed.seal.extensions == {ses.OID_EXT_PADES_CERT_SHA256: b"\x11" * 32}
    (tmp_path / "ses.der").write_bytes(blob)
    dump = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", str(tmp_path / "ses.der")],
                          capture_output=True, text=True, check=True).stdout
    assert ":ES" in dump and "SM2-with-SM3" in dump and "GENERALIZEDTIME   :20261127080000Z" in dump
    assert ":application/pdf;byterange=0-12;hash=sm3" in dump
    with pytest.raises(ses.SESError):
        ses.parse_signature(blob[:-5])


def test_ses_verification_detects_each_kind_of_tampering(authority):
    private_hex, public_hex = sm2.generate_keypair()
    seal_der, leaf = _seal_der(authority, public_hex)
    pdf = b"%PDF-1.7\n" + b"x" * 200
    now = dt.datetime.now(dt.UTC)
    blob = ses.sign_document(seal_der=seal_der, signer_cert_der=leaf, signer_private_hex=private_hex,
                             signer_public_hex=public_hex, pdf_bytes=pdf, time_info=now)
    anchors = verify.TrustAnchors(sm2_roots=(authority.sm2_cert_der,))
    good = verify.verify_ses(blob, pdf, anchors)
    assert good.ok and good.code == "valid" and good.covers_entire_file
    assert [c.code for c in good.checks] == ["ses_signature_valid", "signer_matches_seal", "seal_signature_valid",
                                             "maker_trusted", "seal_valid_at_signing", "signer_cert_valid",
                                             "timestamp", "data_hash_match"]
    changed = verify.verify_ses(blob, pdf[:-1] + b"y", anchors)
    assert changed.code == "modified_after_sealing" and changed.message == "文档在盖章后被修改"
    untrusted = verify.verify_ses(blob, pdf, verify.TrustAnchors())
    assert not untrusted.ok and untrusted.code == "untrusted"
    # a signature value bit flipped inside the DER (last byte belongs to the signature BIT STRING)
    flipped = bytearray(blob)
    flipped[-1] ^= 0x01
    assert verify.verify_ses(bytes(flipped), pdf, anchors).code in {"signature_invalid", "ses_unreadable"}
    # signed by a key that is not the seal's (another signer cert, not in the certList)
    other_private, other_public = sm2.generate_keypair()
    other_leaf = _sm2_leaf(authority, other_public)
    foreign = ses.sign_document(seal_der=seal_der, signer_cert_der=other_leaf, signer_private_hex=other_private,
                                signer_public_hex=other_public, pdf_bytes=pdf, time_info=now)
    assert verify.verify_ses(foreign, pdf, anchors).code == "signer_mismatch"
    # a seal whose validity had ended before the signing time
    old_seal, old_leaf = _seal_der(authority, public_hex, valid_start=now - dt.timedelta(days=30),
                                   valid_end=now - dt.timedelta(days=1))
    late = ses.sign_document(seal_der=old_seal, signer_cert_der=old_leaf, signer_private_hex=private_hex,
                             signer_public_hex=public_hex, pdf_bytes=pdf, time_info=now)
    assert verify.verify_ses(late, pdf, anchors).code == "seal_expired"


# ---- KEK ------------------------------------------------------------------------------------------------------

def test_kek_round_trip_wrong_key_and_rotation():
    ring = keys.Keyring(keys.parse_kek(keys.generate_kek()))
    blob = keys.encrypt(b"private key", context="seal:X:sm2", keyring=ring)
    assert b"private key" not in blob and keys.blob_key_id(blob) == ring.current.key_id
    assert keys.decrypt(blob, context="seal:X:sm2", keyring=ring) == b"private key"
    other = keys.Keyring(keys.parse_kek(keys.generate_kek()))
    with pytest.raises(keys.KekError) as wrong:
        keys.decrypt(blob, context="seal:X:sm2", keyring=other)
    assert wrong.value.code == "seal_kek_mismatch"
    assert ring.current.key_id in wrong.value.message and other.current.key_id in wrong.value.message
    with pytest.raises(keys.KekError) as moved:  # the blob copied onto another seal's row
        keys.decrypt(blob, context="seal:Y:sm2", keyring=ring)
    assert moved.value.code == "seal_key_corrupt"
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(keys.KekError):
        keys.decrypt(bytes(tampered), context="seal:X:sm2", keyring=ring)
    rotated = keys.Keyring(other.current, previous=(ring.current,))
    fresh = keys.reencrypt(blob, context="seal:X:sm2", keyring=rotated)
    assert keys.blob_key_id(fresh) == other.current.key_id
    assert keys.decrypt(fresh, context="seal:X:sm2", keyring=other) == b"private key"
    for bad in ("not base64!", "c2hvcnQ="):
        with pytest.raises(keys.KekError) as invalid:
            keys.parse_kek(bad)
        assert invalid.value.code == "seal_kek_invalid"


# ---- seal picture --------------------------------------------------------------------------------------------

def test_generated_seal_picture_is_a_transparent_red_round_seal():
    png = image.generate_seal_png(AGENCY, "公章")
    assert png.startswith(image.PNG_MAGIC)
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGBA" and img.size == (496, 496)  # 42 mm at 300 dpi
    assert round(img.info["dpi"][0]) == 300
    alpha = img.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((495, 495)) == 0  # transparent background
    assert alpha.getpixel((248, 248)) == 255  # the star's centre
    assert alpha.getpixel((248, 3)) > 200 and alpha.getpixel((3, 248)) > 200  # the ring reaches the 42 mm edge
    r, g, b, _ = img.getpixel((248, 248))
    assert r > 200 and g < 40 and b < 60  # red
    assert image.check_uploaded_png(png) == png


def test_uploaded_seal_pictures_are_checked_by_content():
    cases = {
        b"GIF89a" + b"\x00" * 100: "seal_image_not_png",
        image.PNG_MAGIC + b"broken": "seal_image_corrupt",
    }
    opaque = io.BytesIO()
    Image.new("RGB", (400, 400), (255, 0, 0)).save(opaque, format="PNG")
    cases[opaque.getvalue()] = "seal_image_not_transparent"
    tiny = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(tiny, format="PNG")
    cases[tiny.getvalue()] = "seal_image_size"
    wide = io.BytesIO()
    Image.new("RGBA", (600, 300), (0, 0, 0, 0)).save(wide, format="PNG")
    cases[wide.getvalue()] = "seal_image_not_square"
    empty = io.BytesIO()
    Image.new("RGBA", (400, 400), (255, 0, 0, 0)).save(empty, format="PNG")
    cases[empty.getvalue()] = "seal_image_empty"
    cases[image.PNG_MAGIC + b"\x00" * (image.UPLOAD_MAX_BYTES + 1)] = "seal_image_too_large"
    for data, code in cases.items():
        with pytest.raises(Refusal) as refused:
            image.check_uploaded_png(data)
        assert refused.value.code == code, code


# ---- stamping + verification (pure) + pdfsig -----------------------------------------------------------------

def notice_spec(**kw) -> DocumentSpec:
    base = dict(
        issuer_mark=f"{AGENCY}文件", doc_number="揭东府办〔2026〕5号", title="关于做好冬季安全生产工作的通知",
        main_recipients=["各镇人民政府", "区府直属各单位"],
        body=[BodyBlock("总体要求", 1), *[BodyBlock(SENTENCE * 3) for _ in range(3)],
              TableBlock([["单位", "责任人"], ["应急管理局", "张三"]])],
        signature=AGENCY, date=dt.date(2026, 11, 27),
    )
    base.update(kw)
    return DocumentSpec(**base)


@pytest.fixture(scope="module")
def rendered():
    return render_pdf_with_layout(notice_spec())


def material(authority, algorithm: str) -> stamping.SealMaterial:
    now = dt.datetime.now(dt.UTC)
    key_der, cert_pem = ca.issue_seal_certificate(
        authority_cert_pem=authority.cert_pem, authority_key_der=authority.key_der, algorithm=algorithm,
        subject=ca.build_name(f"{AGENCY}公章", AGENCY), not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=365),
    )
    return stamping.SealMaterial(agency_names=(AGENCY,), png=image.generate_seal_png(AGENCY), key_der=key_der,
                                 cert_pem=cert_pem, chain_pems=(authority.cert_pem,), signer_name=f"{AGENCY}公章")


def flip_inside_signed_range(pdf: bytes) -> bytes:
    """Flip one byte inside a page content stream: inside the signed range, outside /Contents."""
    data = bytearray(pdf)
    at = data.index(b"stream\n", 1000) + 40
    data[at] ^= 0x01
    return bytes(data)


def append_update(pdf: bytes, *, content: bool) -> bytes:
    """An incremental update after signing: new document info, or (content=True) extra text drawn on page 1."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if content:
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        stream = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (FORGED) Tj ET"))
        contents = page["/Contents"]
        page["/Contents"] = generic.ArrayObject(
            [*(contents if isinstance(contents, generic.ArrayObject) else [page.raw_get("/Contents")]), stream])
        writer.update_container(page)
    else:
        writer.set_info(generic.DictionaryObject({generic.pdf_name("/Title"): generic.TextStringObject("已修改")}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_anchor_must_match_the_seal_agency(authority, rendered):
    assert len(rendered.seal_anchors) == 1 and rendered.seal_anchors[0].agency == AGENCY
    m = material(authority, ca.ALG_ECDSA_P256)
    wrong = stamping.SealMaterial(**{**m.__dict__, "agency_names": ("揭阳市揭东区财政局",)})
    with pytest.raises(Refusal) as refused:
        stamping.stamp_pdf(rendered.data, rendered.seal_anchors, wrong)
    assert refused.value.code == "seal_anchor_missing"
    beyond = [SealAnchor(page=99, agency=AGENCY, center_x_pt=300, center_y_pt=300, max_diameter_pt=120)]
    with pytest.raises(Refusal):
        stamping.stamp_pdf(rendered.data, beyond, m)


@needs_pdfsig
@pytest.mark.parametrize("algorithm", [ca.ALG_ECDSA_P256, ca.ALG_RSA_2048])
def test_stamped_pdf_passes_pdfsig_and_our_verifier(authority, rendered, algorithm):
    m = material(authority, algorithm)
    result = stamping.stamp_pdf(rendered.data, rendered.seal_anchors, m)
    assert result.field_name == "Seal1" and result.anchor == rendered.seal_anchors[0]

    # poppler pdfsig with an NSS database trusting our CA
    report = run_pdfsig(result.pdf, (authority.cert_pem,))
    assert report.returncode == 0 and len(report.signatures) == 1
    sig = report.signatures[0]
    assert sig.signature_validation == "Signature is Valid."
    assert sig.certificate_validation == "Certificate is Trusted."
    assert sig.total_document_signed and sig.signature_type == "ETSI.CAdES.detached"
    assert sig.hash_algorithm == "SHA-256" and sig.signer_cn == f"{AGENCY}公章"
    # without our CA in the database the same signature is valid but its issuer untrusted
    untrusted = run_pdfsig(result.pdf).signatures[0]
    assert untrusted.valid and not untrusted.trusted and "isn't Trusted" in untrusted.certificate_validation
    # one byte flipped inside the signed range: Digest Mismatch (pdfsig still exits 0)
    flipped = run_pdfsig(flip_inside_signed_range(result.pdf), (authority.cert_pem,))
    assert flipped.returncode == 0 and flipped.signatures[0].signature_validation == "Digest Mismatch."

    # our verifier, with the SES made over the signed PDF
    private_hex, public_hex = sm2.generate_keypair()
    seal_der, leaf = _seal_der(authority, public_hex, png=m.png)
    ses_der = ses.sign_document(seal_der=seal_der, signer_cert_der=leaf, signer_private_hex=private_hex,
                                signer_public_hex=public_hex, pdf_bytes=result.pdf, time_info=result.signed_at)
    trust = verify.TrustAnchors(x509_roots=(authority.cert_pem,), sm2_roots=(authority.sm2_cert_der,))
    good = verify.verify_pdf_bytes(result.pdf, {result.signature_value_sha256: ses_der}, trust)
    assert good.ok and good.code == "valid" and not good.modified_after_sealing
    pades = good.pades[0]
    assert pades.intact and pades.valid and pades.trusted and pades.bottom_line
    assert pades.coverage == "entire_file" and pades.modification_level == "none"
    assert pades.signer_cn == f"{AGENCY}公章" and pades.md_algorithm == "SHA-256"
    assert ("ECDSA" if algorithm == ca.ALG_ECDSA_P256 else "RSA") in pades.signature_mechanism
    assert pades.seal_name == f"{AGENCY}公章" and good.ses[0].pades_field == "Seal1" and good.ses[0].ok
    assert good.as_dict()["pades"][0]["signing_time"] == result.signed_at.isoformat()

    for tampered in (flip_inside_signed_range(result.pdf), append_update(result.pdf, content=False),
                     append_update(result.pdf, content=True)):
        bad = verify.verify_pdf_bytes(tampered, {result.signature_value_sha256: ses_der}, trust)
        assert not bad.ok and bad.code == "modified_after_sealing" and bad.message == "文档在盖章后被修改"
        assert bad.modified_after_sealing and not bad.pades[0].ok and not bad.ses[0].ok

    alien = ca.create_authority("别处的制章者", "别处")
    stranger = verify.verify_pdf_bytes(result.pdf, {result.signature_value_sha256: ses_der},
                                       verify.TrustAnchors(x509_roots=(alien.cert_pem,), sm2_roots=(alien.sm2_cert_der,)))
    assert not stranger.ok and stranger.code == "untrusted" and not stranger.pades[0].trusted


def test_incremental_update_is_reported_per_signature(authority, rendered):
    result = stamping.stamp_pdf(rendered.data, rendered.seal_anchors, material(authority, ca.ALG_ECDSA_P256))
    trust = verify.TrustAnchors(x509_roots=(authority.cert_pem,), sm2_roots=(authority.sm2_cert_der,))
    info_only = verify.verify_pdf_bytes(append_update(result.pdf, content=False), None, trust)
    assert info_only.pades[0].coverage == "entire_revision"  # pyHanko: the signature covers its revision only
    assert info_only.code == "modified_after_sealing"
    forged = verify.verify_pdf_bytes(append_update(result.pdf, content=True), None, trust)
    assert forged.pades[0].code == "modified_after_sealing" and forged.pades[0].modification_level == "other"
    assert not forged.pades[0].ok


def test_not_a_pdf_broken_pdf_and_unsigned_pdf(rendered):
    assert verify.verify_pdf_bytes(b"GIF89a", None, verify.TrustAnchors()).code == "not_pdf"
    for broken in (b"%PDF-1.7\nnot really a pdf", rendered.data[: len(rendered.data) // 2]):
        report = verify.verify_pdf_bytes(broken, None, verify.TrustAnchors())
        assert report.code in {"pdf_unreadable", "no_signature"} and not report.ok
    unsigned = verify.verify_pdf_bytes(rendered.data, None, verify.TrustAnchors())
    assert unsigned.code == "no_signature" and not unsigned.ok


def test_pdfsig_output_parser():
    text = """Digital Signature Info of: x.pdf
Signature #1:
  - Signature Field Name: Seal1
  - Signer Certificate Common Name: 甲
  - Signing Hash Algorithm: SHA-256
  - Total document signed
  - Signature Validation: Signature is Valid.
  - Certificate Validation: Certificate is Trusted.
Signature #2:
  - Signature Field Name: Seal2
  - Not total document signed
  - Signature Validation: Digest Mismatch.
"""
    first, second = parse_output(text)
    assert first.valid and first.trusted and first.total_document_signed and first.signer_cn == "甲"
    assert second.field_name == "Seal2" and not second.valid and not second.total_document_signed


# ---- the seal over the text (GB/T 9704 §7.3.5.1): red ink, the black 署名 shows through -----------------------

SEAL_PIXEL_DPI = 150
needs_pdftoppm = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")


def page_pixels(pdf: bytes, page: int) -> Image.Image:
    png = subprocess.run(["pdftoppm", "-f", str(page + 1), "-l", str(page + 1), "-r", str(SEAL_PIXEL_DPI), "-png",
                          "-singlefile", "-"], input=pdf, capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def under_seal(anchor: SealAnchor, img: Image.Image, radius_pt: float) -> list[tuple[int, int]]:
    """Pixel coordinates inside the seal's circle (PDF points, origin bottom-left → pixels, origin top-left)."""
    scale = SEAL_PIXEL_DPI / 72
    cx, cy = anchor.center_x_pt * scale, img.height - anchor.center_y_pt * scale
    r = radius_pt * scale
    return [(x, y) for y in range(int(cy - r), int(cy + r) + 1) for x in range(int(cx - r), int(cx + r) + 1)
            if (x - cx) ** 2 + (y - cy) ** 2 <= r * r and 0 <= x < img.width and 0 <= y < img.height]


@needs_pdftoppm
def test_seal_is_red_ink_over_the_signature_glyphs(authority, rendered):
    anchor = rendered.seal_anchors[0]
    result = stamping.stamp_pdf(rendered.data, rendered.seal_anchors, material(authority, ca.ALG_ECDSA_P256))
    plain, stamped = page_pixels(rendered.data, anchor.page), page_pixels(result.pdf, anchor.page)
    area = under_seal(anchor, plain, 21 * stamping.PT_PER_MM)
    glyphs = [p for p in area if max(plain.getpixel(p)) < 60]  # black 署名 / 成文日期 strokes under the seal
    paper = [p for p in area if min(plain.getpixel(p)) > 245]
    assert len(glyphs) > 500, len(glyphs)  # the 署名 and the date really are under the seal
    # Every glyph pixel stays dark: red × black = black (opaque red would turn ~30 % of them red).
    lit = [p for p in glyphs if max(stamped.getpixel(p)) >= 100]
    assert len(lit) <= 0.01 * len(glyphs), (len(lit), len(glyphs))
    # And the seal is there: much of the paper under it turned red (ring, star, characters).
    red = [p for p in paper if (lambda r, g, b: r > 180 and g < 90 and b < 90)(*stamped.getpixel(p))]
    assert len(red) > 0.15 * len(paper), (len(red), len(paper))
    # The PAdES appearance is the same picture, composited by multiplication.
    assert b"/BM /Multiply" in result.pdf[len(rendered.data):]
