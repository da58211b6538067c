"""Flow trace diagram: a server-side SVG of a flow's steps with where the document is now (issue 5 point 5).

A pure function of the steps, the edges and three sets of step keys; no viewflow, no database, no JavaScript.
Layout is a small layered (Sugiyama-style) drawing, top to bottom:
- back edges (loops such as 复核 → 签发) are found by a depth-first search and drawn apart, on the right;
- every other step goes on the layer of its longest path from a start, so parallel branches share a layer and sit
  side by side; an edge that skips layers runs through invisible waypoints, so it does not cross a box;
- within a layer, steps are ordered by the mean position of their predecessors (fewer crossings).
The SVG has a viewBox and width="100%", so it scales down to a 390 px phone. Status is shown by colour and by text
(✓ 已完成, ● 当前, ↩ 已退回), and the whole picture has role="img", an aria-label, <title> and <desc>.
Every label goes through documents.rendering.text (cleaned of control characters, xml-escaped); the output is
well-formed XML.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from documents.rendering.text import xml_attr, xml_text

KINDS = frozenset({"task", "gateway", "start", "end"})


@dataclass(frozen=True)
class DiagramStep:
    key: str
    label: str
    kind: str = "task"  # "task" | "gateway" | "start" | "end"


# Status → (fill, stroke, stroke width, icon, word). Colours pass WCAG AA for the dark text on the light fill.
STATUS_STYLE: dict[str, tuple[str, str, float, str, str]] = {
    "current": ("#e3f0ff", "#0b5cad", 3.0, "●", "当前"),
    "returned": ("#fff1e0", "#b34700", 2.0, "↩", "已退回"),
    "done": ("#e7f5ea", "#22753a", 1.5, "✓", "已完成"),
    "pending": ("#ffffff", "#8a8f98", 1.0, "○", "未开始"),
}
STATUS_ORDER = ("current", "returned", "done", "pending")
TEXT = "#1b1f24"
MUTED = "#5f6670"
EDGE = "#8a8f98"
EDGE_DONE = "#22753a"

FONT = 14  # label size in viewBox units
SMALL = 12
LINE = 18
NODE_W = 168
PAD_X = 10
PAD_Y = 8
H_GAP = 24
V_GAP = 36
MARGIN = 16
LANE = 14  # spacing of the back-edge lanes on the right
MIN_W = 350  # the legend's width
FONT_FAMILY = "'PingFang SC','Microsoft YaHei','Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif"


def _text_width(text: str, size: float) -> float:
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.6 * size for ch in text)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy wrap by display width (CJK has no spaces to break at)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and _text_width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    return lines


@dataclass
class _Node:
    key: str
    step: DiagramStep | None  # None for a waypoint of a long edge
    order: float  # tie-break: the step's position in the input
    layer: int = 0
    x: float = 0.0  # left edge
    y: float = 0.0  # top edge
    w: float = 0.0
    h: float = 0.0
    lines: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


def _back_edges(keys: list[str], succ: dict[str, list[str]], starts: list[str]) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by an iterative DFS from the starts, then from anything unvisited."""
    state: dict[str, int] = {}  # 1 on the stack, 2 finished
    back: set[tuple[str, str]] = set()
    for root in starts + keys:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return back


def _statuses(key: str, done: set[str], current: set[str], returned: Iterable[str]) -> list[str]:
    out = [s for s, keys in (("current", current), ("returned", returned), ("done", done)) if key in keys]
    return out or ["pending"]


