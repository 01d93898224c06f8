#!/usr/bin/python3
"""Turns the benchmark JSON into docs/performance.md tables and a PNG plot.

Usage: report.py --bench bench_coordinate.json bench_distance.json [bench_detox.json]
                 [--peers peers.json] [--load "load text"] [--doc docs/performance.md]
                 [--figure docs/figures/performance_roofline.png]

Reads Google Benchmark JSON (with or without --benchmark_repetitions: the
median aggregate is used when present), replaces the block between
<!-- BEGIN MEASURED --> and <!-- END MEASURED --> in the document (appends it
when missing) and draws x_roofline by n for each rule (one panel per d).
"""
import argparse
import json
import re
import sys
from collections import defaultdict

BEGIN, END = "<!-- BEGIN MEASURED -->", "<!-- END MEASURED -->"


def load_bench(paths):
    """{(name, n, d, threads): record} with seconds, x_roofline, label; and contexts."""
    out, contexts = {}, []
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        contexts.append(data.get("context", {}))
        runs = data.get("benchmarks", [])
        has_median = any(r.get("aggregate_name") == "median" for r in runs)
        for r in runs:
            if has_median and r.get("aggregate_name") != "median":
                continue
            if not has_median and r.get("run_type") == "aggregate":
                continue
            m = re.match(r"(\w+)/n:(\d+)/d:(\d+)/threads:(\d+)", r["run_name"] if "run_name" in r else r["name"])
            if not m:
                continue
            key = (m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)))
            out[key] = {"seconds": r.get("seconds"), "x_roofline": r.get("x_roofline"),
                        "label": r.get("label", ""), "reps": r.get("repetitions", 1)}
    return out, contexts


def write_block(path, begin, end, block):
    """Replaces the text from `begin` to `end` (markers included) in the file at
    `path` with `block` (which holds both markers), or appends it."""
    import os
    doc = open(path).read() if os.path.exists(path) else ""
    if begin in doc and end in doc:
        doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(doc)


