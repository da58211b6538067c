"""E-seal actions on the database: 制章者, seal registry, authorisation, stamping, refusals, KEK rotation, 联合行文.

Every stamping test checks the rows (SealUse, SealAuthorization, document status), the audit entries and the
stored file; every refusal checks that nothing at all was stored. pdfsig confirms the co-issued PDF independently.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from documents.actions.documents import do_create_document, do_set_co_issuers, do_set_document_status
from documents.actions.seals import (
    check_create_seal,
    check_revoke_seal,
    check_stamp_document,
    do_authorise_seal_use,
    do_init_seal_authority,
    do_revoke_seal_authorization,
    do_rotate_seal_kek,
)
from documents.models import OfficialDocument, Seal, SealAuthority, SealAuthorization, SealUse
from documents.rendering.pdf import render_pdf_with_layout
from documents.rendering.spec import BodyBlock, DocumentSpec, TableBlock
from documents.seals import ca, image, keys, ses, sm2
from documents.seals.pdfsig import run_pdfsig
from documents.selectors.seals import trust_anchors, verify_pdf
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
OFFICE = "揭阳市揭东区人民政府办公室"
FINANCE = "揭阳市揭东区财政局"
SENTENCE = "为深入贯彻落实安全生产工作部署，切实做好冬季各项安全防范工作，确保全区安全形势持续稳定。"
OTHER_KEK = "b3RoZXIta2VrLWZvci10ZXN0cy1vbmx5LTEyMzQ1Njc="


def spec(**kw) -> DocumentSpec:
    base = dict(
        issuer_mark=f"{OFFICE}文件", doc_number="揭东府办〔2026〕9号", title="关于做好冬季安全生产工作的通知",
        main_recipients=["各镇人民政府"], body=[BodyBlock("总体要求", 1), *[BodyBlock(SENTENCE * 2) for _ in range(3)],
                                                 TableBlock([["单位", "责任人"], ["应急管理局", "张三"]])],
        signature=OFFICE, date=dt.date(2026, 11, 27),
    )
    base.update(kw)
    return DocumentSpec(**base)


@pytest.fixture(scope="module")
def rendered():
    return render_pdf_with_layout(spec())


@pytest.fixture(scope="module")
def png() -> bytes:
    return image.generate_seal_png(OFFICE)


@pytest.fixture
def office(db) -> Agency:
    return Agency.objects.get(doc_code="揭东府办")


@pytest.fixture
def finance(db) -> Agency:
    return Agency.objects.get(doc_code="揭东财")


@pytest.fixture
def authority(db) -> SealAuthority:
    return do_init_seal_authority(actor=None, name="揭阳市揭东区电子印章制章者")


@pytest.fixture
def seal(authority, cast, office, png) -> Seal:
    return check_create_seal(cast.sunhao, agency=office, image_png=png)


def typeset_document(cast, agency, rendered, **fields) -> OfficialDocument:
    document = do_create_document(actor=cast.zhangwei, agency=agency, title="关于做好冬季安全生产工作的通知", **fields)
    document.final_pdf.save("final.pdf", ContentFile(rendered.data), save=False)
    document.seal_anchors = [dataclasses.asdict(a) for a in rendered.seal_anchors]  # as check_typeset_document does
    document.save()
    do_set_document_status(document, OfficialDocument.Status.TYPESET, actor=cast.liuyang)
    return document


@pytest.fixture
def document(cast, office, rendered) -> OfficialDocument:
    return typeset_document(cast, office, rendered)


def authorise(document, cast, token="issuance:1:seal", **kw) -> SealAuthorization:
    return do_authorise_seal_use(actor=cast.huangjianhua, document=document, step_label="用印", step_token=token, **kw)


def stored_use_files() -> set[str]:
    try:
        return set(default_storage.listdir("seals/uses")[1])
    except FileNotFoundError:
        return set()


# ---- 制章者 -----------------------------------------------------------------------------------------------------

def test_seal_ca_command_initialises_once_and_exports_certificates(db):
    out = StringIO()
    call_command("seal_ca", "init", "--name", "揭阳市揭东区电子印章制章者", stdout=out)
    assert "已创建制章者" in out.getvalue()
    authority = SealAuthority.objects.get(is_active=True)
    entry = AuditEntry.objects.get(action="seal.authority_init")
    assert entry.changes["x509_sha256"] == ca.fingerprint(ca.cert_der(ca.load_cert(authority.cert_pem)))
    # the private keys are stored only encrypted under the configured KEK, bound to this authority
    ring = keys.keyring_from_settings()
    assert authority.kek_id == ring.current.key_id
    key_der = keys.decrypt(authority.key_encrypted, context=authority.key_context("x509"))
    assert key_der not in bytes(authority.key_encrypted)
    sm2_private = keys.decrypt(authority.sm2_private_encrypted, context=authority.key_context("sm2")).hex()
    assert sm2.public_key_of(sm2_private) == authority.sm2_public_hex
    with pytest.raises(CommandError, match="已存在电子印章制章者"):
        call_command("seal_ca", "init")
    pem = StringIO()
    call_command("seal_ca", "cert", stdout=pem)
    assert pem.getvalue() == authority.cert_pem
    sm2_pem = StringIO()
    call_command("seal_ca", "cert", "--sm2", stdout=sm2_pem)
    assert sm2_pem.getvalue() == ca.der_to_pem(bytes(authority.sm2_cert_der))
    kek = StringIO()
    call_command("seal_ca", "new-kek", stdout=kek)
    assert len(keys.parse_kek(kek.getvalue().strip()).key) == 32
    issued = StringIO()
    call_command("seal_ca", "issue", "--agency", "揭东财", "--algorithm", "rsa_2048", "--by", "sunhao", stdout=issued)
    seal = Seal.objects.get(agency__doc_code="揭东财")
    assert seal.es_id in issued.getvalue() and seal.algorithm == "rsa_2048" and seal.created_by.username == "sunhao"
    with pytest.raises(CommandError, match="只有系统管理员"):
        call_command("seal_ca", "issue", "--agency", "揭东财", "--by", "zhangwei")
    shown = StringIO()
    call_command("seal_ca", "show", stdout=shown)
    assert "印章 1 枚，其中 0 枚的私钥仍由旧 KEK 加密" in shown.getvalue()


# ---- registry ---------------------------------------------------------------------------------------------------

def test_create_seal_makes_both_key_pairs_and_a_signed_ses_seal(authority, cast, office):
    seal = check_create_seal(cast.sunhao, agency=office, algorithm=Seal.Algorithm.RSA_2048)
    assert seal.name == OFFICE and seal.kind == Seal.Kind.OFFICIAL and seal.holder_role == "seal_keeper"
    assert seal.es_id == f"{office.uscc}-01-0001" and seal.image_source == Seal.ImageSource.GENERATED
    with seal.image.open("rb") as fh:
        assert image.check_uploaded_png(fh.read())  # a transparent PNG
    cert = ca.load_cert(seal.cert_pem)
    assert cert.issuer == ca.load_cert(authority.cert_pem).subject and format(cert.serial_number, "x") == seal.cert_serial
    assert cert.public_key().key_size == 2048
    parsed = ses.parse_seal(bytes(seal.ses_seal))
    assert parsed.es_id == seal.es_id and parsed.name == OFFICE and parsed.seal_type_name == "公章"
    assert parsed.cert_list == [bytes(seal.sm2_cert_der)] and parsed.maker_cert_der == bytes(authority.sm2_cert_der)
    assert sm2.verify(authority.sm2_public_hex, parsed.seal_info_der, parsed.signed_value)
    assert parsed.extensions[ses.OID_EXT_PADES_CERT_SHA256] == hashlib.sha256(ca.cert_der(cert)).digest()
    sm2_cert = ca.parse_sm2_certificate(bytes(seal.sm2_cert_der))
    assert sm2_cert.public_hex == seal.sm2_public_hex and ca.sm2_certificate_signed_by(sm2_cert, authority.sm2_public_hex)
    sm2_private = keys.decrypt(seal.sm2_private_encrypted, context=seal.key_context("sm2")).hex()
    assert sm2.public_key_of(sm2_private) == seal.sm2_public_hex
    entry = AuditEntry.objects.get(action="seal.create")
    assert entry.actor == cast.sunhao and entry.changes["es_id"] == seal.es_id and entry.changes["algorithm"] == "rsa_2048"
    second = check_create_seal(cast.sunhao, agency=office, kind=Seal.Kind.BUSINESS, name=f"{OFFICE}合同专用章")
    assert second.es_id == f"{office.uscc}-02-0002"


def test_only_administrators_make_seals_and_windows_are_checked(authority, cast, office):
    for actor in (cast.zhangwei, cast.zhoumin):
        with pytest.raises(Refusal) as refused:
            check_create_seal(actor, agency=office)
        assert refused.value.code == "seal_manage_forbidden" and refused.value.status == 403
    now = timezone.now()
    with pytest.raises(Refusal) as backwards:
        check_create_seal(cast.sunhao, agency=office, valid_from=now, valid_to=now - dt.timedelta(days=1))
    assert backwards.value.code == "invalid_seal_validity"
    with pytest.raises(Refusal) as too_long:
        check_create_seal(cast.sunhao, agency=office, valid_to=now + dt.timedelta(days=365 * 30))
    assert too_long.value.code == "invalid_seal_validity"
    with pytest.raises(Refusal) as bad_png:
        check_create_seal(cast.sunhao, agency=office, image_png=b"\xff\xd8\xff\xe0JFIF")
    assert bad_png.value.code == "seal_image_not_png"
    assert not Seal.objects.exists() and not AuditEntry.objects.filter(action="seal.create").exists()


def test_create_seal_needs_an_authority(cast, office):
    with pytest.raises(Refusal) as refused:
        check_create_seal(cast.sunhao, agency=office)
    assert refused.value.code == "seal_authority_missing"


# ---- stamping ---------------------------------------------------------------------------------------------------

def test_keeper_stamps_inside_the_authorised_step(seal, document, cast, rendered):
    authorization = authorise(document, cast)
    assert AuditEntry.objects.filter(action="seal.authorise", object_id=str(document.pk)).exists()
    # no anchors passed: the ones typesetting stored with the final PDF are used
    use = check_stamp_document(cast.zhoumin, document, seal, step_token="issuance:1:seal", otp_verified=True)

    use.refresh_from_db()
    authorization.refresh_from_db()
    document.refresh_from_db()
    assert authorization.used_at is not None and use.authorization == authorization
    assert use.actor == cast.zhoumin and use.step_label == "用印" and use.pades_field == "Seal1"
    assert list(document.seal_uses.all()) == [use]  # the archive reads document.seal_uses
    assert document.status == OfficialDocument.Status.SEALED
    assert use.pdf_before_sha256 == hashlib.sha256(rendered.data).hexdigest()
    with use.signed_pdf.open("rb") as fh:
        signed = fh.read()
    assert hashlib.sha256(signed).hexdigest() == use.signed_pdf_sha256 and sm2.sm3(signed).hex() == use.signed_pdf_sm3
    assert signed.startswith(rendered.data)  # an incremental update: the rendered bytes are untouched
    parsed = ses.parse_signature(bytes(use.ses_signature))
    assert parsed.data_hash == sm2.sm3(signed) and parsed.seal.es_id == seal.es_id
    assert parsed.time_info == use.signed_at.replace(microsecond=0)
    assert use.anchor["page"] == rendered.seal_anchors[0].page

    entry = AuditEntry.objects.get(action="seal.use")
    assert entry.actor == cast.zhoumin and entry.object_id == str(document.pk)
    assert entry.changes["seal"] == seal.name and entry.changes["es_id"] == seal.es_id
    assert entry.changes["pdf_before_sha256"] == use.pdf_before_sha256
    assert entry.changes["signed_pdf_sha256"] == use.signed_pdf_sha256
    assert entry.changes["ses_sha256"] == hashlib.sha256(bytes(use.ses_signature)).hexdigest()
    assert AuditEntry.objects.filter(action="document.status", changes__status=["typeset", "sealed"]).exists()

    report = verify_pdf(signed)  # finds the SES through the stored PDF signature value
    assert report.ok and report.code == "valid" and len(report.pades) == 1 and len(report.ses) == 1
    assert report.pades[0].seal_name == seal.name and report.ses[0].es_id == seal.es_id
    assert [c.ok for c in report.ses[0].checks if c.ok is not None] == [True] * 7
    tampered = bytearray(signed)
    tampered[signed.index(b"stream\n", 1000) + 40] ^= 1
    bad = verify_pdf(bytes(tampered))
    assert bad.code == "modified_after_sealing" and bad.message == "文档在盖章后被修改" and bad.ses  # SES still found


REFUSALS = {
    "non_keeper": ("seal_not_authorised", 403),
    "other_agency_keeper": ("seal_not_authorised", 403),
    "no_authorisation": ("seal_authorisation_missing", 403),
    "wrong_step": ("seal_authorisation_missing", 403),
    "no_otp": ("otp_required", 403),
    "expired_seal": ("seal_expired", 400),
    "revoked_seal": ("seal_revoked", 409),
    "expired_authorisation": ("seal_authorisation_expired", 403),
    "revoked_authorisation": ("seal_authorisation_revoked", 403),
    "wrong_kek": ("seal_kek_mismatch", 500),
    "other_agency_seal": ("seal_agency_mismatch", 400),
    "standin_fonts": ("standin_fonts", 409),  # the test host has stand-ins only; the deployment does not accept them
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_stamping_stores_nothing(case, seal, document, cast, rendered, finance, png):
    actor, token, verified = cast.zhoumin, "issuance:1:seal", True
    authorization = None if case == "no_authorisation" else authorise(document, cast)
    if case == "non_keeper":
        actor = cast.zhangwei
    elif case == "other_agency_keeper":
        actor = cast.finance05
    elif case == "wrong_step":
        token = "issuance:1:review"
    elif case == "no_otp":
        verified = False
    elif case == "expired_seal":
        Seal.objects.filter(pk=seal.pk).update(valid_to=timezone.now() - dt.timedelta(minutes=1))
    elif case == "revoked_seal":
        check_revoke_seal(cast.sunhao, seal, reason="印章遗失")
    elif case == "expired_authorisation":
        SealAuthorization.objects.filter(pk=authorization.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif case == "revoked_authorisation":
        do_revoke_seal_authorization(authorization, actor=cast.huangjianhua, reason="退回修改")
    elif case == "other_agency_seal":
        seal = check_create_seal(cast.sunhao, agency=finance, image_png=png)
        actor = cast.finance05
        with pytest.raises(Refusal) as not_issuer:  # a flow cannot even authorise a non-issuing agency
            authorise(document, cast, agency=finance)
        assert not_issuer.value.code == "seal_agency_mismatch"
    files_before = stored_use_files()
    audit_before = AuditEntry.objects.count()

    context = (override_settings(SEAL_KEK=OTHER_KEK) if case == "wrong_kek"
               else override_settings(ACCEPT_STANDIN_FONTS=False) if case == "standin_fonts" else _null())
    with context:
        with pytest.raises(Refusal) as refused:
            check_stamp_document(actor, document, seal, step_token=token, otp_verified=verified,
                                 anchors=rendered.seal_anchors)
    code, status = REFUSALS[case]
    assert (refused.value.code, refused.value.status) == (code, status)
    assert refused.value.message and any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    if case == "wrong_kek":
        assert "OA_SEAL_KEK" in refused.value.message
    if case == "standin_fonts":  # names the substitutions and both ways out
        assert "仿宋_GB2312→AR PL UMing CN" in refused.value.message and "OA_FONT_DIR" in refused.value.message
        assert "OA_ACCEPT_STANDIN_FONTS" in refused.value.message
    assert not SealUse.objects.exists()
    assert not AuditEntry.objects.filter(action="seal.use").exists()
    assert AuditEntry.objects.count() == audit_before
    assert not SealAuthorization.objects.filter(used_at__isnull=False).exists()
    document.refresh_from_db()
    assert document.status == OfficialDocument.Status.TYPESET
    assert stored_use_files() == files_before


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_an_authorisation_is_used_once_and_an_agency_seals_once(seal, document, cast, rendered):
    authorise(document, cast)
    check_stamp_document(cast.zhoumin, document, seal, step_token="issuance:1:seal", otp_verified=True,
                         anchors=rendered.seal_anchors)
    with pytest.raises(Refusal) as reused:
        check_stamp_document(cast.zhoumin, document, seal, step_token="issuance:1:seal", otp_verified=True,
                             anchors=rendered.seal_anchors)
    assert reused.value.code == "seal_authorisation_used" and reused.value.status == 409
    authorise(document, cast, token="issuance:1:seal-again")
    with pytest.raises(Refusal) as twice:
        check_stamp_document(cast.zhoumin, document, seal, step_token="issuance:1:seal-again", otp_verified=True,
                             anchors=rendered.seal_anchors)
    assert twice.value.code == "already_sealed"
    assert SealUse.objects.count() == 1 and AuditEntry.objects.filter(action="seal.use").count() == 1


def test_minutes_are_not_sealed_and_missing_pdf_is_refused(seal, cast, office, rendered):
    bare = do_create_document(actor=cast.zhangwei, agency=office, title="无正式文件")
    authorise(bare, cast)
    with pytest.raises(Refusal) as missing:
        check_stamp_document(cast.zhoumin, bare, seal, step_token="issuance:1:seal", otp_verified=True,
                             anchors=rendered.seal_anchors)
    assert missing.value.code == "final_pdf_missing"
    bare.final_pdf.save("final.pdf", ContentFile(rendered.data), save=True)
    with pytest.raises(Refusal) as no_anchor:  # a PDF without the anchors typesetting stores
        check_stamp_document(cast.zhoumin, bare, seal, step_token="issuance:1:seal", otp_verified=True)
    assert no_anchor.value.code == "seal_anchor_missing"
    minutes = typeset_document(cast, office, rendered, doc_type="jiyao")
    authorise(minutes, cast)
    with pytest.raises(Refusal) as unsealed:
        check_stamp_document(cast.zhoumin, minutes, seal, step_token="issuance:1:seal", otp_verified=True,
                             anchors=rendered.seal_anchors)
    assert unsealed.value.code == "seal_not_required"
    assert not SealUse.objects.exists()


def test_kek_rotation_reencrypts_every_key(seal, authority, document, cast, rendered):
    old = keys.keyring_from_settings().current
    new_id = keys.parse_kek(OTHER_KEK).key_id
    with override_settings(SEAL_KEK=OTHER_KEK, SEAL_KEK_PREVIOUS=[]):
        with pytest.raises(Refusal) as before:  # the new KEK alone cannot read keys made under the old one
            keys.decrypt(seal.key_encrypted, context=seal.key_context("x509"))
        assert before.value.code == "seal_kek_mismatch"
    old_b64 = base64.b64encode(old.key).decode()
    with override_settings(SEAL_KEK=OTHER_KEK, SEAL_KEK_PREVIOUS=[old_b64]):
        assert do_rotate_seal_kek(actor=cast.sunhao) == 2  # the authority and the seal
        assert do_rotate_seal_kek(actor=cast.sunhao) == 0  # idempotent
    seal.refresh_from_db()
    authority.refresh_from_db()
    assert seal.kek_id == authority.kek_id == new_id
    assert keys.blob_key_id(seal.sm2_private_encrypted) == new_id
    entry = AuditEntry.objects.filter(action="seal.kek_rotate").first()
    assert entry.changes == {"kek_id": new_id, "rows": 2}
    authorise(document, cast)
    with override_settings(SEAL_KEK=OTHER_KEK, SEAL_KEK_PREVIOUS=[]):
        use = check_stamp_document(cast.zhoumin, document, seal, step_token="issuance:1:seal", otp_verified=True,
                                   anchors=rendered.seal_anchors)
    with use.signed_pdf.open("rb") as fh:
        assert verify_pdf(fh.read()).ok


def test_co_issued_document_is_sealed_by_each_agency_in_turn(authority, cast, office, finance, png):
    joint = spec(issuer_names=[OFFICE, FINANCE], co_signatures=[FINANCE])
    layout = render_pdf_with_layout(joint)
    assert [a.agency for a in layout.seal_anchors] == [OFFICE, FINANCE]
    office_seal = check_create_seal(cast.sunhao, agency=office, image_png=png)
    finance_seal = check_create_seal(cast.sunhao, agency=finance, algorithm=Seal.Algorithm.RSA_2048,
                                     image_png=image.generate_seal_png(FINANCE))
    document = typeset_document(cast, office, layout)
    do_set_co_issuers(document, [finance], actor=cast.zhangwei)
    authorise(document, cast, token="joint:office")
    authorise(document, cast, token="joint:finance", agency=finance)

    first = check_stamp_document(cast.zhoumin, document, office_seal, step_token="joint:office", otp_verified=True,
                                 anchors=layout.seal_anchors)
    document.refresh_from_db()
    assert document.status == OfficialDocument.Status.TYPESET  # the finance bureau's seal is still missing
    second = check_stamp_document(cast.finance05, document, finance_seal, step_token="joint:finance",
                                  otp_verified=True, anchors=layout.seal_anchors)
    document.refresh_from_db()
    assert document.status == OfficialDocument.Status.SEALED and second.pades_field == "Seal2"
    assert second.pdf_before_sha256 == first.signed_pdf_sha256

    with second.signed_pdf.open("rb") as fh:
        final = fh.read()
    report = verify_pdf(final)
    assert report.ok and report.code == "valid" and len(report.pades) == 2 and len(report.ses) == 2
    first_pades = report.pades[0]
    assert first_pades.coverage == "entire_revision" and first_pades.modification_level == "form_filling"
    assert {s.seal_name for s in report.ses} == {office_seal.name, finance_seal.name}
    assert not report.ses[0].covers_entire_file and report.ses[0].ok  # the office SES covers its own revision
    # make test installs poppler-utils and libnss3-tools: the independent check always runs
    sigs = run_pdfsig(final, (authority.cert_pem,)).signatures
    assert [s.signature_validation for s in sigs] == ["Signature is Valid."] * 2
    assert [s.certificate_validation for s in sigs] == ["Certificate is Trusted."] * 2
    assert [s.total_document_signed for s in sigs] == [False, True]
    # something appended after the last seal breaks the whole document
    appended = final + b"\n% appended after sealing\n"
    assert verify_pdf(appended).code == "modified_after_sealing"


def test_trust_anchors_keep_retired_authorities_and_list_revocations(seal, authority, cast):
    do_init_seal_authority(actor=None, name="新制章者", replace=True)
    check_revoke_seal(cast.sunhao, seal, reason="机构撤并")
    anchors = trust_anchors()
    assert authority.cert_pem in anchors.x509_roots and len(anchors.x509_roots) == 2
    assert seal.es_id in anchors.revoked and seal.cert_serial in anchors.revoked
    assert AuditEntry.objects.filter(action="seal.revoke", changes__reason="机构撤并").exists()


# ---- settings ---------------------------------------------------------------------------------------------------

def _manage(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OA_")}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=base | env, capture_output=True,
                          text=True, timeout=120)


def test_production_refuses_to_start_without_a_seal_kek(tmp_path):
    common = {"OA_SECRET_KEY": "x" * 60, "OA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "oa.settings"}
    missing = _manage(common)
    assert missing.returncode != 0 and "缺少 OA_SEAL_KEK" in missing.stderr
    malformed = _manage(common | {"OA_SEAL_KEK": "c2hvcnQ="})
    assert malformed.returncode != 0 and "OA_SEAL_KEK / OA_SEAL_KEK_PREVIOUS 格式错误" in malformed.stderr
    debug = _manage({"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "oa.settings"})
    assert debug.returncode == 0, debug.stderr
