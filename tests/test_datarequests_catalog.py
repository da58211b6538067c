"""指标目录维护 (docs/datarequests.md 指标目录维护): the 清单 owners of 督查室 edit synonyms and 口径, merge a duplicate
into another row (fields and stored answers re-pointed in one transaction, audited; refused when one request uses both,
or the units or types differ), and retire a row (hidden from the reuse search, existing data kept)."""

from __future__ import annotations

import pytest

from oa.models import AuditEntry
from oa.refusals import Refusal
from supervision.datarequests import actions as act
from supervision.datarequests.models import Answer, CatalogField, RequestField
from supervision.datarequests.selectors import catalog_matches
from tests.clients import login
from tests.test_datarequests import D, listed_request, on, submission_of, town_clerk


def _answer(cast, req, town: str, values: dict[str, str]) -> None:
    act.check_save_submission(town_clerk(cast, town), submission_of(req, town), values, final=True)


@pytest.fixture
def two_names(cast):
    """Two offices registered the same number under two names: 财政局 “乡村振兴投入”, 农业口 “振兴资金投入”. Both
    were answered for 2026-09: 曲溪 answered both (the later answer is the 农业 one), 磐东 only the first, 玉湖 only
    the second."""
    with on(D(2026, 9, 14)):
        fin = listed_request(cast, cast.finance04, title="乡村振兴投入情况", fields=[
            act.FieldInput(code="invest", name="乡村振兴投入", unit="万元", kind="decimal", synonyms="振兴投入")])
        act.check_send_request(cast.finance04, fin)
        _answer(cast, fin, "曲溪街道", {"invest": "100"})
        _answer(cast, fin, "磐东街道", {"invest": "200"})
    with on(D(2026, 9, 15)):
        edu = listed_request(cast, cast.edu04, title="教育口振兴资金", fields=[
            act.FieldInput(code="fund", name="振兴资金投入", unit="万元", kind="decimal"),
            act.FieldInput(code="schools", name="村小学校数", unit="所", kind="integer")])
        act.check_send_request(cast.edu04, edu)
        _answer(cast, edu, "曲溪街道", {"fund": "110", "schools": "3"})
        _answer(cast, edu, "玉湖镇", {"fund": "300", "schools": "5"})
    return fin, edu


def test_merge_moves_fields_and_answers_and_the_next_request_is_prefilled(cast, two_names):
    fin, edu = two_names
    keep = CatalogField.objects.get(name="乡村振兴投入")
    dup = CatalogField.objects.get(name="振兴资金投入")
    page = login(cast.zhaolei, otp=True)
    assert "合并重复指标" in page.get(f"/datarequests/catalog/{dup.pk}/").content.decode()
    r = page.post(f"/datarequests/catalog/{dup.pk}/", {"op": "merge", "into": keep.pk})
    assert r.status_code == 302 and r["Location"] == f"/datarequests/catalog/{keep.pk}/"

    dup.refresh_from_db()
    keep.refresh_from_db()
    assert dup.merged_into == keep and dup.retired
    assert RequestField.objects.get(request=edu, code="fund").catalog == keep
    assert not RequestField.objects.filter(catalog=dup).exists()
    answers = {(a.agency.short_name, a.value) for a in Answer.objects.filter(catalog=keep, period="2026-09")}
    assert answers == {("曲溪街道", "110"), ("磐东街道", "200"), ("玉湖镇", "300")}  # 曲溪: the later answer kept
    assert not Answer.objects.filter(catalog=dup).exists()
    assert "振兴资金投入" in keep.synonyms.split(",") and "振兴投入" in keep.synonyms.split(",")
    entry = AuditEntry.objects.filter(action="datarequests.catalog_merge").latest("id")
    assert entry.changes["merged"] == dup.pk and entry.changes["answers_moved"] == 2
    assert entry.changes["answers_dropped"] == 1 and entry.actor_id == cast.zhaolei.pk

    # The duplicate's name still finds the merged row; the retired duplicate itself no longer appears.
    assert [m.pk for m in catalog_matches("振兴资金投入")] == [keep.pk]
    assert "已并入" in page.get(f"/datarequests/catalog/{dup.pk}/").content.decode()
    # Creating the duplicate name again points at the row it was merged into.
    with on(D(2026, 9, 16)):
        req = act.check_save_request(cast.audit04, None, act.RequestInput(
            title="审计口振兴投入", cycle="once", period="2026-09", deadline_days=3,
            targets=[(submission_of(fin, "玉湖镇").agency, None)]))
        with pytest.raises(Refusal) as exc:
            act.check_add_field(cast.audit04, req, act.FieldInput(code="x", name="振兴资金投入", unit="万元",
                                                                  kind="decimal"))
        assert exc.value.code == "catalog_merged" and "乡村振兴投入（万元）" in exc.value.message
        # Reusing the kept row prefills 玉湖镇 with the answer that came over from the duplicate.
        act.check_add_field(cast.audit04, req, act.FieldInput(code="x", catalog=keep))
        act.check_apply_listing(cast.audit04, req, basis="区审计局局务会")
        act.check_decide_listing(cast.wujing, req, approve=True)
        act.check_send_request(cast.audit04, req)
    assert submission_of(req, "玉湖镇").values["x"] == "300"
    assert submission_of(req, "玉湖镇").prefilled["x"]["source"] == "教育口振兴资金"


