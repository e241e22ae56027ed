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