def fmt_ms(s):
    if s is None:
        return "–"
    ms = s * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def fmt_x(x):
    return "–" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", nargs="+", required=True)
    ap.add_argument("--peers", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--doc", default="docs/performance.md")
    ap.add_argument("--figure", default="docs/figures/performance_roofline.png")
    ap.add_argument("--summary", action="store_true",
                    help="print a short summary: each rule at n = 15 as a multiple of the read pass and of "
                         "the peers measured in the same run")
    args = ap.parse_args()

    runs, contexts = load_bench(args.bench)
    peers = {}
    if args.peers:
        with open(args.peers) as fh:
            for r in json.load(fh)["records"]:
                peers[(r["name"], r["n"], r["d"])] = r
    ns = sorted({k[1] for k in runs})
    ds = sorted({k[2] for k in runs})
    names = []
    for k in runs:
        if k[0] not in names:
            names.append(k[0])

    def get(name, n, d, threads=0, field="seconds"):
        r = runs.get((name, n, d, threads))
        return None if r is None else r.get(field)

    def roofline(n, d):
        a, b = get("BM_ReadPass", n, d, 1), get("BM_ReadPass", n, d, 0)
        vals = [v for v in (a, b) if v]
        return min(vals) if vals else None

    ctx = contexts[0] if contexts else {}
    lines = [BEGIN, ""]
    lines.append(f"Measured {ctx.get('date', '?')} on `{ctx.get('host_name', '?')}` "
                 f"({ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz), "
                 f"SIMD `{ctx.get('simd_arch', '?')}`, {ctx.get('threads', '?')} threads, "
                 f"{ctx.get('library_build_type', '?')} Google Benchmark library build. "
                 f"Each figure is the median over repetitions. {args.load}")
    lines.append("")
    # Goal table.
    goals = []

    def ratio(a, b):
        return None if (a is None or b is None or b == 0) else a / b

    for rule in ("BM_Median", "BM_TrimmedMean", "BM_SignVote"):
        for n in (5, 15):
            for d in ds:
                goals.append((f"{rule[3:]} x_roofline, n={n}, d={d:g}", get(rule, n, d, 0, "x_roofline"), "≤ 1.5", lambda v: v <= 1.5))
    for d in ds:
        goals.append((f"Median x_roofline, n=25, d={d:g}", get("BM_Median", 25, d, 0, "x_roofline"), "≤ 3", lambda v: v <= 3))
    for n in (5, 15, 25):
        for d in ds:
            goals.append((f"nth_element / Median (all threads), n={n}, d={d:g}",
                          ratio(get("BM_NthElementMedian", n, d, 1), get("BM_Median", n, d)), "≥ 40", lambda v: v >= 40))
            goals.append((f"nth_element / Median (1 thread), n={n}, d={d:g}",
                          ratio(get("BM_NthElementMedian", n, d, 1), get("BM_Median", n, d, 1)), "(≥ 40)", lambda v: v >= 40))
    for d in ds:
        p = peers.get(("torch.median(dim=0)", 15, d))
        goals.append((f"torch.median(dim=0) / Median, n=15, d={d:g}",
                      ratio(p["seconds"] if p else None, get("BM_Median", 15, d)), "≥ 50", lambda v: v >= 50))
    for rule, bound in (("BM_Krum", 6), ("BM_MultiKrum", 6), ("BM_Bulyan", 10)):
        for d in ds:
            goals.append((f"{rule[3:]} x_roofline, n=15, d={d:g}", get(rule, 15, d, 0, "x_roofline"), f"≤ {bound}",
                          (lambda b: lambda v: v <= b)(bound)))
    for key in [k for k in runs if k[0].startswith("BM_Detox") and k[0].endswith("Speedup")]:
        pass
    detox = [(k, v) for k, v in runs.items() if k[0].startswith("BM_Detox")]
    if detox:
        for base in ("Bulyan", "MultiKrum"):
            for d in sorted({k[2] for k, _ in detox}):
                plain = get(f"BM_Detox_Plain{base}", 45, d)
                dx = get(f"BM_Detox_{base}", 45, d)
                goals.append((f"DETOX speed-up, {base}, p=45, r=3, d={d:g}", ratio(plain, dx), "≥ 5", lambda v: v >= 5))
    lines.append("### Goals")
    lines.append("")
    lines.append("| measure | measured | goal | met |")
    lines.append("|---|---:|---:|:---:|")
    for label, val, goal, ok in goals:
        if val is None:
            continue
        lines.append(f"| {label} | {fmt_x(val)} | {goal} | {'yes' if ok(val) else '**no**'} |")
    lines.append("")
    # Full tables per d.
    for d in ds:
        lines.append(f"### d = {d:g}: time per call in ms (x_roofline in parentheses)")
        lines.append("")
        lines.append("| benchmark | threads | " + " | ".join(f"n={n}" for n in ns) + " |")
        lines.append("|---|---|" + "---:|" * len(ns))
        for name in names:
            for threads in (0, 1):
                cells, any_val = [], False
                for n in ns:
                    s = get(name, n, d, threads)
                    x = get(name, n, d, threads, "x_roofline")
                    if s is not None:
                        any_val = True
                    cells.append("–" if s is None else f"{fmt_ms(s)} ({fmt_x(x)})")
                if any_val:
                    lines.append(f"| {name[3:]} | {'all' if threads == 0 else threads} | " + " | ".join(cells) + " |")
        for pname in ("numpy.median(axis=0)", "torch.median(dim=0)", "torch.cdist"):
            cells, any_val = [], False
            for n in ns:
                p = peers.get((pname, n, d))
                r = roofline(n, d)
                if p:
                    any_val = True
                    cells.append(f"{fmt_ms(p['seconds'])} ({fmt_x(p['seconds'] / r) if r else '–'})")
                else:
                    cells.append("–")
            if any_val:
                th = next((peers[k]["threads"] for k in peers if k[0] == pname), "?")
                lines.append(f"| {pname} (peer) | {th} | " + " | ".join(cells) + " |")
        lines.append("")
    if args.summary:
        d = max(ds)
        print(f"summary: n = 15, d = {d:g}, all threads (median of the repetitions); full report: {args.doc}")
        for name in names:
            s, x = get(name, 15, d), get(name, 15, d, 0, "x_roofline")
            if s is not None and name != "BM_ReadPass":
                print(f"  {name[3:]:<28} {fmt_ms(s):>9} ms  {fmt_x(x):>7} the read pass")
        for pname, ours in (("numpy.median(axis=0)", "BM_Median"), ("torch.median(dim=0)", "BM_Median"),
                            ("torch.cdist", "BM_Krum")):
            p, r = peers.get((pname, 15, d)), get(ours, 15, d)
            if p and r:
                print(f"  peer {pname:<23} {fmt_ms(p['seconds']):>9} ms  = {p['seconds'] / r:.1f}x robustagg's "
                      f"{ours[3:]}")
    lines.append(f"![x_roofline by n](figures/{args.figure.split('/')[-1]})")
    lines.append("")
    lines.append(END)
    block = "\n".join(lines)

    try:
        with open(args.doc) as fh:
            doc = fh.read()
    except FileNotFoundError:
        doc = "# Performance\n\n"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    with open(args.doc, "w") as fh:
        fh.write(doc)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no figure", file=sys.stderr)
        return 0
    fig, axes = plt.subplots(1, len(ds), figsize=(6.5 * len(ds), 5), squeeze=False)
    colours = plt.get_cmap("tab20").colors
    markers = "osD^v<>px*h"
    grid_ns = [n for n in ns if n != 45]  # n = 45: the DETOX benchmarks, drawn as single points
    for ax, d in zip(axes[0], ds):
        for idx, name in enumerate(n for n in names if n != "BM_ReadPass"):
            xs = [n for n in ns if get(name, n, d, 0 if (name, n, d, 0) in runs else 1, "x_roofline")]
            ys = [get(name, n, d, 0 if (name, n, d, 0) in runs else 1, "x_roofline") for n in xs]
            if xs:
                ax.plot(xs, ys, marker=markers[idx % len(markers)], color=colours[idx % len(colours)],
                        ls="-" if len(xs) > 1 else "none", label=name[3:])
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(grid_ns)
        ax.set_xticklabels([str(n) for n in grid_ns])
        ax.minorticks_off()
        ax.set_xlabel("n (rows)")
        ax.set_ylabel("time / read-pass time")
        ax.set_title(f"d = {d:g} (float, {ctx.get('simd_arch', '?')})")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