def render_flow_svg(steps: list[DiagramStep], edges: list[tuple[str, str]], *, done: set[str],
                    current: set[str], returned: set[str] = frozenset(), title: str = "办理流程图") -> str:
    """The flow as an SVG document string (no XML declaration, ready to inline in HTML)."""
    index = {}
    for i, step in enumerate(steps):
        if step.kind not in KINDS:
            raise ValueError(f"步骤 {step.key!r} 的类型 {step.kind!r} 无效：须为 task、gateway、start 或 end")
        if step.key in index:
            raise ValueError(f"步骤标识 {step.key!r} 重复")
        index[step.key] = i
    for a, b in edges:
        for k in (a, b):
            if k not in index:
                raise ValueError(f"连线引用了不存在的步骤 {k!r}")
    for k in (*done, *current, *returned):
        if k not in index:
            raise ValueError(f"状态引用了不存在的步骤 {k!r}")

    keys = [s.key for s in steps]
    succ: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in dict.fromkeys(edges):  # drop duplicate edges, keep order
        if a != b:
            succ[a].append(b)
    has_pred = {b for a, bs in succ.items() for b in bs}
    starts = [s.key for s in steps if s.kind == "start"] + [k for k in keys if k not in has_pred]
    back = _back_edges(keys, succ, starts)
    forward = [(a, b) for a in keys for b in succ[a] if (a, b) not in back]

    # Longest-path layering over the acyclic part (Kahn's order, ties by input position).
    preds: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in forward:
        preds[b].append(a)
    indeg = {k: len(preds[k]) for k in keys}
    ready = [k for k in keys if indeg[k] == 0]
    layer: dict[str, int] = {}
    while ready:
        ready.sort(key=index.__getitem__)
        k = ready.pop(0)
        layer[k] = max((layer[p] + 1 for p in preds[k]), default=0)
        for b in succ[k]:
            if (k, b) in back:
                continue
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)

    nodes: dict[str, _Node] = {}
    for s in steps:
        n = _Node(s.key, s, index[s.key], layer[s.key])
        n.status = _statuses(s.key, done, current, returned)
        icon_line = " ".join(STATUS_STYLE[st][3] for st in n.status if st != "pending")
        inner = NODE_W - 2 * PAD_X - (0 if s.kind == "task" else 24)
        n.lines = _wrap(s.label, inner - (_text_width(icon_line + " ", FONT) if icon_line else 0), FONT)
        n.w = NODE_W
        n.h = 2 * PAD_Y + LINE * len(n.lines) + LINE  # label lines, then the status word
        if s.kind == "gateway":
            n.h += 2 * PAD_Y  # the diamond's corners leave less room
        nodes[s.key] = n

    # Waypoints for edges that skip layers: each hop then goes one layer down.
    hops: list[tuple[str, str, str, str]] = []  # (from, to, original from, original to)
    for a, b in forward:
        chain = [a]
        for lyr in range(layer[a] + 1, layer[b]):
            wk = f"\0{a}\0{b}\0{lyr}"
            nodes[wk] = _Node(wk, None, index[a] + 0.5, lyr, w=0, h=0)
            chain.append(wk)
        chain.append(b)
        hops += [(chain[i], chain[i + 1], a, b) for i in range(len(chain) - 1)]
    hop_preds: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b, _, _ in hops:
        hop_preds[b].append(a)

    # Order within layers by the barycentre of the predecessors' positions, layer by layer.
    depth = max((n.layer for n in nodes.values()), default=0) + 1
    layers: list[list[_Node]] = [[] for _ in range(depth)]
    for n in nodes.values():
        layers[n.layer].append(n)
    pos: dict[str, float] = {}
    for row in layers:
        def bary(n: _Node) -> tuple[float, float]:
            ps = [pos[p] for p in hop_preds[n.key] if p in pos]
            return (sum(ps) / len(ps) if ps else n.order, n.order)

        row.sort(key=bary)
        for i, n in enumerate(row):
            pos[n.key] = i

    # Coordinates: each layer centred on one axis; layers stacked with their tallest box.
    widths = [sum(n.w for n in row) + H_GAP * max(len(row) - 1, 0) for row in layers]
    content_w = max([*widths, 0.0])
    y = MARGIN
    for row, w in zip(layers, widths, strict=True):
        x = MARGIN + (content_w - w) / 2
        row_h = max((n.h for n in row), default=0)
        for n in row:
            n.x, n.y = x, y
            if n.step is None:
                n.h = row_h  # a waypoint spans its layer, so the edge passes straight through
            x += n.w + H_GAP
        y += row_h + V_GAP
    diagram_bottom = y - V_GAP

    lanes_w = LANE * (len(back) + 1) if back else 0
    legend_y = diagram_bottom + 24
    view_w = max(MARGIN * 2 + content_w + lanes_w, MIN_W)
    view_h = legend_y + 28
    # Centre the drawing when the legend is wider than it.
    shift = (view_w - (MARGIN * 2 + content_w + lanes_w)) / 2
    for n in nodes.values():
        n.x += shift

    summary = _summary(steps, nodes)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {view_w:.0f} {view_h:.0f}" width="100%"'
        f' preserveAspectRatio="xMidYMin meet" role="img" aria-label={xml_attr(f"{title}。{summary}")}'
        f' class="oa-flow-diagram" font-family={xml_attr(FONT_FAMILY)} font-size="{FONT}">',
        f"<title>{xml_text(title)}</title>",
        f"<desc>{xml_text(summary)}</desc>",
        '<g class="oa-flow-edges" fill="none">',
    ]
    for a, b, oa, ob in hops:
        out.append(_hop(nodes[a], nodes[b], traversed=_traversed(nodes[oa], nodes[ob])))
    lane_x = MARGIN + content_w + shift
    for i, (a, b) in enumerate(sorted(back, key=lambda e: (index[e[0]], index[e[1]]))):
        out.append(_back_edge(nodes[a], nodes[b], lane_x + LANE * (i + 1), steps[index[a]].label,
                              steps[index[b]].label))
    out.append("</g>")
    out.append('<g class="oa-flow-nodes">')
    for s in steps:
        out.append(_node(nodes[s.key]))
    out.append("</g>")
    out.append(_legend(view_w, legend_y))
    out.append("</svg>")
    return "\n".join(out)


def _traversed(a: _Node, b: _Node) -> bool:
    reached = {"done", "current", "returned"}
    return bool(reached & set(a.status)) and bool(reached & set(b.status))


