"""The topology for a browser: Cytoscape.js elements and the self-contained HTML page.

Lab-only. ``elements`` feeds the live view of ``cinder-lab web`` and the page
that ``cinder-lab topology --graph html`` writes, which draws them with the same
vendored Cytoscape.js and ``graph.js`` layout, inlined, so it opens from a file
with nothing fetched. The graph itself (``graph.build``) is shared with the
Mermaid and DOT renderings.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from importlib import resources

from cinder_lab.observe.graph import Node, build
from cinder_lab.observe.topology import Topology

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
