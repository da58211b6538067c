"""非涉密 only (docs/security.md §12): nothing classified is drafted, typeset, sealed, distributed or exchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from documents.actions.body import check_save_body
from documents.actions.documents import check_update_document, do_create_document
from documents.actions.numbering import do_allocate_doc_number
from documents.actions.seals import check_stamp_document, do_authorise_seal_use
from documents.actions.typeset import check_typeset_document
from documents.models import BodyVersion, OfficialDocument, Seal, SealAuthorization
from documents.specs import spec_from_document
from integrations.exchange.actions import do_enqueue_package
from oa.models import Agency, AuditEntry, OutboxMessage
from oa.refusals import Refusal
from tests.clients import login
from workflows.actions.distribution import do_deliver_internal, do_send_remote
from workflows.models import DistributionRecipient

pytestmark = pytest.mark.django_db

BODY = {"blocks": [{"type": "p", "level": 0, "text": "现将有关事项通知如下。"}]}


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("level", ["mimi", "jimi", "juemi"])
def test_a_classified_document_is_refused_at_drafting_and_nothing_is_stored(cast, media, level):
    office = Agency.objects.get(doc_code="揭东府办")
    counts = (OfficialDocument.objects.count(), BodyVersion.objects.count(),
              AuditEntry.objects.filter(action="document.create").count())
    with pytest.raises(Refusal) as err:
        do_create_document(actor=cast.zhangwei, agency=office, title="关于某涉密事项的通知", secrecy=level,
                           copy_number="000001", secrecy_period="1年")
    assert err.value.code == "classified_not_allowed" and "非涉密" in err.value.message
    # The 拟稿 page says it beside the 密级 field, keeps the form, stores nothing.
    page = login(cast.zhangwei).post(reverse("documents:create"), {
        "doc_type": "tongzhi", "title": "关于某涉密事项的通知", "secrecy": level, "copy_number": "000001",
        "publicity": "not_public"})
    html = page.content.decode()
    assert page.status_code == 400 and 'id="id_secrecy_error"' in html and "本系统只处理非涉密公文" in html
    assert (OfficialDocument.objects.count(), BodyVersion.objects.count(),
            AuditEntry.objects.filter(action="document.create").count()) == counts
    assert files_in(media) == []


def test_a_draft_cannot_be_marked_classified_later(cast):
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office, title="关于开展防火检查的通知")
    with pytest.raises(Refusal) as err:
        check_update_document(cast.zhangwei, doc, {"secrecy": "mimi", "copy_number": "000003"})
    assert err.value.code == "classified_not_allowed"
    doc.refresh_from_db()
    assert doc.secrecy == "" and doc.copy_number == ""


@pytest.fixture
def legacy_classified(cast):
    """A 公文 row marked 机密 that did not come through 拟稿 (older data, or written by hand in the database)."""
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office, title="关于某事项的通知")
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    check_update_document(cast.zhangwei, doc, {"written_date": timezone.localdate().isoformat()})
    do_allocate_doc_number(cast.liuyang, doc)
    OfficialDocument.objects.filter(pk=doc.pk).update(secrecy="jimi", copy_number="000001", status="numbered")
    doc.refresh_from_db()
    return doc


def _refused(fn, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as err:
        fn(*args, **kwargs)
    assert err.value.code == "classified_not_allowed" and "机密" in err.value.message, err.value.message
    return err.value


def test_a_classified_record_is_never_typeset(cast, legacy_classified, media):
    _refused(check_typeset_document, cast.liuyang, legacy_classified)
    _refused(spec_from_document, legacy_classified)  # no preview or file of any kind either
    legacy_classified.refresh_from_db()
    assert not legacy_classified.final_pdf and not legacy_classified.final_docx and files_in(media) == []


def test_a_classified_record_is_never_e_sealed(cast, legacy_classified):
    _refused(do_authorise_seal_use, actor=cast.liuyang, document=legacy_classified, step_label="用印",
             step_token="test:1")
    assert not SealAuthorization.objects.filter(document=legacy_classified).exists()
    _refused(check_stamp_document, cast.liuyang, legacy_classified, Seal(), step_token="test:1", otp_verified=True)
    assert not legacy_classified.seal_uses.exists()


def test_a_classified_record_is_never_distributed_or_exchanged(cast, legacy_classified):
    finance = Agency.objects.get(doc_code="揭东财")
    row = DistributionRecipient(document=legacy_classified, agency=finance, kind="main", sent_by=cast.liuyang)
    outbox = OutboxMessage.objects.count()
    _refused(do_deliver_internal, row, actor=cast.liuyang)
    _refused(do_send_remote, legacy_classified, [row], actor=cast.liuyang)
    _refused(do_enqueue_package, legacy_classified, [row], actor=cast.liuyang)  # the exchange adapter itself
    assert OutboxMessage.objects.count() == outbox
    assert not legacy_classified.incoming_copies.exists()
