"""Flow trace diagram (workflows.diagram.render_flow_svg): parsed back as XML, positions and status read from it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from workflows.diagram import STATUS_STYLE, DiagramStep, render_flow_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"

STEPS = [
    DiagramStep("start", "开始", "start"),
    DiagramStep("draft", "拟稿"),
    DiagramStep("dept", "部门负责人审核"),
    DiagramStep("check", "办公室核稿"),
    DiagramStep("split", "会签分支", "gateway"),
    DiagramStep("cs_fin", "会签：区财政局"),
    DiagramStep("cs_edu", "会签：区教育局 <&> \"特别\""),
    DiagramStep("join", "会签汇合", "gateway"),
    DiagramStep("sign", "签发"),
    DiagramStep("recheck", "复核"),
    DiagramStep("end", "归档", "end"),
]
EDGES = [
    ("start", "draft"), ("draft", "dept"), ("dept", "check"), ("check", "split"),
    ("split", "cs_fin"), ("split", "cs_edu"), ("cs_fin", "join"), ("cs_edu", "join"),
    ("join", "sign"), ("sign", "recheck"), ("recheck", "sign"),  # 实质性修改 → back to the signer: a cycle
    ("recheck", "end"), ("check", "sign"),  # 会签 is optional: an edge that skips two layers
]
DONE = {"start", "draft", "dept", "check", "split", "cs_fin"}
CURRENT = {"cs_edu"}
RETURNED = {"dept"}


def _render(**kw: object) -> str:
    args: dict[str, object] = dict(done=DONE, current=CURRENT, returned=RETURNED)
    args.update(kw)
    return render_flow_svg(STEPS, EDGES, **args)  # type: ignore[arg-type]


def _nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-key"): g for g in root.iter(f"{SVG}g") if g.get("data-key") is not None}


def _label(node: ET.Element) -> str:
    """The label as drawn: the label lines joined, the status icons (in their own tspan) left out."""
    lines = []
    for t in node.findall("svg:text", NS):
        if t.get("class") == "oa-flow-label":
            icon = t.find("svg:tspan", NS)  # "<tspan>✓</tspan> label" on the first line
            lines.append(icon.tail[1:] if icon is not None else t.text or "")
    return "".join(lines)


def _all_text(node: ET.Element) -> str:
    return "".join(node.itertext())


def _box(node: ET.Element) -> tuple[float, float]:
    """(x, y) of a node's shape: the rect's corner, or the diamond's left and top points."""
    rect = node.find("svg:rect", NS)
    if rect is not None:
        return float(rect.get("x")), float(rect.get("y"))
    pts = [tuple(map(float, p.split(","))) for p in node.find("svg:polygon", NS).get("points").split()]
    return min(p[0] for p in pts), min(p[1] for p in pts)


def test_valid_xml_with_accessible_name_and_scalable_viewbox() -> None:
    svg = _render()
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    aria = root.get("aria-label")
    assert aria.startswith("办理流程图")
    assert "当前：会签：区教育局 <&> \"特别\"" in aria  # the summary names the current step
    assert root.find("svg:title", NS).text == "办理流程图"
    desc = root.find("svg:desc", NS).text
    assert "已完成：开始、拟稿" in desc and "未开始：" in desc and "已退回：部门负责人审核" in desc
    view = [float(v) for v in root.get("viewBox").split()]
    assert len(view) == 4 and view[:2] == [0, 0] and view[2] > 0 and view[3] > 0
    # scales to the container (a 390 px phone): no fixed pixel size, only the viewBox's aspect ratio
    assert root.get("width") == "100%"
    assert root.get("height") is None
    assert root.get("preserveAspectRatio", "").endswith("meet")
    assert not re.search(r"<script|\son\w+=", svg)


def test_every_label_present_and_escaped() -> None:
    svg = _render()
    nodes = _nodes(ET.fromstring(svg))
    assert set(nodes) == {s.key for s in STEPS}
    for step in STEPS:
        assert _label(nodes[step.key]) == step.label, step.key
    assert "&lt;&amp;&gt;" in svg
    assert "<&>" not in svg


