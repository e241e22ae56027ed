"""The topology as a picture: exchange -> binding -> queue -> consumer -> service.

Lab-only. Four renderings of one graph: Mermaid text (renders on GitHub and
in many editors), Graphviz DOT (``dot -Tsvg``), Cytoscape.js elements (the
live view of ``cinder-lab web``), and a self-contained HTML page drawn with the
same vendored Cytoscape.js and column layout as the live view, its
scripts inlined, so it opens from a file with nothing fetched. Dead ends are
marked: a queue nobody consumes, an exchange with no binding (whatever is
published there is dropped), a service that is down.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from dataclasses import dataclass, field
from importlib import resources

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
    """One graph for all three renderings: exchanges, queues, consumers, services rows."""
    g = Graph()
    _add_exchanges_and_queues(g, topo)
    _add_consumers(g, topo)
    # A dead queue still names its service: show that row (down, or absent) too.
    for q in topo.queues:
        if q.dead_end and q.service is not None:
            sid = _add_service(g, q.service)
            g.edges.append(Edge(g.nodes[f"q:{q.name}"].id, sid, "named after", dead=True))
    return g


def _add_exchanges_and_queues(g: Graph, topo: Topology) -> None:
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


def _add_consumers(g: Graph, topo: Topology) -> None:
    queues_of: dict[str, list[str]] = {}
    for c in topo.consumers:
        queues_of.setdefault(c.connection, []).append(c.queue)
    for c in topo.consumers:
        who = f"{c.process or '?'} pid {c.pid}" if c.pid else c.connection
        mine = queues_of[c.connection]
        replies = all(q.startswith("reply_") for q in mine)
        what = "reply listener" if replies else f"consumes {len(mine)} queue(s)"
        cid = g.add(_consumer_key(c), 2, ["consumer", who, what])
        if not any(e.src == g.nodes[f"q:{c.queue}"].id and e.dst == cid for e in g.edges):
            g.edges.append(Edge(g.nodes[f"q:{c.queue}"].id, cid))
        if c.service is not None:
            sid = _add_service(g, c.service)
            if not any(e.src == cid and e.dst == sid for e in g.edges):
                g.edges.append(Edge(cid, sid))


def _add_service(g: Graph, s: object) -> str:
    """The node of one services row (red unless up and enabled)."""
    return g.add(
        f"svc:{s.id}",
        3,
        [f"{s.binary} {s.host}", f"services row {s.id}: {s.status}, {s.state}"],
        dead=s.state != "up" or s.status != "enabled",
    )


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


# -- Cytoscape.js elements (the live view and the HTML page) ---------------------------

KINDS = ("exchange", "queue", "consumer", "service")
_HEX = re.compile(r"_([0-9a-f]{8})[0-9a-f]{24}$")
_CHAR_W, _LINE_H = 7.3, 16  # monospace 12 px: box sizes known before any drawing
# Characters per line in each column's boxes: names wrap at their dots, so the four
# columns fit 860 px (a 1280 px window beside the page's side panel) at 12 px or more.
COLUMN_CHARS = (18, 26, 22, 26)
_STRONG, _WEAK = " .:", "-_"  # a line ends after one of these (strong first) or before "@"


def _short(line: str) -> str:
    """A fanout queue's 32-hex suffix cut to 8: the whole name is in the details."""
    return _HEX.sub(lambda m: f"_{m.group(1)}\u2026", line)


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, cut at a space, dot or before an @ where one
    is in the second half of the line, else after a dash or underscore, else anywhere."""
    out = []
    while len(text) > width:
        strong = [
            i for i in range(width // 2, width + 1) if text[i - 1] in _STRONG or text[i] == "@"
        ]
        weak = [i for i in range(width // 3, width + 1) if text[i - 1] in _WEAK]
        cut = (strong or weak or [width])[-1]
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return out + [text] if text else out


def _box_lines(topo: Topology, key: str, n: Node, callers: dict[str, str]) -> list[str]:
    """What a box says: its name wrapped, then one status line, so a box that turns dead
    (or comes back) keeps its height and the boxes around it stay where they are."""
    chars = COLUMN_CHARS[n.column]
    name = wrap(_short(n.lines[0]), chars)
    if n.column == 0:
        kind = n.lines[1].removeprefix("exchange").strip(" ()") or "direct"
        return name + [f"{kind}: NO BINDING" if n.dead else f"{kind} exchange"]
    if n.column == 1:
        q = topo.queue(key[2:])
        status = n.lines[1].replace(" consumer(s)", " consumer" + "s" * (q.consumers != 1))
        if q.kind == "reply" and key[2:] in callers:
            return name + [
                status.split(",")[0] + ", in use",
                *wrap(f"by {callers[key[2:]]}", chars),
            ]
        return name + ([status.split(",")[0] + ", NO CONSUMER"] if n.dead else [status])
    if n.column == 2:
        process, _, pid = n.lines[1].partition(" pid ")
        return wrap(process, chars) + ([f"pid {pid}"] if pid else []) + [n.lines[2]]
    return wrap(n.lines[0], chars) + [n.lines[1].removeprefix("services ")]


def elements(topo: Topology, callers: dict[str, str] | None = None) -> list[dict]:
    """Cytoscape.js elements with ids that stay the same across snapshots.

    Node ids are the graph's keys (``ex:openstack``, ``q:cinder-backup.maqi-kilo``,
    ``consumer:<connection>``, ``svc:<row id>``), so a live page can update in
    place. A binding key is written into its queue's box when it differs from
    the queue's name (fanouts), not across the edge. Each column has one box
    width (``COLUMN_CHARS``) and names wrap inside it, so the page's layout
    knows every size before drawing. ``callers`` names the caller of each reply
    queue a recent ``call`` used: such a queue is in use, not a dead end, even
    while the broker has not listed its consumer yet.
    """
    callers = callers or {}
    g = build(topo)
    for key in callers:
        if f"q:{key}" in g.nodes:
            g.nodes[f"q:{key}"].dead = False
    key_of = {n.id: key for key, n in g.nodes.items()}
    keys: dict[str, list[str]] = {}
    for e in g.edges:
        dst = key_of[e.dst]
        if e.label and g.by_id(e.src).column == 0 and e.label != dst[2:]:
            keys.setdefault(dst, []).append(f"key {e.label}")
    out: list[dict] = []
    for key, n in g.nodes.items():
        extra = [w for k in keys.get(key, []) for w in wrap(k, COLUMN_CHARS[n.column])]
        lines = _box_lines(topo, key, n, callers) + extra
        data = {
            "id": key,
            "label": "\n".join(lines),
            "details": "\n".join(n.lines + keys.get(key, [])),
            "kind": KINDS[n.column],
            "column": n.column,
            "dead": n.dead,
            "w": round(COLUMN_CHARS[n.column] * _CHAR_W + 20),
            "h": len(lines) * _LINE_H + 12,
        }
        out.append(
            {"group": "nodes", "data": data, "classes": KINDS[n.column] + (" dead" * n.dead)}
        )
    for e in g.edges:
        src, dst = key_of[e.src], key_of[e.dst]
        data = {"id": f"{src}->{dst}", "source": src, "target": dst, "key": e.label}
        out.append({"group": "edges", "data": data, "classes": "dead" if e.dead else ""})
    return out


def _asset(name: str) -> str:
    """A file the web view ships (``cinder_lab/web/static``), read from the installed package."""
    return (resources.files("cinder_lab") / "web" / "static" / name).read_text("utf-8")


def _inline_script(text: str) -> str:
    # A literal "</script" inside the code would end the element early.
    return "<script>\n" + text.replace("</script", "<\\/script") + "\n</script>"


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
    """One self-contained page: the live view's graph (scripts inlined), then a table."""
    when = datetime.datetime.now().isoformat(timespec="seconds")
    dead = topo.dead_ends()
    summary = (
        f"{len(dead)} queue(s) with no consumer: " + ", ".join(q.name for q in dead)
        if dead
        else "every queue has a consumer"
    )
    # JSON inside a script element: "<" escaped so no text can close it.
    data = json.dumps(elements(topo)).replace("<", "\\u003c")
    scripts = "\n".join(
        _inline_script(_asset(name)) for name in ("vendor/cytoscape.min.js", "graph.js")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cinder-lab topology: {html.escape(topo.vhost)}</title>
<style>
{_asset("graph.css")}
body {{ font-family: Helvetica, Arial, sans-serif; margin: 20px; color: #222; }}
table {{ border-collapse: collapse; margin-top: 16px; }}
td, th {{ border: 1px solid #bbb; padding: 4px 8px; font-size: 13px; text-align: left; }}
tr.dead td {{ background: #ffdddd; color: #700; }}
</style></head><body>
<h1>cinder-lab topology</h1>
<p>Source: {html.escape(topo.source)}, vhost <code>{html.escape(topo.vhost)}</code>,
taken {when}. {html.escape(summary)}.</p>
{_asset("legend.html")}
<div class="graph-wrap"><div id="graph" class="graph"></div></div>
<table><tr><th>queue</th><th>messages</th><th>consumers</th><th>consumed by</th>
<th>service its name points to</th></tr>
{_rows(topo)}
</table>
{scripts}
<script>
window.cinderLab = {{ cy: CinderGraph.create(document.getElementById("graph"), {data}) }};
</script>
</body></html>
"""
