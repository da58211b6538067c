"""Reading 办理意见 and the 常用语 offered beside an opinion box."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from viewflow.workflow.models import Process

from documents.models import OfficialDocument
from documents.selectors.documents import access_document_by_id
from oa.models import Person
from workflows.models import CommonPhrase, Opinion

# Offered when a person has no phrases of their own. ××× / ×× are left for the writer to fill in.
GENERIC_DEFAULT_PHRASES: tuple[str, ...] = ("同意。", "已阅。", "按此办理。")
DEFAULT_PHRASES: dict[str, tuple[str, ...]] = {
    "审核": ("同意，请办公室核稿。", "请修改后再报。", "同意。"),
    "部门负责人审核": ("同意，请办公室核稿。", "请修改后再报。", "同意。"),
    "核稿": ("拟同意，请×××审签。", "文稿已核，格式规范。", "请起草单位修改后再报。"),
    "办公室核稿": ("拟同意，请×××审签。", "文稿已核，格式规范。", "请起草单位修改后再报。"),
    "会签": ("同意。", "无意见。", "会签同意。"),
    "签发": ("同意。", "同意印发。", "按此办理。"),
    "复核": ("已复核，无实质性修改。", "同意。"),
    "拟办": ("拟请×××阅示。", "请××阅示。", "拟请×××牵头办理。"),
    "批示": ("按此办理。", "请×××阅处。", "已阅。"),
    "传阅": ("已阅。",),
    "阅知": ("已阅。",),
}


@dataclass(frozen=True)
class PhraseOption:
    text: str
    id: int | None = None  # None for a built-in default
    use_count: int = 0

    @property
    def personal(self) -> bool:
        return self.id is not None


def default_phrases(step: str | None = None) -> tuple[str, ...]:
    return DEFAULT_PHRASES.get((step or "").strip(), GENERIC_DEFAULT_PHRASES)


def personal_phrases(person: Person) -> QuerySet[CommonPhrase]:
    return CommonPhrase.objects.filter(person=person).order_by("position", "-use_count", "id")


def phrases_for(person: Person, step: str | None = None) -> list[PhraseOption]:
    """The person's own phrases (by position, then the most used), or the step's built-in defaults when they have
    none. Personal phrases are not per step: people reuse "同意。" everywhere."""
    mine = [PhraseOption(text=p.text, id=p.pk, use_count=p.use_count) for p in personal_phrases(person)]
    if mine:
        return mine
    return [PhraseOption(text=text) for text in default_phrases(step)]


def access_phrase_by_id(person: Person, phrase_id: int) -> CommonPhrase:
    """The person's own phrase, or Http404 whether it is missing or someone else's."""
    try:
        return CommonPhrase.objects.get(pk=phrase_id, person=person)
    except CommonPhrase.DoesNotExist:
        raise Http404("常用语不存在") from None


def _opinions() -> QuerySet[Opinion]:
    return Opinion.objects.select_related("author", "on_behalf_of").order_by("created_at", "id")


def opinions_for_document(user: Person, document: OfficialDocument | int) -> QuerySet[Opinion]:
    """Every opinion on the 公文, oldest first; Http404 unless the user may see the document."""
    document_id = document.pk if isinstance(document, OfficialDocument) else document
    visible = access_document_by_id(user, document_id)
    return _opinions().filter(document=visible)


def opinions_for_process(process: Process) -> QuerySet[Opinion]:
    """Every opinion in the process, oldest first. No permission check: callers already hold the process
    (a flow view, the 处理笺 after its own access check)."""
    return _opinions().filter(process=process)