def test_markup_in_a_label_stays_text() -> None:
    steps = [DiagramStep("a", "<script>alert(1)</script>"), DiagramStep("b", "x\" onload=\"alert(1)")]
    svg = render_flow_svg(steps, [("a", "b")], done={"a"}, current={"b"})
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert all(not k.startswith("on") for e in root.iter() for k in e.attrib)
    assert _label(_nodes(root)["a"]) == "<script>alert(1)</script>"


def test_status_by_text_icon_and_colour() -> None:
    nodes = _nodes(ET.fromstring(_render()))
    cur, done, ret, pending = nodes["cs_edu"], nodes["cs_fin"], nodes["dept"], nodes["sign"]
    assert "●" in _all_text(cur) and "当前" in _all_text(cur)
    assert "✓" in _all_text(done) and "已完成" in _all_text(done)
    assert "↩" in _all_text(ret) and "已退回" in _all_text(ret)
    assert "✓" in _all_text(ret)  # returned and since done again: both said
    assert "未开始" in _all_text(pending)
    assert not re.search("[●✓↩]", _all_text(pending))
    assert cur.get("data-status") == "current"
    assert done.get("data-status") == "done"
    assert ret.get("data-status") == "returned done"
    fills = {k: nodes[k].find("svg:rect", NS).get("fill") for k in ("cs_edu", "cs_fin", "dept", "sign")}
    assert fills["cs_edu"] == STATUS_STYLE["current"][0]
    assert fills["cs_fin"] == STATUS_STYLE["done"][0]
    assert fills["dept"] == STATUS_STYLE["returned"][0]
    assert len(set(fills.values())) == 4
    # each node's <title> names it and its status, for a tooltip and for screen readers
    assert cur.find("svg:title", NS).text == "会签：区教育局 <&> \"特别\"：当前"


def test_parallel_branches_side_by_side_and_chain_top_to_bottom() -> None:
    nodes = _nodes(ET.fromstring(_render()))
    (fx, fy), (ex, ey) = _box(nodes["cs_fin"]), _box(nodes["cs_edu"])
    assert fy == ey
    assert abs(fx - ex) >= 168  # no overlap: at least one box width apart
    order = ["start", "draft", "dept", "check", "split", "cs_fin", "join", "sign", "recheck", "end"]
    ys = [_box(nodes[k])[1] for k in order]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    # the optional-会签 edge check → sign skips layers: sign is still below the join (longest path)
    assert _box(nodes["sign"])[1] > _box(nodes["join"])[1]


def test_cycle_is_drawn_as_a_back_edge() -> None:
    root = ET.fromstring(_render())
    backs = [g for g in root.iter(f"{SVG}g") if g.get("class") == "oa-flow-back"]
    assert len(backs) == 1
    assert backs[0].find("svg:title", NS).text == "复核 → 签发（返回）"


def test_a_wide_layer_still_scales_via_viewbox() -> None:
    steps = [DiagramStep("s", "开始", "start")] + [DiagramStep(f"b{i}", f"会签部门{i}") for i in range(6)]
    steps.append(DiagramStep("e", "结束", "end"))
    edges = [("s", f"b{i}") for i in range(6)] + [(f"b{i}", "e") for i in range(6)]
    root = ET.fromstring(render_flow_svg(steps, edges, done={"s"}, current={f"b{i}" for i in range(6)}))
    nodes = _nodes(root)
    xs = sorted(_box(nodes[f"b{i}"])[0] for i in range(6))
    assert len({_box(nodes[f"b{i}"])[1] for i in range(6)}) == 1
    assert len(set(xs)) == 6
    width = float(root.get("viewBox").split()[2])
    assert width > xs[-1] + 168  # everything inside the viewBox; the browser scales it to the phone
    assert root.get("width") == "100%"


@pytest.mark.parametrize(("steps", "edges", "kw", "message"), [
    ([DiagramStep("a", "A", "subprocess")], [], {}, "类型"),
    ([DiagramStep("a", "A"), DiagramStep("a", "B")], [], {}, "重复"),
    ([DiagramStep("a", "A")], [("a", "zzz")], {}, "不存在"),
    ([DiagramStep("a", "A")], [], {"current": {"zzz"}}, "不存在"),
])
def test_bad_input_is_refused(steps: list[DiagramStep], edges: list[tuple[str, str]], kw: dict,
                              message: str) -> None:
    args = {"done": set(), "current": set(), **kw}
    with pytest.raises(ValueError, match=message):
        render_flow_svg(steps, edges, **args)
