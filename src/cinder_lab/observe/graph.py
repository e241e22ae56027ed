"""The topology as a picture: exchange -> binding -> queue -> consumer -> service.

Lab-only. Three renderings of one graph: Mermaid text (renders on GitHub and
in many editors), Graphviz DOT (``dot -Tsvg``), and a self-contained HTML page
with an inline SVG (no script, no external resource) that a learner opens in
a browser. Dead ends are marked: a queue nobody consumes, an exchange with no
binding (whatever is published there is dropped), a service that is down.
"""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass, field

from cinder_lab.observe.topology import Consumer, Topology

DEFAULT_EXCHANGE = "(default exchange)"


@dataclass
class Node:
    id: str
    column: int  # 0 exchange, 1 queue, 2 consumer, 3 service
    lines: list[str]
    dead: bool = False
    note: str = ""


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    dead: bool = False


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, key: str, column: int, lines: list[str], dead: bool = False) -> str:
        if key not in self.nodes:
            self.nodes[key] = Node(f"n{len(self.nodes)}", column, lines, dead)
        return self.nodes[key].id

    def by_id(self, node_id: str) -> Node:
        return next(n for n in self.nodes.values() if n.id == node_id)

    def column(self, col: int) -> list[Node]:
        return [n for n in self.nodes.values() if n.column == col]


def _consumer_key(c: Consumer) -> str:
    return f"consumer:{c.connection}"


def build(topo: Topology) -> Graph:
    """One graph for all three renderings."""
    g = Graph()
    bound = {b.source for b in topo.bindings}
    for ex in topo.exchanges:
        if not ex.name:
            continue
        dead = ex.name not in bound
        lines = [ex.name, f"exchange ({ex.type})"]
        if dead:
            lines.append("NO BINDING: publishes dropped")
        g.add(f"ex:{ex.name}", 0, lines, dead)
    for q in topo.queues:
        lines = [q.name, f"{q.messages} msg, {q.consumers} consumer(s)"]
        if q.dead_end:
            lines.append("NO CONSUMER")
        g.add(f"q:{q.name}", 1, lines, q.dead_end)
    for b in topo.bindings:
        if f"q:{b.destination}" not in g.nodes:
            continue
        src = g.add(f"ex:{b.source}", 0, [b.source or DEFAULT_EXCHANGE, "exchange"])
        g.edges.append(Edge(src, g.nodes[f"q:{b.destination}"].id, b.routing_key))
    # Reply queues are reached through the default exchange, which lists no binding.
    has_binding = {b.destination for b in topo.bindings}
    for q in topo.queues:
        if q.kind == "reply" and q.name not in has_binding:
            src = g.add("ex:", 0, [DEFAULT_EXCHANGE, "exchange (direct)"])
            g.edges.append(Edge(src, g.nodes[f"q:{q.name}"].id, q.name))
    queues_of: dict[str, list[str]] = {}
    for c in topo.consumers:
        queues_of.setdefault(c.connection, []).append(c.queue)
    for c in topo.consumers:
        who = f"{c.process or '?'} pid {c.pid}" if c.pid else c.connection
        mine = queues_of[c.connection]
        what = (
            "reply listener"
            if all(q.startswith("reply_") for q in mine)
            else f"consumes {len(mine)} queue(s)"
        )
        cid = g.add(_consumer_key(c), 2, ["consumer", who, what])
        if not any(e.src == g.nodes[f"q:{c.queue}"].id and e.dst == cid for e in g.edges):
            g.edges.append(Edge(g.nodes[f"q:{c.queue}"].id, cid))
        if c.service is not None:
            s = c.service
            sid = g.add(
                f"svc:{s.id}",
                3,
                [f"{s.binary} {s.host}", f"services row {s.id}: {s.status}, {s.state}"],
                dead=s.state != "up" or s.status != "enabled",
            )
            if not any(e.src == cid and e.dst == sid for e in g.edges):
                g.edges.append(Edge(cid, sid))
    # A dead queue still names its service: show that row (down, or absent) too.
    for q in topo.queues:
        if q.dead_end and q.service is not None:
            s = q.service
            sid = g.add(
                f"svc:{s.id}",
                3,
                [f"{s.binary} {s.host}", f"services row {s.id}: {s.status}, {s.state}"],
                dead=s.state != "up" or s.status != "enabled",
            )
            g.edges.append(Edge(g.nodes[f"q:{q.name}"].id, sid, "named after", dead=True))
    return g


