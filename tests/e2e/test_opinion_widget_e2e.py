"""The opinion box behaviour (workflows/static/workflows/opinion.js) in Debian chromium: the counter follows the
text and a 常用语 button inserts its phrase at the caret. The partial is rendered by Django and loaded into a blank
page with the same script file, at phone width (390 px)."""

from __future__ import annotations

import shutil

import pytest
from django import forms
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, in_thread
from workflows.selectors.opinions import PhraseOption
from workflows.views.opinions import opinion_form_field

pytestmark = pytest.mark.e2e


class StepForm(forms.Form):
    opinion = opinion_form_field("签发意见")


def _drive(html: str, css: str, script: str) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORTS["mobile"])
            page.set_content(f"<!doctype html><html lang='zh-Hans'><body><form>{html}</form></body></html>")
            page.add_style_tag(path=css)
            page.add_script_tag(path=script)
            box = page.locator("#id_opinion")
            count = page.locator("[data-opinion-count]")
            assert count.inner_text() == "0"

            box.fill("拟")
            assert count.inner_text() == "1"
            page.get_by_role("button", name="拟同意，请×××审签。").click()
            assert box.input_value() == "拟拟同意，请×××审签。"
            assert count.inner_text() == "12"

            # Insert at the caret, replacing the selection.
            box.fill("同意。请办理。")
            box.evaluate("el => el.setSelectionRange(3, 3)")
            page.get_by_role("button", name="已阅。").click()
            assert box.input_value() == "同意。已阅。请办理。"
            box.evaluate("el => el.setSelectionRange(0, 3)")
            page.get_by_role("button", name="已阅。").click()
            assert box.input_value() == "已阅。已阅。请办理。"

            # Never past maxlength: the counter turns to its full state.
            box.evaluate("el => { el.value = '同'.repeat(1998); el.dispatchEvent(new Event('input')); }")
            box.evaluate("el => el.setSelectionRange(1998, 1998)")
            page.get_by_role("button", name="拟同意，请×××审签。").click()
            assert len(box.input_value()) == 2000 and box.input_value().endswith("拟同")
            assert count.inner_text() == "2000"
            assert "opinion-counter-full" in page.locator("[data-opinion-counter]").get_attribute("class")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"横向溢出 {width}px"
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "opinion-widget-mobile.png"), full_page=True)
        finally:
            browser.close()


def test_counter_and_phrase_buttons_in_chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip("需要 Debian chromium（apt-get install chromium）")
    html = render_to_string("workflows/_opinion_field.html", {
        "field": StepForm()["opinion"],
        "phrases": [PhraseOption(text="拟同意，请×××审签。"), PhraseOption(text="已阅。")],
    })
    in_thread(_drive, html, finders.find("workflows/opinion.css"), finders.find("workflows/opinion.js"))
