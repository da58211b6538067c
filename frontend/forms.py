"""Workbench forms: the inbox filter (GET query string) and the opinion that goes with a work action."""

from __future__ import annotations

from django import forms

from oa.models import Agency, WorkItem

# The five boxes of the unified inbox (URL `box` parameter; see oa.selectors.work.inbox).
BOXES = [
    ("todo", "待办"),
    ("toread", "待阅"),
    ("done", "已办"),
    ("read", "已阅"),
    ("initiated", "我发起"),
]
BOX_LABELS = dict(BOXES)


class _CachedAgencyChoices(forms.models.ModelChoiceIterator):
    """The options from oa.selectors.directory.active_agency_choices (cached) instead of a query per page; a
    submitted value is still checked against the table by ModelChoiceField.to_python."""

    def __iter__(self):
        from oa.selectors.directory import active_agency_choices

        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from active_agency_choices()

    def __len__(self) -> int:
        from oa.selectors.directory import active_agency_choices

        return len(active_agency_choices()) + (self.field.empty_label is not None)


class _AgencyField(forms.ModelChoiceField):
    iterator = _CachedAgencyChoices


def _kind_choices() -> list[tuple[str, str]]:
    from oa import work

    kinds = getattr(work, "work_kinds", None)
    return [("", "全部类型")] + [(k.key, k.label) for k in (kinds() if kinds else [])]


class InboxFilterForm(forms.Form):
    q = forms.CharField(
        label="标题或文号",
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "输入标题或文号查找", "enterkeyhint": "search"}
        ),
    )
    kind = forms.ChoiceField(label="类型", choices=(), required=False)
    urgency = forms.TypedChoiceField(
        label="紧急程度",
        choices=[
            ("", "全部"),
            (str(WorkItem.Urgency.VERY_URGENT), "特急"),
            (str(WorkItem.Urgency.URGENT), "加急"),
            (str(WorkItem.Urgency.NORMAL), "普通"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )
    overdue = forms.BooleanField(label="只看已超期", required=False)
    agency = _AgencyField(
        label="来文机关",
        queryset=Agency.objects.filter(is_active=True),
        required=False,
        empty_label="全部机关",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _kind_choices()

    def filters(self) -> dict:
        """Keyword arguments for oa.selectors.work.inbox; invalid input is ignored rather than failing the page."""
        data = self.cleaned_data if self.is_valid() else {}
        agency = data.get("agency")
        return {
            "kind": data.get("kind") or None,
            "urgency": data.get("urgency"),
            "overdue": True if data.get("overdue") else None,
            "agency_id": agency.pk if agency else None,
            "q": (data.get("q") or "").strip() or None,
        }

    def selected_box(self) -> str:
        value = self.data.get("box") or "todo"
        return value if value in BOX_LABELS else "todo"


class WorkActionForm(forms.Form):
    opinion = forms.CharField(
        label="办理意见",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
