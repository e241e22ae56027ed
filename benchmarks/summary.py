"""Print the figures of benchmarks/results/*.json as Markdown, ready for the README.

Lab-only. Run after ``make bench``: ``python benchmarks/summary.py``. A result
file that is missing is skipped with a note, so a partial run still prints.
"""

from __future__ import annotations

import json
import sys

import benchlib


def load(name: str) -> dict | None:
    path = benchlib.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine_line(m: dict) -> str:
    return (
        f"{m['cpus']} cores ({m['cpu_model']}), Python {m['python']}, "
        f"oslo.messaging {m['oslo.messaging']}, RabbitMQ {m['rabbitmq']}; "
        f"load average {m.get('loadavg_1min_at_start', '?')} at start"
    )


def plural(n: float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


def backup(d: dict) -> list[str]:
    c = d["create_backup_casts"]
    lines = [
        f"- `create_backup` casts: `backup/rpcapi.py` {c['rpcapi_casts_per_s']:.0f}/s vs bare "
        f"`RPCClient` {c['bare_casts_per_s']:.0f}/s, ratio **{c['ratio']:.2f}** "
        f"(goal 0.95; rounds {c['ratio_min']:.2f}-{c['ratio_max']:.2f}).",
        "",
        "| `backup-create` to `available` | messages | p50 ms | p99 ms | bare call p50 ms "
        "| ratio (goal <= 3x) | floor ms | ratio to floor | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in d["backup_create_e2e"]:
        if "skipped" in e:
            lines.append(f"| {e['release']}, {e['database']} | skipped: {e['skipped']} |")
            continue
        lines.append(
            f"| {e['release']}, {e['database']} "
            f"| {plural(e['casts_per_backup'], 'cast')} + {plural(e['calls_per_backup'], 'call')} "
            f"| {e['backup_create_ms']['p50']:.1f} | {e['backup_create_ms']['p99']:.1f} "
            f"| {e['bare_call_ms']['p50']:.1f} | **{e['ratio_p50']:.1f}x** "
            f"| {e['floor_ms']:.1f} | {e['ratio_to_floor_p50']:.1f}x | {e['loadavg_1min']} |"
        )
    return lines


def casts(d: dict) -> list[str]:
    r, c = d["casts"]["casts_per_s"], d["casts"]["ratios"]
    return [
        f"- Cast throughput: rpcapi {r['rpcapi']:.0f}/s, bare client {r['bare']:.0f}/s, "
        f"raw kombu with publisher confirms {r['kombu confirm']:.0f}/s, without "
        f"{r['kombu no-confirm']:.0f}/s: rpcapi/bare **{c['rpcapi / bare']:.2f}**, "
        f"rpcapi/kombu-confirm {c['rpcapi / kombu confirm']:.2f}, "
        f"rpcapi/kombu-no-confirm {c['rpcapi / kombu no-confirm']:.2f}.",
    ]


def startup(d: dict) -> list[str]:
    lines = [
        "| tree | backends | processes | every row up (s) | ratio | CPU (s) | PSS (MiB) "
        "| RSS sum (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    trees = [("this tree", d["startup"])]
    if "before" in d:
        trees.append((f"before ({d['before']['ref']})", d["before"]["startup"]))
    for name, rows in trees:
        for r in rows:
            lines.append(
                f"| {name} | {r['backends']} | {r['processes']} | {r['rows_up_s']:.2f} "
                f"({r['rows_up_s_min']:.1f}-{r['rows_up_s_max']:.1f}) "
                f"| {r['rows_up_s_ratio']:.1f}x | {r['cpu_s']:.1f} | {r['peak_pss_mib']:.0f} "
                f"| {r['peak_rss_mib']:.0f} |"
            )
    return lines


def demo(d: dict) -> list[str]:
    line = (
        f"- `make demo`: {d['demo_wall_s']:.1f} s wall, {d['demo_cpu_s']:.1f} s CPU "
        f"({d['ratio_wall']:.1f}x the {d['imports_wall_s']:.1f} s of only importing it)"
    )
    if "before" in d:
        b = d["before"]
        line += f"; before ({b['ref']}): {b['demo_wall_s']:.1f} s wall ({b['ratio_wall']:.1f}x)"
    return [line + "."]


def client(d: dict) -> list[str]:
    w, r = d["wall_s"], d["ratio"]
    line = (
        f"- `cinder-lab service-list`: {w['service-list']:.2f} s wall, "
        f"**{r['service-list']:.2f}x** `python -c 'import sqlalchemy.orm'` "
        f"({w['import sqlalchemy.orm']:.2f} s; goal <= "
        f"{d['goal']:g}x); `cinder-lab --help` {r['--help']:.2f}x; oslo.messaging imported: "
        f"{'yes' if d['service_list_imports']['imports_oslo_messaging'] else 'no'}"
    )
    before = [k for k in w if k.startswith("service-list (")]
    for k in before:
        line += f"; before {k[len('service-list ') :]}: {w[k]:.2f} s, {r[k]:.2f}x"
    return [line + "."]


def main() -> int:
    out: list[str] = []
    for name, render in (
        ("bench_client", client),
        ("bench_backup", backup),
        ("bench_casts", casts),
        ("bench_startup", startup),
        ("bench_demo", demo),
    ):
        data = load(name)
        if data is None:
            out.append(f"<!-- no benchmarks/results/{name}.json: run make bench -->")
            continue
        out.append(f"<!-- {name}: {machine_line(data['machine'])} -->")
        out.extend(render(data))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