def test_merge_refused_when_one_request_uses_both_and_nothing_changes(cast):
    with on(D(2026, 9, 14)):
        req = listed_request(cast, cast.finance04, title="两个投入", fields=[
            act.FieldInput(code="a", name="乡村振兴投入", unit="万元", kind="decimal"),
            act.FieldInput(code="b", name="振兴资金投入", unit="万元", kind="decimal")])
    keep, dup = CatalogField.objects.get(name="乡村振兴投入"), CatalogField.objects.get(name="振兴资金投入")
    before = AuditEntry.objects.count()
    page = login(cast.zhaolei, otp=True)
    body = page.post(f"/datarequests/catalog/{dup.pk}/", {"op": "merge", "into": keep.pk}).content.decode()
    assert "报表“两个投入”同时用到“振兴资金投入（万元）”和“乡村振兴投入（万元）”" in body and "不能合并" in body
    dup.refresh_from_db()
    assert not dup.retired and dup.merged_into is None
    assert RequestField.objects.get(request=req, code="b").catalog == dup
    assert AuditEntry.objects.count() == before


def test_merge_bad_input(cast, two_names):
    keep = CatalogField.objects.get(name="乡村振兴投入")
    dup = CatalogField.objects.get(name="振兴资金投入")
    as_text = CatalogField.objects.create(name="振兴资金到位情况", unit="万元", kind="text")
    other_unit = CatalogField.objects.create(name="乡村振兴投入", unit="元", kind="decimal")
    cases = [
        (dup, dup, "merge_self", "不能把指标并入它自己"),
        (dup, other_unit, "merge_unit_differs", "计量单位不同（“万元”与“元”）"),
        (dup, as_text, "merge_kind_differs", "类型不同（小数与文本）"),
    ]
    for source, into, code, text in cases:
        with pytest.raises(Refusal) as exc:
            act.check_merge_catalog(cast.zhaolei, source, into)
        assert exc.value.code == code and text in exc.value.message
    act.check_retire_catalog(cast.zhaolei, other_unit, retire=True)
    with pytest.raises(Refusal) as exc:
        act.check_merge_catalog(cast.zhaolei, keep, other_unit)
    assert exc.value.code == "catalog_retired"

    page = login(cast.zhaolei, otp=True)
    assert "请选择要并入的指标" in page.post(f"/datarequests/catalog/{dup.pk}/", {"op": "merge", "into": "x"}
                                            ).content.decode()
    # Not a 清单 owner: the page shows no maintenance forms and a POST is refused, nothing changed.
    finance = login(cast.finance04, otp=True)
    assert "合并重复指标" not in finance.get(f"/datarequests/catalog/{dup.pk}/").content.decode()
    body = finance.post(f"/datarequests/catalog/{dup.pk}/", {"op": "merge", "into": keep.pk}).content.decode()
    assert "只有区府办报表清单审核人（督查室）可以维护指标目录" in body
    dup.refresh_from_db()
    assert dup.merged_into is None and not dup.retired
    assert not AuditEntry.objects.filter(action="datarequests.catalog_merge").exists()
    assert login(cast.zhaolei, otp=True).get("/datarequests/catalog/999999/").status_code == 404


