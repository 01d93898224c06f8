#!/usr/bin/python3
"""The n sweep of docs/performance.md: a table and a figure from one run of
bench_sweep (Google Benchmark JSON) and peers.py --sweep (numpy, torch).

Usage: sweep_report.py --bench bench_sweep.json --peers peers_sweep.json
                       [--load "text"] [--doc docs/performance.md]
                       [--figure docs/figures/performance_sweep.png]

Replaces the block between <!-- sweep:begin --> and <!-- sweep:end --> of the
document (appends it when missing). Every ratio is from the same run: a rule's
time over the read pass of its own shape (x read), and numpy's time over the
median's (numpy / median).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import load_bench, write_block  # noqa: E402

BEGIN, END = "<!-- sweep:begin -->", "<!-- sweep:end -->"
RULES = [("BM_Mean", "mean"), ("BM_Median", "median"), ("BM_TrimmedMean", "trimmed mean"),
         ("BM_SignVote", "sign vote"), ("BM_NoisyMedian", "noisy median"),
         ("BM_GeometricMedian_it1", "GM, 1 iteration"), ("BM_Krum", "Krum"), ("BM_Bulyan", "Bulyan")]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--load", default="")
    ap.add_argument("--doc", default="docs/performance.md")
    ap.add_argument("--figure", default="docs/figures/performance_sweep.png")
    args = ap.parse_args()
    import json
    runs, contexts = load_bench([args.bench])
    with open(args.peers) as fh:
        peer_data = json.load(fh)
    peers = {(r["name"], r["n"]): r["seconds"] for r in peer_data["records"]}
    shapes = sorted({(k[1], k[2]) for k in runs if k[0] == "BM_ReadPass"})

    def get(name, n, d, threads=0):
        r = runs.get((name, n, d, threads))
        return None if r is None else r["seconds"]

    def read(n, d):
        vals = [v for v in (get("BM_ReadPass", n, d, 1), get("BM_ReadPass", n, d, 0)) if v]
        return min(vals) if vals else None

    ctx = contexts[0] if contexts else {}
    lines = [BEGIN, "## How cost grows with n (scripts/bench_sweep.sh)", "",
             f"n x d = 2^25 floats (d = 2^25 / n), float, SIMD `{ctx.get('simd_arch', '?')}`, "
             f"{ctx.get('threads', '?')} threads; numpy {peer_data.get('numpy')} (1 thread) and torch "
             f"{peer_data.get('torch')} on the same shapes in the same run. Medians of the repetitions. "
             f"{args.load}", "",
             "Each rule: its time over one read pass of the same input (x read). numpy / median: how many "
             "times faster robustagg's median is than `numpy.median(axis=0)`. f = (n - 3) / 4 for the "
             "rules that take one. Krum stops at n = 401 and Bulyan at 201 (O(n^2 d) work).", "",
             "| n | d | read ms | " + " | ".join(label for _, label in RULES) +
             " | median ms | numpy ms | numpy / median | torch ms |",
             "|---|---|---|" + "---|" * len(RULES) + "---|---|---|---|"]
    series = {label: [] for _, label in RULES}
    series["numpy.median(axis=0)"] = []
    series["torch.median(dim=0)"] = []
    for n, d in shapes:
        r = read(n, d)
        cells = []
        for name, label in RULES:
            t = get(name, n, d)
            x = t / r if (t and r) else None
            cells.append("–" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}"))
            if x is not None:
                series[label].append((n, x))
        med = get("BM_Median", n, d)
        npy = peers.get(("numpy.median(axis=0)", n))
        tch = peers.get(("torch.median(dim=0)", n))
        for key, t in (("numpy.median(axis=0)", npy), ("torch.median(dim=0)", tch)):
            if t and r:
                series[key].append((n, t / r))
        lines.append(f"| {n} | {d} | {r * 1e3:.1f} | " + " | ".join(cells) +
                     f" | {med * 1e3:.1f} | " + (f"{npy * 1e3:.0f}" if npy else "–") + " | " +
                     (f"{npy / med:.0f}×" if (npy and med) else "–") + " | " +
                     (f"{tch * 1e3:.0f}" if tch else "–") + " |")
    lines += ["", "![time over the read pass against n](figures/" + os.path.basename(args.figure) + ")", END]
    block = "\n".join(lines)
    write_block(args.doc, BEGIN, END, block)
    print(block)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no figure (bash scripts/deps.sh python3-matplotlib)", file=sys.stderr)
        return 0
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, pts in series.items():
        if not pts:
            continue
        style = "--" if "." in label else "-"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", markersize=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (workers), n x d = 2^25 floats")
    ax.set_ylabel("time / read pass of the same input")
    ax.set_title("Cost against n (" + str(ctx.get("simd_arch", "?")) + ", " + str(ctx.get("threads", "?")) +
                 " threads)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.figure) or ".", exist_ok=True)
    fig.savefig(args.figure, dpi=110)
    print(f"wrote {args.figure}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
