"""Every file input of the project's pages is the Chinese 选择文件 picker (frontend/templates/includes/file_picker.html):
no template writes its own ``type="file"``, and includes/field.html draws every FileField through
``{% file_picker field %}`` keeping the form's name, accept, multiple, required and the help/error ids."""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parent.parent
PICKER = ROOT / "frontend" / "templates" / "includes" / "file_picker.html"


def test_no_template_writes_its_own_file_input():
    own = []
    for path in ROOT.rglob("*.html"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & {".venv", "var", "node_modules", "test-results"} or path == PICKER:
            continue
        if re.search(r"type=[\"']?file", path.read_text(encoding="utf-8"), re.IGNORECASE):
            own.append(str(path.relative_to(ROOT)))
    assert own == [], f"use includes/file_picker.html: {own}"


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class UploadForm(forms.Form):
    scan = forms.FileField(label="来文扫描件（PDF）", help_text="不超过 20 MB",
                           widget=forms.FileInput(attrs={"accept": "application/pdf,.pdf"}))
    photos = forms.FileField(label="照片", required=False)  # ClearableFileInput
    files = forms.FileField(label="附件", required=False, widget=MultipleFileInput(attrs={"multiple": True}))

    def clean_scan(self):
        raise forms.ValidationError("扫描件不是 PDF 文件。")


def _field(form, name):
    return render_to_string("includes/field.html", {"field": form[name]})


def test_form_file_fields_are_drawn_as_the_picker():
    html = _field(UploadForm(), "scan")
    assert html.count('type="file"') == 1 and "Choose" not in html
    assert re.search(r'<input type="file" name="scan"[^>]*class="file-picker-input"', html)
    assert 'accept="application/pdf,.pdf"' in html and " required" in html and "data-file-picker" in html
    assert 'aria-describedby="id_scan-name id_scan_helptext"' in html
    assert '<label for="id_scan" class="btn btn-secondary btn-small file-picker-button">选择文件</label>' in html
    assert '<span id="id_scan-name" class="file-picker-name" translate="no">未选择文件</span>' in html
    assert '<label class="field-label" for="id_scan">来文扫描件（PDF）</label>' in html

    photos = _field(UploadForm(), "photos")
    assert " multiple" not in photos and " required" not in photos and 'name="photos"' in photos
    assert " multiple" in _field(UploadForm(), "files")
    # ClearableFileInput's English “Currently / Clear” never shows, even with a file already there.
    kept = _field(UploadForm(initial={"photos": SimpleUploadedFile("旧.png", b"x")}), "photos")
    assert "Currently" not in kept and "Clear" not in kept and kept.count('type="file"') == 1


def test_an_invalid_file_field_points_at_its_error():
    form = UploadForm(data={}, files={"scan": SimpleUploadedFile("a.pdf", b"%PDF-1.4")})
    assert not form.is_valid()
    html = _field(form, "scan")
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_scan-name id_scan_helptext id_scan_error"' in html
    assert "扫描件不是 PDF 文件。" in html
