#!/usr/bin/python3
"""Turns robustagg-demo's CSV into the figures of docs/experiments.md.

Usage: /usr/bin/python3 scripts/plot_experiments.py out.csv [docs/figures]

Writes
  detox_accuracy.png          test accuracy by rule under each attack (experiment detox)
  heterogeneous_accuracy.png  test accuracy against the noise scale b (experiment heterogeneous)
"""
import csv
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def short(rule):
    """A compact label for a rule spec."""
    m = re.match(r"detox\(r=(\d+), buckets=(\d+), inner=(.*), outer=(.*)\)$", rule)
    if m:
        r, k, inner, outer = m.groups()
        outer = re.sub(r", m=0\)", ")", outer)
        if k == "0":
            return f"DETOX r={r}: {outer}"
        return f"DETOX r={r}: {outer} of {k} {inner}s"
    return re.sub(r", m=0\)", ")", rule)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "docs", "figures")
    os.makedirs(out_dir, exist_ok=True)
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or list(rows[0].keys()) != ["experiment", "attack", "rule", "accuracy", "ms_per_aggregation"]:
        sys.exit("not a robustagg-demo CSV")

    detox = [r for r in rows if r["experiment"] == "detox"]
    if detox:
        attacks = list(dict.fromkeys(r["attack"] for r in detox))
        rules = list(dict.fromkeys(r["rule"] for r in detox))
        acc = {(r["attack"], r["rule"]): 100 * float(r["accuracy"]) for r in detox}
        fig, ax = plt.subplots(figsize=(12, 5.5))
        width = 0.8 / len(rules)
        cmap = plt.get_cmap("tab10")
        for i, rule in enumerate(rules):
            xs = [a + (i - (len(rules) - 1) / 2) * width for a in range(len(attacks))]
            ys = [acc.get((a, rule), 0) for a in attacks]
            hatch = "//" if rule.startswith("detox") else None
            ax.bar(xs, ys, width, label=short(rule), color=cmap(i % 10), hatch=hatch, edgecolor="white")
        clean = acc.get(("none", "mean"))
        if clean is not None:
            ax.axhline(clean, color="black", lw=0.8, ls="--")
            ax.axhline(clean - 3, color="grey", lw=0.8, ls=":")
        ax.set_xticks(range(len(attacks)))
        ax.set_xticklabels(attacks)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title("DETOX experiment: p = 15 workers, q = 3 Byzantine (dashed: clean mean; dotted: 3 points below)")
        ax.legend(fontsize=8, ncol=2, loc="lower left")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "detox_accuracy.png"), dpi=110)
        plt.close(fig)

    het = [r for r in rows if r["experiment"] == "heterogeneous"]
    if het:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, marker in (("noisy-median", "o"), ("noisy-sign-vote", "s")):
            pts = []
            for r in het:
                m = re.match(name + r"\(b=([0-9.e+-]+),", r["rule"])
                if m:
                    pts.append((float(m.group(1)), 100 * float(r["accuracy"])))
            pts.sort()
            if pts:
                # b = 0 drawn at the left edge of the log axis.
                bmin = min(b for b, _ in pts if b > 0) / 3
                ax.plot([b if b > 0 else bmin for b, _ in pts], [a for _, a in pts], marker=marker, label=name)
        for r in het:
            if r["rule"] in ("mean", "median", "sign-vote"):
                ax.axhline(100 * float(r["accuracy"]), ls="--", lw=0.8,
                           color={"mean": "black", "median": "tab:red", "sign-vote": "tab:purple"}[r["rule"]],
                           label=r["rule"])
        ax.set_xscale("log")
        ax.set_xlabel("noise scale b (leftmost point: b = 0)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title("Heterogeneous data: 11 workers, two classes each")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "heterogeneous_accuracy.png"), dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main()
