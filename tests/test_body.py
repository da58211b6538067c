"""正文: the structured format, versions (immutable, numbered, idempotent), If-Match conflicts that name the other
editor, permissions, audit, 痕迹 attributed per author across a version chain, and 清稿 keeping the 花脸稿."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection  # noqa: F401 - read by the skipif string

from documents.actions.body import check_clean_body, check_save_body, do_clean_body
from documents.actions.documents import do_create_document, do_grant_document_access, do_set_document_status
from documents.body import (
    MAX_BLOCKS,
    MAX_PARAGRAPH_CHARS,
    MAX_TABLE_COLS,
    blocks_with_ordinals,
    body_plain_text,
    body_to_blocks,
    canonical_json,
    normalize_body,
    tracked_diff,
)
from documents.models import BodyVersion, ImmutableError, OfficialDocument
from documents.rendering.spec import BodyBlock, TableBlock
from documents.selectors.body import body_diff, body_state, markup_range
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"


def P(text: str, level: int = 0) -> dict:
    return {"type": "p", "level": level, "text": text}


def T(rows: list[list[str]], header: bool = True) -> dict:
    return {"type": "table", "rows": rows, "header": header}


def body(*blocks) -> dict:
    return {"blocks": list(blocks)}


def _draft(cast) -> OfficialDocument:
    return do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE),
                              title="关于做好2027年元旦春节期间安全生产工作的通知")


def _audits(doc, action: str):
    return AuditEntry.objects.filter(action=action, object_id=str(doc.pk)).order_by("id")


# --- format ---------------------------------------------------------------------------------------------------


def test_normalize_strips_own_ordinal_and_edge_spaces():
    clean = normalize_body(body(P("一、总体要求", 1), P("（二） 工作措施", 2), P("3.加强值守", 3), P("（4）其他", 4),
                                P("\u3000\u3000各镇人民政府：  "), T([[" 项目 ", "金额"], ["1", "2"]])))
    assert clean == body(P("总体要求", 1), P("工作措施", 2), P("加强值守", 3), P("其他", 4), P("各镇人民政府："),
                         T([["项目", "金额"], ["1", "2"]]))
    # Plain paragraphs keep what they start with; "1.5万元" is not an ordinal.
    assert normalize_body(body(P("1.5万元已拨付", 3)))["blocks"][0]["text"] == "1.5万元已拨付"
    assert normalize_body(body(P("一、不是标题")))["blocks"][0]["text"] == "一、不是标题"


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (body(P("（一）总体要求", 1)), "body_heading_ordinal", ["第1块", "（一）", "二级标题"]),
        (body(P("正文"), P("一、要求", 3)), "body_heading_ordinal", ["第2块", "三级标题"]),
        (body(P("x", 5)), "body_bad_level", ["层次"]),
        (body(P("第一行\n第二行")), "body_line_break", ["换行"]),
        (body(P("a\x07b")), "body_control_char", ["控制字符"]),
        (body(P("字" * (MAX_PARAGRAPH_CHARS + 1))), "body_paragraph_too_long", [str(MAX_PARAGRAPH_CHARS)]),
        ({"blocks": [P("x")] * (MAX_BLOCKS + 1)}, "body_too_many_blocks", [str(MAX_BLOCKS)]),
        (body(T([["a"] * (MAX_TABLE_COLS + 1)])), "body_table_too_large", ["列"]),
        (body(T([["a", "b"], ["c"]])), "body_table_ragged", ["第2行", "1格"]),
        (body(T([])), "body_bad_table", ["一行一列"]),
        (body({"type": "image", "src": "x"}), "body_bad_type", ["image"]),
        ({"text": "x"}, "body_invalid", ["blocks"]),
    ],
)
def test_invalid_bodies_are_refused_with_specific_messages(content, code, words):
    with pytest.raises(Refusal) as err:
        normalize_body(content)
    assert err.value.code == code
    for word in words:
        assert word in err.value.message


def test_body_to_blocks_and_numbering_match_the_renderer():
    content = normalize_body(body(P("总体要求", 1), P("正文一"), P(""), P("细则", 2), P("细则二", 2), P("措施", 1),
                                  P("", 2), P("再细", 2), T([["a", "b"]], header=False)))
    blocks = body_to_blocks(content)
    assert blocks[:3] == [BodyBlock("总体要求", 1), BodyBlock("正文一", 0), BodyBlock("细则", 2)]
    assert blocks[-1] == TableBlock([["a", "b"]], header=False)
    assert len(blocks) == 7  # the two empty paragraphs are not printed
    prefixes = [b["prefix"] for b in blocks_with_ordinals(content) if b.get("text")]
    assert prefixes == ["一、", "", "（一）", "（二）", "二、", "（一）"]  # counters restart under each heading
    assert body_plain_text(content).splitlines()[-1] == "a b"


# --- versions -------------------------------------------------------------------------------------------------


def test_every_save_is_a_new_immutable_version_and_identical_content_is_not(cast):
    doc = _draft(cast)
    v1 = check_save_body(cast.zhangwei, doc, body(P("总体要求", 1), P("各单位要高度重视。")), if_match=0)
    v2 = check_save_body(cast.zhangwei, doc, body(P("总体要求", 1), P("各单位要高度重视，认真落实。")), if_match=1)
    assert (v1.number, v2.number) == (1, 2)
    assert v2.parent_id == v1.pk and v1.parent_id is None
    assert v1.baseline_id is None and v2.baseline_id == v1.pk  # version 1 is the baseline
    expected = hashlib.sha256(canonical_json(v2.content).encode()).hexdigest()
    assert v2.sha256 == expected
    doc.refresh_from_db()
    assert doc.current_body_id == v2.pk
    assert "认真落实" in doc.search_text.split() or "落实" in doc.search_text.split()  # indexed for search

    # Same content again (an autosave with nothing new): the current version comes back, nothing is written.
    again = check_save_body(cast.zhangwei, doc, body(P("一、总体要求", 1), P("各单位要高度重视，认真落实。")), if_match=2)
    assert again.pk == v2.pk and BodyVersion.objects.filter(document=doc).count() == 2

    v1.content = body(P("篡改"))
    with pytest.raises(ImmutableError):
        v1.save()
    with pytest.raises(ImmutableError):
        v1.delete()
    assert BodyVersion.objects.get(pk=v1.pk).content == body(P("总体要求", 1), P("各单位要高度重视。"))

    entries = list(_audits(doc, "document.body_edit"))
    assert [e.changes["version"] for e in entries] == [1, 2]
    assert entries[1].changes["parent"] == 1 and entries[1].changes["sha256"] == v2.sha256
    assert entries[1].actor == cast.zhangwei


def test_invalid_content_stores_nothing(cast):
    doc = _draft(cast)
    with pytest.raises(Refusal) as err:
        check_save_body(cast.zhangwei, doc, body(P("（一）要求", 1)), if_match=0)
    assert err.value.code == "body_heading_ordinal"
    doc.refresh_from_db()
    assert doc.current_body is None and not BodyVersion.objects.filter(document=doc).exists()
    assert not _audits(doc, "document.body_edit").exists()


def test_conflict_names_the_other_editor_and_overwrites_nothing(cast):
    doc = _draft(cast)
    do_set_document_status(doc, OfficialDocument.Status.IN_REVIEW, actor=cast.zhangwei)
    do_grant_document_access(doc, cast.zhangwei, can_edit=True)
    do_grant_document_access(doc, cast.lina, can_edit=True)
    check_save_body(cast.zhangwei, doc, body(P("原稿。")), if_match=0)
    # Both open version 1; 李娜 saves first.
    mine = check_save_body(cast.lina, doc, body(P("原稿，李娜改。")), if_match=1)
    assert mine.number == 2 and mine.author == cast.lina
    with pytest.raises(Refusal) as err:
        check_save_body(cast.zhangwei, doc, body(P("原稿，张伟改。")), if_match=1)
    assert err.value.code == "version_conflict" and err.value.status == 409
    assert err.value.message.startswith("李娜 已于 ")
    assert "保存了第2版，请先查看其修改" in err.value.message
    assert err.value.current.number == 2
    doc.refresh_from_db()
    assert doc.current_body.content == body(P("原稿，李娜改。"))
    assert BodyVersion.objects.filter(document=doc).count() == 2
    # After looking at 第2版, he saves on top of it.
    assert check_save_body(cast.zhangwei, doc, body(P("原稿，李娜改，张伟再改。")), if_match=2).number == 3


def test_permission_is_checked(cast):
    doc = _draft(cast)
    with pytest.raises(Refusal) as err:
        check_save_body(cast.lina, doc, body(P("李娜想改。")), if_match=0)
    assert err.value.code == "not_editable" and err.value.status == 403
    assert not BodyVersion.objects.filter(document=doc).exists()
    do_grant_document_access(doc, cast.lina, can_edit=True)
    assert check_save_body(cast.lina, doc, body(P("李娜改。")), if_match=0).author == cast.lina
    # A document past 用印 is frozen for everybody, the drafter included.
    OfficialDocument.objects.filter(pk=doc.pk).update(status=OfficialDocument.Status.SEALED)
    doc.refresh_from_db()
    with pytest.raises(Refusal) as err:
        check_save_body(cast.lina, doc, body(P("再改。")), if_match=1)
    assert err.value.code == "not_editable"


def test_body_state_for_the_editor(cast):
    doc = _draft(cast)
    assert body_state(doc) == {"document": doc.pk, "version": None, "content": {"blocks": []}}
    check_save_body(cast.zhangwei, doc, body(P("正文。")), if_match=0)
    state = body_state(doc)
    assert state["version"]["number"] == 1 and state["version"]["author"] == "张伟"
    assert state["content"] == body(P("正文。"))


# --- 痕迹 -----------------------------------------------------------------------------------------------------


def _spans(block) -> list[tuple[str, str, str | None]]:
    return [(s["kind"], s["text"], s["by"]["author"] if s["by"] else None) for s in block["spans"]]


def test_diff_attributes_each_change_to_its_author_across_three_authors(cast):
    doc = _draft(cast)
    do_grant_document_access(doc, cast.lina, can_edit=True)
    do_grant_document_access(doc, cast.liuyang, can_edit=True)
    check_save_body(cast.zhangwei, doc, body(P("总体要求", 1), P("各单位要重视安全生产。"), P("此段将删除。")), if_match=0)
    check_save_body(cast.lina, doc, body(P("总体要求", 1), P("各单位要高度重视安全生产。"), P("此段将删除。")), if_match=1)
    check_save_body(cast.liuyang, doc, body(P("总体要求", 1), P("各单位要高度重视安全生产工作。"),
                                            T([["单位", "人数"], ["区府办", "3"]])), if_match=2)
    check_save_body(cast.zhangwei, doc, body(P("总体要求", 1), P("各单位要高度重视安全生产工作。"),
                                             T([["单位", "人数"], ["区府办", "5"]]), P("新增一段。")), if_match=3)

    diff = body_diff(doc, 1, 4)
    assert [a["name"] for a in diff["authors"]] == ["李娜", "刘洋", "张伟"]
    assert len({a["css"] for a in diff["authors"]}) == 3 and len({a["mark"] for a in diff["authors"]}) == 3
    heading, para, deleted, table, added = diff["blocks"]
    assert heading["prefix"] == "一、" and _spans(heading) == [("same", "总体要求", None)]
    assert _spans(para) == [("same", "各单位要", None), ("ins", "高度", "李娜"), ("same", "重视安全生产", None),
                            ("ins", "工作", "刘洋"), ("same", "。", None)]
    assert deleted["state"] == "del" and deleted["by"]["author"] == "刘洋"
    assert _spans(deleted) == [("del", "此段将删除。", "刘洋")]
    assert table["state"] == "ins" and table["by"]["author"] == "刘洋"
    cell = table["rows"][1]["cells"][1]
    # The cell 刘洋 created with "3" and 张伟 changed to "5": within the range only "5" (by 张伟) is left.
    assert _spans(cell) == [("ins", "5", "张伟")]
    assert added["state"] == "ins" and _spans(added) == [("ins", "新增一段。", "张伟")]
    assert para["spans"][1]["by"]["version"] == 2 and "第2版" in para["spans"][1]["by"]["title"]

    # Any two versions, either order: 3 → 2 is shown as the change from 2 to 3, all by 刘洋.
    back = body_diff(doc, 3, 2)
    assert back["reversed"] and [a["name"] for a in back["authors"]] == ["刘洋"]


def test_tracked_diff_level_change_cell_edit_and_inserted_then_deleted_text():
    base = body(P("原来的段落文字"), T([["甲", "乙"], ["1", "2"]]))
    steps = [
        ("a", body(P("原来的段落文字，临时加的"), T([["甲", "乙"], ["1", "2"]]))),
        ("b", body(P("原来的段落文字", 2), T([["甲", "乙", "丙"], ["1", "22", "3"]], header=False))),
    ]
    result = tracked_diff(base, steps)
    para, table = result["blocks"]
    # "，临时加的" was inserted by a and deleted by b: in neither end, so not shown.
    assert [(s["kind"], s["text"]) for s in para["spans"]] == [("same", "原来的段落文字")]
    assert para["level_change"] == {"from": "正文", "to": "二级标题（（一））", "by": "b"} and para["prefix"] == "（一）"
    assert table["header_change"] == {"from": True, "to": False, "by": "b"}
    row = table["rows"][1]["cells"]
    assert [(s["kind"], s["text"], s["by"]) for s in row[1]["spans"]] == [("same", "2", None), ("ins", "2", "b")]
    assert row[2]["state"] == "ins" and row[2]["by"] == "b"
    assert result["keys"] == ["b"]


# --- 清稿 -----------------------------------------------------------------------------------------------------


def test_clean_keeps_the_marked_up_draft_and_moves_the_baseline(cast):
    doc = _draft(cast)
    check_save_body(cast.zhangwei, doc, body(P("初稿。")), if_match=0)
    marked = check_save_body(cast.zhangwei, doc, body(P("初稿，已修改。")), if_match=1)
    clean = check_clean_body(cast.zhangwei, doc, if_match=2)
    assert clean.number == 3 and clean.kind == BodyVersion.Kind.CLEAN
    assert clean.marked_up_from_id == marked.pk and clean.content == marked.content
    assert clean.baseline_id is None and clean.sha256 == marked.sha256
    # The 花脸稿 is untouched and still immutable; its marks are still viewable.
    stored = BodyVersion.objects.get(pk=marked.pk)
    assert stored.content == body(P("初稿，已修改。")) and stored.kind == BodyVersion.Kind.EDIT
    with pytest.raises(ImmutableError):
        stored.save()
    assert markup_range(clean) == (1, 2)
    marks = body_diff(doc, *markup_range(clean))
    assert _spans(marks["blocks"][0]) == [("same", "初稿", None), ("ins", "，已修改", "张伟"), ("same", "。", None)]

    # Later changes are measured from the clean version.
    after = check_save_body(cast.zhangwei, doc, body(P("初稿，已修改。再补一句。")), if_match=3)
    assert after.baseline_id == clean.pk and markup_range(after) == (3, 4)
    assert body_diff(doc, 3, 3)["changes"] == 0

    entry = _audits(doc, "document.body_clean").get()
    assert entry.changes["version"] == 3 and entry.changes["marked_up_from"] == 2


def test_clean_refusals(cast):
    doc = _draft(cast)
    with pytest.raises(Refusal) as err:
        do_clean_body(cast.zhangwei, doc)
    assert err.value.code == "no_body"
    check_save_body(cast.zhangwei, doc, body(P("正文。")), if_match=0)
    check_clean_body(cast.zhangwei, doc, if_match=1)
    with pytest.raises(Refusal) as err:
        check_clean_body(cast.zhangwei, doc, if_match=2)
    assert err.value.code == "already_clean" and "第2版已是清稿" in err.value.message
    with pytest.raises(Refusal) as err:
        check_clean_body(cast.lina, doc, if_match=2)
    assert err.value.code == "not_editable"
    assert BodyVersion.objects.filter(document=doc).count() == 2
    assert json.dumps(_audits(doc, "document.body_clean").get().changes)


def test_a_body_replaced_wholesale_is_shown_as_deleted_and_inserted():
    base = body(*[P(f"旧的第{n}段内容") for n in range(60)])
    new = body(*[P(f"新写的第{n}段文字") for n in range(60)])
    result = tracked_diff(base, [("v2", new)])
    states = [b["state"] for b in result["blocks"]]
    assert states == ["del"] * 60 + ["ins"] * 60  # 60 × 60 exceeds the pairing budget: no char-level pairing
    small = tracked_diff(body(P("旧的第1段内容")), [("v2", body(P("旧的第1段新内容")))])
    assert [s["kind"] for s in small["blocks"][0]["spans"]] == ["same", "ins", "same"]


def test_diff_across_a_clean_version(cast):
    doc = _draft(cast)
    check_save_body(cast.zhangwei, doc, body(P("甲。")), if_match=0)
    check_save_body(cast.zhangwei, doc, body(P("甲乙。")), if_match=1)
    check_clean_body(cast.zhangwei, doc, if_match=2)
    check_save_body(cast.zhangwei, doc, body(P("甲乙丙。")), if_match=3)
    diff = body_diff(doc, 1, 4)
    # The 清稿 (第3版) changes nothing; each insertion keeps its own version (and time) for the title.
    assert _spans(diff["blocks"][0]) == [("same", "甲", None), ("ins", "乙", "张伟"), ("ins", "丙", "张伟"),
                                         ("same", "。", None)]
    assert [s["by"]["version"] for s in diff["blocks"][0]["spans"] if s["by"]] == [2, 4]
    assert [v["number"] for v in diff["authors"][0]["versions"]] == [2, 4]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite's in-memory test database locks whole tables: the row-lock race needs PostgreSQL")
def test_simultaneous_saves_from_the_same_version_one_wins_one_is_told(demo_tx):
    """Two real transactions at once (PostgreSQL row lock): exactly one new version, the other a 409."""
    import threading

    from django.db import connections

    from oa.models import Person

    zhangwei, lina = Person.objects.get(username="zhangwei"), Person.objects.get(username="lina")
    doc = do_create_document(actor=zhangwei, agency=Agency.objects.get(name=OFFICE), title="并发保存测试")
    do_grant_document_access(doc, lina, can_edit=True)
    check_save_body(zhangwei, doc, body(P("原稿。")), if_match=0)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def save(person, text):
        try:
            barrier.wait(timeout=10)
            outcomes[person.username] = check_save_body(person, OfficialDocument.objects.get(pk=doc.pk),
                                                        body(P(text)), if_match=1).number
        except Refusal as error:
            outcomes[person.username] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(zhangwei, "张伟的修改。")),
               threading.Thread(target=save, args=(lina, "李娜的修改。"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    won = [name for name, result in outcomes.items() if result == 2]
    lost = [result for result in outcomes.values() if isinstance(result, Refusal)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    winner = "张伟" if won == ["zhangwei"] else "李娜"
    assert lost[0].code == "version_conflict" and lost[0].message.startswith(f"{winner} 已于")
    assert list(BodyVersion.objects.filter(document=doc).values_list("number", flat=True).order_by("number")) == [1, 2]
