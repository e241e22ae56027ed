"""Each request's messages as a sequence diagram: who sent what to whom, in publish order.

Lab-only; the diagram the field draws by hand for a Cinder request (the API
casts to the scheduler, the scheduler to a backup service, which calls the
volume service...), drawn from what the broker saw. Each process is a
lifeline; each traced message an arrow from its sender to the consumer that
took it, labelled with its method and RPC version. A message the broker
dropped (no queue bound for its routing key), or one still waiting in a queue,
ends at the broker's own lifeline. Messages are grouped by the request id the
API stamped on the context (``_context_request_id``: every message of one
request carries it; a reply carries no context and belongs to its call's
request) and ordered by their publish time and the broker's publish order
(``observe/sources.py``), not by when the trace knew their fate.

``Sequence`` turns trace events into arrows (the web page draws them, see
``web/static/sequence.js``); ``format_sequence`` writes them as text for
``cinder-lab trace --sequence``.
"""

from __future__ import annotations

import collections
import datetime
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from cinder_lab.observe.correlate import TraceEvent

BROKER = "broker"  # where a dropped or still-waiting message ends
UNNAMED = "client or API [not named]"  # a sender the broker did not name nor could be inferred
BINARIES = ("cinder-volume", "cinder-backup", "cinder-scheduler")
KEEP_CALLS = 500  # calls remembered to send their reply back to the caller
WIDTH = 100  # the text's columns
GLYPHS = {"cast": "-->", "call": "==>", "reply": "..>", "fanout": "->>"}

_NOTE = re.compile(r" \[[^\]]*\]")
_FROM = re.compile(r" from \S+$")
_PID = re.compile(r" \(pid [^)]*\)")


def lifeline(label: str | None) -> str | None:
    """The process a trace label names: ``cinder-backup maqi-kilo (pid 7) [..]`` ->
    ``cinder-backup maqi-kilo``; a process with no service row keeps its script and pid
    (``cinder-lab (pid 42)``: the client)."""
    if not label:
        return None
    if label.startswith("connection "):
        return "a connection the broker does not list"
    text = _NOTE.sub("", _FROM.sub("", label)).strip()
    if text.split(" ")[0] in BINARIES and " " in _PID.sub("", text):
        return _PID.sub("", text)
    return text


@dataclass
class Arrow:
    """One message in the diagram: from one lifeline to one or more."""

    request: str
    sender: str
    receivers: list[str]
    kind: str
    label: str  # method and version, or "reply to <method>"
    time: str
    order: int
    dropped: bool = False
    note: str = ""  # where a message that reached nobody ended
    inferred: bool = False  # the sender was inferred, not named by the broker

    def to_dict(self) -> dict:
        return asdict(self)


class Sequence:
    """Arrows from trace events, remembering each call so its reply goes back to the caller."""

    def __init__(self) -> None:
        self._callers: collections.OrderedDict[str, str] = collections.OrderedDict()

    def arrow(self, ev: TraceEvent) -> Arrow:
        """The arrow of one event (events of a call before its reply, as the trace emits)."""
        sender = lifeline(ev.publisher) or UNNAMED
        receivers = [lifeline(c) or BROKER for c in ev.consumed_by]
        caller = self._callers.get(ev.msg_id or "")
        if ev.kind == "reply" and caller is not None and caller != UNNAMED:
            receivers = [caller]  # the reply queue is the caller's own
        note = ""
        if ev.dropped:
            bound = "to it" if ev.kind == "fanout" else f"for routing key {ev.routing_key}"
            note = f"dropped at exchange {ev.exchange or '(default)'}: no queue bound {bound}"
            receivers = [BROKER]
        elif len(ev.consumed_by) < len(ev.queues):
            # With several queues each consumer's label ends "from <queue>" (correlate).
            waiting = [
                q for q in ev.queues if not any(c.endswith(f" from {q}") for c in ev.consumed_by)
            ]
            note = f"waits in {', '.join(waiting or ev.queues)}"
            receivers.append(BROKER)
        if ev.kind == "call" and ev.msg_id:
            self._callers[ev.msg_id] = sender
            while len(self._callers) > KEEP_CALLS:
                self._callers.popitem(last=False)
        what = ev.method or (f"reply to {ev.reply_to}" if ev.reply_to else "reply")
        return Arrow(
            request=ev.request or ev.request_id or f"(no request id) {ev.unique_id or ev.order}",
            sender=sender,
            receivers=receivers,
            kind=ev.kind,
            label=what + (f" v{ev.version}" if ev.version else ""),
            time=ev.time,
            order=ev.order,
            dropped=ev.dropped,
            note=note,
            inferred=ev.publisher is None or " [" in ev.publisher,
        )


def in_publish_order(events: Iterable[TraceEvent]) -> list[TraceEvent]:
    """Events by publish time, then the broker's publish order."""
    return sorted(events, key=lambda ev: (ev.time, ev.order))


def lifelines(arrows: list[Arrow]) -> list[str]:
    """The lifelines of a request, in order of first appearance; the broker's last."""
    names: list[str] = []
    for a in arrows:
        for name in (a.sender, *a.receivers):
            if name not in names and name != BROKER:
                names.append(name)
    return names + ([BROKER] if any(BROKER in a.receivers for a in arrows) else [])


def _wrap(words: list[str], first: str) -> list[str]:
    lines, line = [], first
    for word in words:
        if len(line) + len(word) > WIDTH and line.strip() != first.strip():
            lines.append(line.rstrip())
            line = " " * len(first)
        line += word
    return lines + [line.rstrip()]


def _since(start: str, time: str) -> str:
    """``+14 ms``: how long after the request's first publish."""
    try:
        delta = datetime.datetime.fromisoformat(time) - datetime.datetime.fromisoformat(start)
    except ValueError:
        return ""
    return f"  (+{delta.total_seconds() * 1000:.0f} ms)"


def _arrow_lines(a: Arrow, start: str) -> list[str]:
    sender = a.sender + (" (inferred)" if a.inferred and a.sender != UNNAMED else "")
    head = f"  {a.time[11:23]}  {a.kind.upper():<6} {a.label}{_since(start, a.time)}"
    pad = " " * 16
    glyph = "--X" if a.dropped else GLYPHS.get(a.kind, "-->")
    lines = [head]
    for i, receiver in enumerate(a.receivers):
        start = f"{pad}{sender}  " if i == 0 else f"{pad}{'':{len(sender)}}  "
        line = f"{start}{glyph} {receiver}"
        if len(line) > WIDTH:  # a long name: the target on a line of its own
            lines += [start.rstrip(), f"{pad}    {glyph} {receiver}"]
        else:
            lines.append(line)
    if a.note:  # where it ended, under the arrow
        lines += _wrap([w + " " for w in a.note.split()], f"{pad}    ")
    return lines


def format_sequence(events: Iterable[TraceEvent]) -> str:
    """Every request seen, one after another, its messages in publish order (100 columns)."""
    seq = Sequence()
    groups: dict[str, list[Arrow]] = {}
    for ev in in_publish_order(events):
        arrow = seq.arrow(ev)
        groups.setdefault(arrow.request, []).append(arrow)
    if not groups:
        return "no message passed"
    out: list[str] = []
    for request, arrows in groups.items():
        head = f"== request {request}: {len(arrows)} message(s) "
        out += ["", head + "=" * max(0, WIDTH - len(head))]
        names = lifelines(arrows)
        words = names[:1] + [f"  |  {n}" for n in names[1:]]
        out += _wrap(words, "  lifelines: ")
        for a in arrows:
            out += _arrow_lines(a, arrows[0].time)
    return "\n".join(out[1:])