# -- Mermaid -----------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "'")


def mermaid(topo: Topology) -> str:
    """``flowchart LR`` text; dead ends in red."""
    g = build(topo)
    out = ["flowchart LR"]
    shapes = {0: ('{{"', '"}}'), 1: ('[("', '")]'), 2: ('(["', '"])'), 3: ('["', '"]')}
    for node in g.nodes.values():
        left, right = shapes[node.column]
        label = "<br/>".join(_mermaid_text(line) for line in node.lines)
        out.append(f"  {node.id}{left}{label}{right}")
    for e in g.edges:
        arrow = "-.->" if e.dead else "-->"
        label = f'|"{_mermaid_text(e.label)}"|' if e.label else ""
        out.append(f"  {e.src} {arrow}{label} {e.dst}")
    out.append("  classDef dead fill:#fdd,stroke:#c00,stroke-width:2px,color:#600")
    dead = [n.id for n in g.nodes.values() if n.dead]
    if dead:
        out.append(f"  class {','.join(dead)} dead")
    return "\n".join(out) + "\n"


# -- Graphviz DOT --------------------------------------------------------------------


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(topo: Topology) -> str:
    """A ``digraph`` for Graphviz; one rank per column, dead ends in red."""
    g = build(topo)
    shapes = {0: "hexagon", 1: "cylinder", 2: "ellipse", 3: "box"}
    out = [
        "digraph topology {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in g.nodes.values():
        label = "\\n".join(_dot_text(line) for line in node.lines)
        style = ', style=filled, fillcolor="#ffdddd", color="#cc0000"' if node.dead else ""
        out.append(f'  {node.id} [shape={shapes[node.column]}, label="{label}"{style}];')
    for col in range(4):
        ids = " ".join(n.id for n in g.column(col))
        if ids:
            out.append(f"  {{ rank=same; {ids} }}")
    for e in g.edges:
        attrs = [f'label="{_dot_text(e.label)}"'] if e.label else []
        if e.dead:
            attrs += ["style=dashed", 'color="#cc0000"']
        out.append(f"  {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# -- HTML ----------------------------------------------------------------------------

_BOX_W, _BOX_H, _GAP_Y, _COL_X = 250, 54, 14, (20, 500, 830, 1160)
_FILL = {0: "#e8f0fe", 1: "#fff7e0", 2: "#e9f7ef", 3: "#f3e8fd"}
_TITLES = ("exchanges", "queues", "consumers", "services")


def _layout(g: Graph) -> dict[str, tuple[int, int]]:
    """Four columns; queues follow their exchange, consumers and services their queue."""
    order: dict[str, float] = {}
    for i, n in enumerate(g.column(0)):
        order[n.id] = i
    for col in (1, 2, 3):
        for n in g.column(col):
            parents = [order[e.src] for e in g.edges if e.dst == n.id and e.src in order]
            order[n.id] = min(parents) if parents else 1e9
    pos: dict[str, tuple[int, int]] = {}
    for col in range(4):
        nodes = sorted(g.column(col), key=lambda n: (order[n.id], n.lines[0]))
        for row, n in enumerate(nodes):
            pos[n.id] = (_COL_X[col], 60 + row * (_BOX_H + _GAP_Y))
    return pos


def _svg(g: Graph) -> str:
    pos = _layout(g)
    height = max([y for _x, y in pos.values()] + [60]) + _BOX_H + 30
    width = _COL_X[-1] + _BOX_W + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        '<marker id="arrow-dead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c00"/></marker>'
        "</defs>",
    ]
    for col, title in enumerate(_TITLES):
        parts.append(
            f'<text x="{_COL_X[col]}" y="36" font-size="15" font-weight="bold">{title}</text>'
        )
    for e in g.edges:
        x1, y1 = pos[e.src]
        x2, y2 = pos[e.dst]
        x1, y1, y2 = x1 + _BOX_W, y1 + _BOX_H // 2, y2 + _BOX_H // 2
        mid = (x1 + x2) / 2
        color, marker = ("#c00", "arrow-dead") if e.dead else ("#777", "arrow")
        dash = ' stroke-dasharray="5,4"' if e.dead else ""
        parts.append(
            f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
            f'stroke="{color}" stroke-width="1.3"{dash} marker-end="url(#{marker})">'
            f"<title>{html.escape(e.label)}</title></path>"
        )
        if e.label and g.by_id(e.src).column == 0:
            # The binding key, written just before the queue it leads to.
            parts.append(
                f'<text x="{x2 - 10}" y="{y2 - 5}" font-size="9" fill="#555" '
                f'text-anchor="end">{html.escape(e.label[:38])}</text>'
            )
    for n in g.nodes.values():
        x, y = pos[n.id]
        fill, stroke = ("#ffdddd", "#c00") if n.dead else (_FILL[n.column], "#888")
        width_px = 2.5 if n.dead else 1
        parts.append(
            f'<g class="{"dead" if n.dead else "node"}"><rect x="{x}" y="{y}" width="{_BOX_W}" '
            f'height="{_BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width_px}"/>'
        )
        # The whole text on hover; long names (fanout hex) are cut to fit the box.
        parts.append(f"<title>{html.escape(chr(10).join(n.lines))}</title>")
        for i, line in enumerate(n.lines[:3]):
            weight = ' font-weight="bold"' if i == 0 else ""
            color = ' fill="#a00"' if n.dead and i == 2 else ""
            shown = line if len(line) <= 38 else line[:37] + "\u2026"
            parts.append(
                f'<text x="{x + 8}" y="{y + 17 + i * 15}" font-size="{12 if i == 0 else 10}"'
                f"{weight}{color}>{html.escape(shown)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _rows(topo: Topology) -> str:
    out = []
    for q in topo.queues:
        consumers = topo.consumers_of(q.name)
        who = (
            "; ".join(
                f"{c.process or '?'} pid {c.pid}" + (f" = {c.service.label()}" if c.service else "")
                for c in consumers
            )
            or "NOBODY"
        )
        cls = ' class="dead"' if q.dead_end else ""
        named = q.service.label() if q.service else ""
        out.append(
            f"<tr{cls}><td>{html.escape(q.name)}</td><td>{q.messages}</td>"
            f"<td>{q.consumers}</td><td>{html.escape(who)}</td><td>{html.escape(named)}</td></tr>"
        )
    return "\n".join(out)


def html_page(topo: Topology) -> str:
    """A page with no external resource: an inline SVG, then the queues as a table."""
    g = build(topo)
    when = datetime.datetime.now().isoformat(timespec="seconds")
    dead = topo.dead_ends()
    summary = (
        f"{len(dead)} queue(s) with no consumer: " + ", ".join(q.name for q in dead)
        if dead
        else "every queue has a consumer"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>cinder-lab topology: {html.escape(topo.vhost)}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 20px; color: #222; }}
table {{ border-collapse: collapse; margin-top: 16px; }}
td, th {{ border: 1px solid #bbb; padding: 4px 8px; font-size: 13px; text-align: left; }}
tr.dead td {{ background: #ffdddd; color: #700; }}
.legend span {{ display: inline-block; padding: 2px 8px; margin-right: 8px;
  border: 1px solid #888; }}
</style></head><body>
<h1>cinder-lab topology</h1>
<p>Source: {html.escape(topo.source)}, vhost <code>{html.escape(topo.vhost)}</code>,
taken {when}. {html.escape(summary)}.</p>
<p class="legend"><span style="background:#e8f0fe">exchange</span>
<span style="background:#fff7e0">queue: messages waiting, consumers</span>
<span style="background:#e9f7ef">consumer: process and pid</span>
<span style="background:#f3e8fd">services row</span>
<span style="background:#ffdddd;border-color:#c00">dead end</span></p>
{_svg(g)}
<table><tr><th>queue</th><th>messages</th><th>consumers</th><th>consumed by</th>
<th>service its name points to</th></tr>
{_rows(topo)}
</table></body></html>
"""