def test_edit_synonyms_and_description_with_bad_input(cast, two_names):
    keep = CatalogField.objects.get(name="乡村振兴投入")
    page = login(cast.wujing, otp=True)
    body = page.post(f"/datarequests/catalog/{keep.pk}/", {"op": "update", "synonyms": "振兴\x07投入",
                                                          "description": ""}).content.decode()
    assert "同义词含有不可见的控制字符" in body
    body = page.post(f"/datarequests/catalog/{keep.pk}/", {"op": "update", "synonyms": "",
                                                          "description": "长" * 301}).content.decode()
    assert "口径说明不能超过 300 字" in body
    keep.refresh_from_db()
    assert keep.synonyms == "振兴投入" and keep.description == ""
    r = page.post(f"/datarequests/catalog/{keep.pk}/", {"op": "update", "synonyms": "振兴投入，衔接资金、乡村振兴投入",
                                                       "description": "含中央、省、市、区各级衔接资金"})
    assert r.status_code == 302
    keep.refresh_from_db()
    assert keep.synonyms == "振兴投入,衔接资金" and keep.description == "含中央、省、市、区各级衔接资金"
    assert [m.pk for m in catalog_matches("衔接资金")] == [keep.pk]
    entry = AuditEntry.objects.filter(action="datarequests.catalog_update").latest("id")
    assert entry.changes["before"]["synonyms"] == "振兴投入" and entry.changes["after"]["synonyms"] == "振兴投入,衔接资金"


def test_retire_hides_from_reuse_keeps_data_and_restore(cast, two_names):
    fin, edu = two_names
    schools = CatalogField.objects.get(name="村小学校数")
    page = login(cast.zhaolei, otp=True)
    assert page.post(f"/datarequests/catalog/{schools.pk}/", {"op": "retire"}).status_code == 302
    schools.refresh_from_db()
    assert schools.retired
    assert catalog_matches("村小学校数") == []
    assert RequestField.objects.filter(request=edu, catalog=schools).exists()  # existing data kept
    assert Answer.objects.filter(catalog=schools).count() == 2
    listed = login(cast.finance04, otp=True).get("/datarequests/catalog/").content.decode()
    assert "村小学校数" not in listed
    assert "村小学校数" in page.get("/datarequests/catalog/?show=retired").content.decode()

    with on(D(2026, 9, 16)):
        req = act.check_save_request(cast.audit04, None, act.RequestInput(
            title="学校统计", cycle="once", period="2026-09", deadline_days=3,
            targets=[(submission_of(fin, "玉湖镇").agency, None)]))
        auditor = login(cast.audit04, otp=True)
        found = auditor.get(f"/datarequests/{req.pk}/fields/", {"q": "村小学校数"}).content.decode()
        assert "目录中含义相同的指标（0）" in found and "复用此指标" not in found
        body = auditor.post(f"/datarequests/{req.pk}/fields/", {"op": "reuse", "catalog": schools.pk, "code": "s",
                                                                "required": "on"}).content.decode()
        assert "指标“村小学校数（所）”已在指标目录中停用" in body
        with pytest.raises(Refusal) as exc:
            act.check_add_field(cast.audit04, req, act.FieldInput(code="s", name="村小学校数", unit="所",
                                                                  kind="integer"))
        assert exc.value.code == "catalog_retired"
        assert not req.fields.exists()

    with pytest.raises(Refusal) as exc:
        act.check_retire_catalog(cast.zhaolei, schools, retire=True)
    assert exc.value.code == "catalog_retired"
    assert page.post(f"/datarequests/catalog/{schools.pk}/", {"op": "restore"}).status_code == 302
    assert [m.pk for m in catalog_matches("村小学校数")] == [schools.pk]
    actions = list(AuditEntry.objects.filter(action__in=["datarequests.catalog_retire", "datarequests.catalog_restore"])
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["datarequests.catalog_retire", "datarequests.catalog_restore"]
    # A merged row cannot be restored.
    keep, dup = CatalogField.objects.get(name="乡村振兴投入"), CatalogField.objects.get(name="振兴资金投入")
    act.check_merge_catalog(cast.zhaolei, dup, keep)
    with pytest.raises(Refusal) as exc:
        act.check_retire_catalog(cast.zhaolei, dup, retire=False)
    assert exc.value.code == "catalog_merged"
