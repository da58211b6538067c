"""非涉密 only (docs/security.md §12): a classified paper 收文's 待办 is never pushed to the mobile platform."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.actions.incoming import IncomingFields
from integrations.wecom.channel import OUTBOX_CHANNEL, classified_subject
from oa.models import Agency, Notification, NotificationDelivery, OutboxMessage, WorkItem
from tests.test_attachments import make_pdf
from workflows.actions.receipt import check_register_paper_incoming

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(cast, wecom, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    person = cast.finance05
    person.platform_userid = "finance05"
    person.save(update_fields=["platform_userid"])
    wecom.add_member("finance05", person.name, mobile=person.mobile)
    return person


def register(clerk, title: str, secrecy: str):
    agency = Agency.objects.get(doc_code="揭东财")
    fields = IncomingFields(title=title, sender_name="揭阳市揭东区曲溪街道办事处", doc_number="曲溪街〔2026〕8号",
                            secrecy=secrecy, copies=1)
    # A classified paper 收文 is registered as metadata only: its scan is refused (docs/security.md §12).
    scan = None if secrecy else SimpleUploadedFile("来文扫描.pdf", make_pdf(text="来文"), content_type="application/pdf")
    return check_register_paper_incoming(clerk, agency, fields, scan)


def platform_cards() -> int:
    return OutboxMessage.objects.filter(channel=OUTBOX_CHANNEL).count()


def test_a_classified_paper_incoming_is_not_pushed_but_an_open_one_is(clerk, django_capture_on_commit_callbacks):
    before = platform_cards()
    with django_capture_on_commit_callbacks(execute=True):
        open_one = register(clerk, "关于申请拨付防汛物资经费的请示", "")
    pushed = platform_cards() - before
    assert pushed >= 1  # the 登记 待办 went to the platform as a card

    before = platform_cards()
    notes_before = Notification.objects.filter(recipient=clerk).count()
    with django_capture_on_commit_callbacks(execute=True):
        secret = register(clerk, "关于某涉密事项的请示", "jimi")
    assert platform_cards() == before  # not a word of it left for the platform
    assert not OutboxMessage.objects.filter(channel=OUTBOX_CHANNEL, payload__icontains="涉密事项").exists()
    # The web inbox still carries the 待办.
    assert Notification.objects.filter(recipient=clerk).count() > notes_before
    item = WorkItem.objects.filter(owner=clerk, title__contains="涉密事项").first()
    assert item is not None
    note = Notification.objects.filter(work_item=item).first()
    assert note is not None and classified_subject(note) == secret
    assert not NotificationDelivery.objects.filter(notification=note, channel="platform").exists()
    assert open_one.secrecy == "" and secret.secrecy == "jimi"