def _summary(steps: list[DiagramStep], nodes: dict[str, _Node]) -> str:
    parts = []
    for st in STATUS_ORDER:
        labels = [s.label for s in steps if nodes[s.key].status[0] == st]
        if labels:
            parts.append(f"{STATUS_STYLE[st][4]}：{'、'.join(labels)}")
    return "；".join(parts) + "。"


def _arrow(x: float, y: float, dx: float, dy: float, colour: str) -> str:
    """A filled arrowhead at (x, y) pointing along (dx, dy) — drawn inline, so no id is needed for a <marker>."""
    size = 7
    px, py = -dy, dx  # perpendicular
    pts = [(x, y), (x - dx * size + px * size / 2, y - dy * size + py * size / 2),
           (x - dx * size - px * size / 2, y - dy * size - py * size / 2)]
    return f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}" fill="{colour}"/>'


def _hop(a: _Node, b: _Node, *, traversed: bool) -> str:
    colour = EDGE_DONE if traversed else EDGE
    width = 2 if traversed else 1.5
    x1, y1 = a.cx, a.y + a.h
    x2, y2 = b.cx, b.y
    mid = y2 - V_GAP / 2
    pts = [(x1, y1), (x1, mid), (x2, mid), (x2, y2)] if abs(x1 - x2) > 0.5 else [(x1, y1), (x2, y2)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    arrow = _arrow(x2, y2, 0, 1, colour) if b.step is not None else ""
    return f'<polyline points="{path}" stroke="{colour}" stroke-width="{width}"/>{arrow}'


def _back_edge(a: _Node, b: _Node, lane: float, a_label: str, b_label: str) -> str:
    y1, y2 = a.y + a.h / 2, b.y + b.h / 2
    pts = [(a.x + a.w, y1), (lane, y1), (lane, y2), (b.x + b.w, y2)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return (f'<g class="oa-flow-back"><title>{xml_text(f"{a_label} → {b_label}（返回）")}</title>'
            f'<polyline points="{path}" stroke="{EDGE}" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f"{_arrow(b.x + b.w, y2, -1, 0, EDGE)}</g>")


def _node(n: _Node) -> str:
    step = n.step
    assert step is not None
    main = n.status[0]
    fill, stroke, sw, _, _ = STATUS_STYLE[main]
    words = "·".join(STATUS_STYLE[s][4] for s in n.status)
    icons = " ".join(STATUS_STYLE[s][3] for s in n.status if s != "pending")
    x, y, w, h = n.x, n.y, n.w, n.h
    if step.kind == "gateway":
        shape = (f'<polygon points="{x + w / 2:.1f},{y:.1f} {x + w:.1f},{y + h / 2:.1f} {x + w / 2:.1f},{y + h:.1f}'
                 f' {x:.1f},{y + h / 2:.1f}"')
    else:
        rx = h / 2 if step.kind in ("start", "end") else 8
        shape = f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx:.1f}"'
    dash = ' stroke-dasharray="4 3"' if main == "pending" else ""
    parts = [
        f'<g class="oa-flow-node oa-flow-{main}" data-key={xml_attr(step.key)} data-status="{" ".join(n.status)}">',
        f"<title>{xml_text(f'{step.label}：{words}')}</title>",
        f'{shape} fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>',
    ]
    top = y + PAD_Y + (PAD_Y if step.kind == "gateway" else 0)
    for i, line in enumerate(n.lines):
        baseline = top + LINE * i + FONT
        prefix = f'<tspan class="oa-flow-icon" fill="{stroke}">{xml_text(icons)}</tspan> ' if i == 0 and icons else ""
        parts.append(f'<text x="{x + w / 2:.1f}" y="{baseline:.1f}" text-anchor="middle" fill="{TEXT}"'
                     f' class="oa-flow-label">{prefix}{xml_text(line)}</text>')
    status_y = top + LINE * len(n.lines) + SMALL
    parts.append(f'<text x="{x + w / 2:.1f}" y="{status_y:.1f}" text-anchor="middle" font-size="{SMALL}"'
                 f' fill="{MUTED if main == "pending" else stroke}" class="oa-flow-status">{xml_text(words)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _legend(view_w: float, y: float) -> str:
    items = ["current", "done", "returned", "pending"]
    step_w = 84
    x = (view_w - step_w * len(items)) / 2
    parts = [f'<g class="oa-flow-legend" font-size="{SMALL}" aria-hidden="true">']
    for i, st in enumerate(items):
        fill, stroke, _, icon, word = STATUS_STYLE[st]
        ix = x + i * step_w
        parts.append(f'<rect x="{ix:.1f}" y="{y:.1f}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
                     f'<text x="{ix + 20:.1f}" y="{y + 12:.1f}" fill="{TEXT}">{xml_text(f"{icon} {word}")}</text>')
    parts.append("</g>")
    return "".join(parts)
