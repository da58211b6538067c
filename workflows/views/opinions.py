"""个人常用语 pages and the phrase list behind the opinion widget. Thin: every phrase comes through
``access_phrase_by_id`` (someone else's phrase answers 404).

  /flows/phrases/                    list + add form (GET, POST)
  /flows/phrases/<id>/remove/        remove (POST)
  /flows/phrases/<id>/move/          move up or down (POST direction=up|down)
  /flows/phrases.json?step=签发      the phrases for the opinion widget (personal, or the step's defaults)

Step views put the opinion box on their form with ``opinion_form_field()`` and render it with
``{% include "workflows/_opinion_field.html" with field=form.opinion phrases=phrases %}``, where
``phrases = phrases_for(request.user, step)``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from documents.validators import refuse_control_chars_multiline
from oa.refusals import Refusal
from workflows.actions.opinions import OPINION_MAX, check_add_phrase, check_move_phrase, check_remove_phrase
from workflows.models import CommonPhrase
from workflows.selectors.opinions import access_phrase_by_id, personal_phrases, phrases_for


def opinion_form_field(label: str = "意见", *, required: bool = False, help_text: str = "") -> forms.CharField:
    """The opinion textarea every step form uses; whether text is required is decided by do_record_opinion
    (圈阅 may be empty), so the form field itself stays optional by default."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=OPINION_MAX,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": OPINION_MAX, "data-opinion-input": ""}),
        validators=[refuse_control_chars_multiline],  # the opinion is printed on the 处理笺
    )


class PhraseForm(forms.Form):
    text = forms.CharField(
        label="新常用语",
        max_length=CommonPhrase.TEXT_MAX,
        help_text=f"不超过 {CommonPhrase.TEXT_MAX} 字，如“同意。”“拟同意，请×××审签。”",
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": CommonPhrase.TEXT_MAX}),
        error_messages={"required": "常用语不能为空。"},
    )


def _render_list(request, form: PhraseForm, status: int = 200):
    phrases = list(personal_phrases(request.user))
    return render(request, "workflows/phrases.html", {"form": form, "phrases": phrases}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def phrase_list(request):
    if request.method == "GET":
        return _render_list(request, PhraseForm())
    form = PhraseForm(request.POST)
    if form.is_valid():
        try:
            phrase = check_add_phrase(person=request.user, text=form.cleaned_data["text"])
        except Refusal as exc:
            form.add_error("text", exc.message)
        else:
            messages.success(request, f"已添加常用语“{phrase.text}”")
            return redirect("workflows:phrases")
    return _render_list(request, form, status=400)


@login_required
@require_POST
def phrase_remove(request, phrase_id: int):
    phrase = access_phrase_by_id(request.user, phrase_id)
    check_remove_phrase(person=request.user, phrase=phrase)
    messages.success(request, f"已删除常用语“{phrase.text}”")
    return redirect("workflows:phrases")


@login_required
@require_POST
def phrase_move(request, phrase_id: int):
    phrase = access_phrase_by_id(request.user, phrase_id)
    try:
        check_move_phrase(person=request.user, phrase=phrase, direction=request.POST.get("direction", ""))
    except Refusal as exc:
        messages.error(request, exc.message)
        return _render_list(request, PhraseForm(), status=exc.status)
    return redirect(f"{reverse('workflows:phrases')}#phrase-{phrase.pk}")


@require_GET
def phrases_json(request):
    if not request.user.is_authenticated:
        return JsonResponse({"code": "not_authenticated", "message": "请先登录。"}, status=401)
    step = request.GET.get("step", "").strip()[:50]
    options = phrases_for(request.user, step or None)
    return JsonResponse({
        "step": step,
        "personal": any(o.personal for o in options),
        "phrases": [{"id": o.id, "text": o.text, "use_count": o.use_count} for o in options],
    })


urlpatterns = [
    path("phrases/", phrase_list, name="phrases"),
    path("phrases/<int:phrase_id>/remove/", phrase_remove, name="phrase_remove"),
    path("phrases/<int:phrase_id>/move/", phrase_move, name="phrase_move"),
    path("phrases.json", phrases_json, name="phrases_json"),
]
