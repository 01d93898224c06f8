#!/usr/bin/python3
"""Turns robustagg-demo's CSV into the figures of docs/experiments.md.

Usage: /usr/bin/python3 scripts/plot_experiments.py out.csv [docs/figures]

Writes
  detox_accuracy.png          test accuracy by rule under each attack (grouped bars; x: diverged)
  detox_curves.png            test-subset accuracy over the steps under ALIE, for a few forms
  heterogeneous_accuracy.png  test accuracy against the noise scale b, without and with ALIE
"""
import csv
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HEADER = ["experiment", "attack", "rule", "status", "steps", "accuracy",
          "ms_per_aggregation", "ms_per_step", "note"]


def short(rule):
    """A compact label for a canonical rule spec."""
    rule = re.sub(r", m=0\)", ")", rule)
    m = re.match(r"detox\(r=(\d+), buckets=(\d+), inner=(.*?), outer=(.*)\)$", rule)
    if m:
        r, k, inner, outer = m.groups()
        if k == "0":
            return f"DETOX: {outer}"
        return f"DETOX: {outer} of {k} {inner}s"
    return rule


def detox_bars(runs, out_dir):
    attacks = list(dict.fromkeys(r["attack"] for r in runs))
    rules = list(dict.fromkeys(r["rule"] for r in runs))
    by = {(r["attack"], r["rule"]): r for r in runs}
    fig, ax = plt.subplots(figsize=(17, 6))
    width = 0.85 / len(rules)
    ok = [100 * float(r["accuracy"]) for r in runs if r["status"] == "ok"]
    # The y axis starts near the lowest accuracy of the rules that held (the
    # differences are a few points); broken runs are written as numbers.
    lo = max(0.0, 10 * int((sorted(ok)[len(ok) // 10] - 8) // 10)) if ok else 0.0
    cmap = plt.get_cmap("tab20")
    for i, rule in enumerate(rules):
        xs = [a + (i - (len(rules) - 1) / 2) * width for a in range(len(attacks))]
        ys, div = [], []
        for x, a in zip(xs, attacks):
            r = by.get((a, rule))
            if r is None or r["status"] == "diverged":
                ys.append(0)
                if r is not None:
                    div.append(x)
            else:
                ys.append(100 * float(r["accuracy"]))
        hatch = "//" if rule.startswith("detox") else None
        ax.bar(xs, ys, width, label=short(rule), color=cmap(i % 20), hatch=hatch, edgecolor="white")
        for x, y in zip(xs, ys):
            if 0 < y < lo:  # below the axis: its value written at the bottom
                ax.text(x, lo + 0.5, f"{y:.0f}", ha="center", va="bottom", fontsize=7, rotation=90)
        if div:
            ax.plot(div, [lo + 1] * len(div), "x", color="black", ms=8, mew=2)
    clean = by.get(("none", "mean"))
    if clean is not None and clean["status"] == "ok":
        ax.axhline(100 * float(clean["accuracy"]), color="black", lw=0.8, ls="--")
    ax.set_xticks(range(len(attacks)))
    ax.set_xticklabels(attacks)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(lo, 100 if not ok else min(100, max(ok) + 4))
    ax.set_title("DETOX experiment: p = 45 workers, q = 5 Byzantine, r = 3 "
                 "(dashed: mean without attack; x: diverged; numbers: below the axis)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "detox_accuracy.png"), dpi=110)
    plt.close(fig)


def detox_curves(curves, out_dir):
    # A few plain rules (old and post-2020) and DETOX forms, matched by the
    # start of their canonical spec (centered-clipping's tau is measured).
    wanted = [("mean", True), ("median", True), ("krum(", False), ("bulyan(", False), ("nnm(", False),
              ("centered-clipping(", False), ("geometric-median", False), ("detox(r=3, buckets=0, inner=mean, outer=bulyan", False),
              ("detox(r=3, buckets=5, inner=mean, outer=median)", True), ("detox(r=3, buckets=0, inner=mean, outer=nnm", False)]
    rules = []
    for r in curves:
        if r["rule"] not in rules:
            rules.append(r["rule"])
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, exact in wanted:
        match = [x for x in rules if (x == key if exact else x.startswith(key))]
        for rule in match[:1]:
            pts = sorted((int(r["steps"]), 100 * float(r["accuracy"])) for r in curves if r["rule"] == rule)
            ax.plot([s for s, _ in pts], [a for _, a in pts], marker=".",
                    ls="--" if rule.startswith("detox") else "-", label=short(rule))
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy on 1000 test examples (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Under ALIE: accuracy over the steps")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "detox_curves.png"), dpi=110)
    plt.close(fig)


def heterogeneous(runs, out_dir):
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colors = {"noisy-median": "tab:blue", "noisy-sign-vote": "tab:orange"}
    attacked = [a for a in dict.fromkeys(r["attack"] for r in runs) if a != "none"]
    for attack, ls in [("none", "-")] + [(a, ":") for a in attacked]:
        for name, marker in (("noisy-median", "o"), ("noisy-sign-vote", "s")):
            pts = []
            for r in runs:
                m = re.match(name + r"\(b=([0-9.e+-]+),", r["rule"])
                if m and r["attack"] == attack and r["status"] == "ok":
                    pts.append((float(m.group(1)), 100 * float(r["accuracy"])))
            # b = 0 is the plain rule, drawn at the left edge of the log axis.
            base = "median" if name == "noisy-median" else "sign-vote"
            plain = [r for r in runs if r["rule"] == base and r["attack"] == attack and r["status"] == "ok"]
            pts.sort()
            if pts and plain:
                pts.insert(0, (pts[0][0] / 3, 100 * float(plain[0]["accuracy"])))
            if pts:
                ax.plot([b for b, _ in pts], [a for _, a in pts], marker=marker, ls=ls, color=colors[name],
                        label=f"{name} ({'no attack' if attack == 'none' else attack + ', 2 Byzantine'})")
        mean = [r for r in runs if r["rule"] == "mean" and r["attack"] == attack and r["status"] == "ok"]
        if mean:
            ax.axhline(100 * float(mean[0]["accuracy"]), ls=ls, lw=0.8, color="black",
                       label=f"mean ({'no attack' if attack == 'none' else attack})")
    ax.set_xscale("log")
    ax.set_xlabel("noise scale b (leftmost point: b = 0, the plain rule)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Heterogeneous data: 10 workers holding one or two classes")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "heterogeneous_accuracy.png"), dpi=110)
    plt.close(fig)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "docs", "figures")
    os.makedirs(out_dir, exist_ok=True)
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or list(rows[0].keys()) != HEADER:
        sys.exit("not a robustagg-demo CSV (header " + ",".join(HEADER) + ")")
    runs = [r for r in rows if r["status"] in ("ok", "diverged")]
    detox = [r for r in runs if r["experiment"] == "detox"]
    if detox:
        detox_bars(detox, out_dir)
    curves = [r for r in rows if r["experiment"] == "detox" and r["status"] == "curve"]
    if curves:
        detox_curves(curves, out_dir)
    het = [r for r in runs if r["experiment"] == "heterogeneous"]
    if het:
        heterogeneous(het, out_dir)


if __name__ == "__main__":
    main()
