#!/usr/bin/python3
"""Turns robustagg-demo's CSV into the figures of docs/experiments.md.

Usage: /usr/bin/python3 scripts/plot_experiments.py out.csv [docs/figures]

Writes (each only when the CSV holds its experiment)
  detox_attacks.png           q = 5: test accuracy of each rule under each attack (x: diverged)
  detox_q_study.png           Figure 1: accuracy over the steps, vanilla vs DETOX, a panel per pair and q (0, 1, 5, q_max)
  detox_equal_time.png        accuracy against simulated time, vanilla vs DETOX (no attack, ALIE)
  sign_curves.png             Figure 2: sign-vote vs its DETOX form over the steps, under each attack
  heterogeneous_accuracy.png  accuracy against the noise b: noisy median, noisy sign vote (fixed and scaled step)
  heterogeneous_tradeoff.png  noisy median: accuracy against the number of Byzantine workers, per b

Every number comes from the CSV as the demo wrote it (accuracies in percent,
rounded once, as in the printed tables).
"""
import csv
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HEADER = ["experiment", "q", "attack", "rule", "lr", "status", "steps", "accuracy",
          "ms_per_gradient", "ms_per_aggregation", "sim_seconds", "note"]
PAIR_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def short(rule):
    """The spec as one would write it: without the DETOX and Multi-Krum defaults."""
    rule = rule.replace("buckets=0, inner=mean, ", "").replace(", m=0)", ")")
    return re.sub(r", seed=\d+", "", rule)


def pair_of(rule):
    """The vanilla rule a spec is (or wraps), without f: 'bulyan', 'multi-krum', 'median', 'nnm', ..."""
    m = re.match(r"detox\(r=\d+, buckets=\d+, inner=[^,]+, outer=(.*)\)$", rule)
    inner = m.group(1) if m else rule
    return re.match(r"[a-z-]+", inner).group(0)


def is_detox(rule):
    return rule.startswith("detox(")


def curve(rows, run, x="steps"):
    """(x, accuracy) points of the curve rows of one run (same experiment, q, attack, rule, lr)."""
    key = (run["experiment"], run["q"], run["attack"], run["rule"], run["lr"])
    pts = [(float(r[x]), float(r["accuracy"])) for r in rows
           if r["status"] == "curve" and (r["experiment"], r["q"], r["attack"], r["rule"], r["lr"]) == key]
    return sorted(pts)


def detox_attacks(runs, out_dir):
    table = [r for r in runs if r["experiment"] == "detox" and (r["q"] == "5" or r["attack"] == "none")]
    attacks = list(dict.fromkeys(r["attack"] for r in table))
    rules = list(dict.fromkeys(r["rule"] for r in table))
    by = {(r["attack"], r["rule"]): r for r in table}
    fig, ax = plt.subplots(figsize=(15, 5.5))
    width = 0.85 / len(rules)
    cmap = plt.get_cmap("tab20")
    # A pair shares a colour: the vanilla rule dark, its DETOX form light and hatched.
    families = list(dict.fromkeys(pair_of(r) for r in rules if r != "mean"))

    def color(rule):
        if rule == "mean":
            return "dimgray"
        return cmap((2 * families.index(pair_of(rule)) + (1 if is_detox(rule) else 0)) % 20)

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
                ys.append(float(r["accuracy"]))
        ax.bar(xs, ys, width, label=short(rule), color=color(rule), hatch="//" if is_detox(rule) else None,
               edgecolor="white")
        if div:
            ax.plot(div, [2] * len(div), "x", color="black", ms=8, mew=2)
    ax.set_xticks(range(len(attacks)))
    ax.set_xticklabels(attacks)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("p = 45, q = 5 Byzantine (none: no Byzantine worker), r = 3, equal steps (x: diverged)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "detox_attacks.png"), dpi=100)
    plt.close(fig)


def q_study(rows, runs, out_dir):
    """Figure 1: a panel per pair (rows) and q (columns; q = 0: no attack, else ALIE), vanilla vs DETOX."""
    study = [r for r in runs if r["experiment"] == "detox" and r["rule"] != "mean"
             and (r["attack"] == "none" or r["attack"] == "alie")]
    qs = sorted({int(r["q"]) for r in study})
    pairs = list(dict.fromkeys(pair_of(r["rule"]) for r in study))
    fig, axes = plt.subplots(len(pairs), len(qs), figsize=(3.3 * len(qs), 2.6 * len(pairs)), sharex=True,
                             sharey=True, squeeze=False)
    for i, pair in enumerate(pairs):
        for j, q in enumerate(qs):
            ax = axes[i][j]
            for run in [r for r in study if int(r["q"]) == q and pair_of(r["rule"]) == pair]:
                pts = curve(rows, run)
                detox = is_detox(run["rule"])
                ax.plot([s for s, _ in pts], [a for _, a in pts], color="tab:red" if detox else "tab:blue",
                        ls="--" if detox else "-",
                        label=f"{short(run['rule'])}: {run['accuracy'] or 'diverged'}")
            ax.set_title(("q = 0, no attack" if q == 0 else f"q = {q}, ALIE") + f": {pair}", fontsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6, loc="lower right")
            if i == len(pairs) - 1:
                ax.set_xlabel("step")
        axes[i][0].set_ylabel("accuracy, 1000 test ex. (%)", fontsize=8)
    axes[0][0].set_ylim(0, 100)
    fig.suptitle("DETOX (dashed) against its vanilla form (solid), p = 45, r = 3, equal steps "
                 "(legend: final test accuracy)")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "detox_q_study.png"), dpi=90)
    plt.close(fig)


def equal_time(rows, runs, out_dir):
    """Accuracy against simulated time: each pair's vanilla run (equal steps and equal time) and DETOX run."""
    five = [r for r in runs if r["experiment"] in ("detox", "equal-time") and r["rule"] != "mean"
            and ((r["attack"] == "none") or (r["attack"] == "alie" and r["q"] == "5"))]
    pairs = list(dict.fromkeys(pair_of(r["rule"]) for r in five))
    attacks = ["none", "alie"]
    fig, axes = plt.subplots(len(attacks), len(pairs), figsize=(3.6 * len(pairs), 3.4 * len(attacks)),
                             sharey=True, squeeze=False)
    for i, attack in enumerate(attacks):
        for j, pair in enumerate(pairs):
            ax = axes[i][j]
            for run in [r for r in five if r["attack"] == attack and pair_of(r["rule"]) == pair]:
                pts = curve(rows, run, x="sim_seconds")
                if not pts:
                    continue
                if is_detox(run["rule"]) and run["experiment"] == "equal-time":  # --full
                    style, label = ("-.", "tab:red"), f"DETOX, {run['steps']} steps (equal time)"
                elif is_detox(run["rule"]):
                    style, label = ("--", "tab:red"), f"DETOX, {run['steps']} steps"
                elif run["experiment"] == "equal-time":
                    style, label = (":", "tab:blue"), f"vanilla, {run['steps']} steps (equal time)"
                else:
                    style, label = ("-", "tab:blue"), f"vanilla, {run['steps']} steps"
                ax.plot([t for t, _ in pts], [a for _, a in pts], ls=style[0], color=style[1], label=label)
            ax.set_title(f"{pair}, {'no attack' if attack == 'none' else 'ALIE, q = 5'}", fontsize=9)
            ax.set_xlabel("simulated time (s)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6, loc="lower right")
        axes[i][0].set_ylabel("accuracy on 1000 test examples (%)")
    axes[0][0].set_ylim(0, 100)
    fig.suptitle("Accuracy against simulated time (one worker's gradient + one aggregation per step, measured)")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "detox_equal_time.png"), dpi=100)
    plt.close(fig)


def sign_curves(rows, runs, out_dir):
    """Figure 2: sign-vote (solid) and its DETOX form (dashed) over the steps, one panel per attack."""
    sign = [r for r in runs if r["experiment"] == "sign"]
    attacks = list(dict.fromkeys(r["attack"] for r in sign))
    cols = min(4, len(attacks))
    nrows = (len(attacks) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.8 * cols, 3.3 * nrows), sharey=True, squeeze=False)
    for k, attack in enumerate(attacks):
        ax = axes[k // cols][k % cols]
        for run in [r for r in sign if r["attack"] == attack]:
            pts = curve(rows, run)
            ax.plot([s for s, _ in pts], [a for _, a in pts], ls="--" if is_detox(run["rule"]) else "-",
                    color="tab:red" if is_detox(run["rule"]) else "tab:blue",
                    label=f"{short(run['rule'])}: {run['accuracy'] or 'diverged'}")
        ax.set_title(attack if attack != "none" else "no attack", fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    for k in range(len(attacks), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    for i in range(nrows):
        axes[i][0].set_ylabel("accuracy on 1000 test examples (%)")
    axes[0][0].set_ylim(0, 100)
    fig.suptitle("signSGD (sign-vote) and its DETOX form, p = 45, q = 5 (legend: final test accuracy)")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "sign_curves.png"), dpi=100)
    plt.close(fig)


def heterogeneous(runs, out_dir):
    het = [r for r in runs if r["experiment"] == "heterogeneous" and r["q"] in ("0", "2")
           and r["attack"] in ("none", "alie(z=1)")]
    sign_lrs = {r["lr"] for r in het if r["rule"] == "sign-vote"}
    fixed_lr = min(sign_lrs, key=float) if sign_lrs else None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), sharey=True)
    for ax, attack in zip(axes, ["none", "alie(z=1)"]):
        at = [r for r in het if r["attack"] == attack and r["status"] == "ok"]
        series = [("noisy-median", "median", lambda r: True, "tab:blue", "o", "noisy median"),
                  ("noisy-sign-vote", "sign-vote", lambda r: r["lr"] == fixed_lr, "tab:orange", "s",
                   f"noisy sign vote, step {fixed_lr}"),
                  ("noisy-sign-vote", "sign-vote", lambda r: r["lr"] != fixed_lr, "tab:green", "^",
                   "noisy sign vote, step ~ b")]
        for name, base, keep, color, marker, label in series:
            pts = []
            for r in at:
                m = re.match(name + r"\(b=([0-9.e+-]+),", r["rule"])
                if m and keep(r):
                    pts.append((float(m.group(1)), float(r["accuracy"])))
            pts.sort()
            # b = 0, the plain rule, at the left edge (not for the scaled step: it is 0 at b = 0).
            plain = [r for r in at if r["rule"] == base and (base == "median" or r["lr"] == fixed_lr)]
            if pts and plain and (base == "median" or keep(plain[0])):
                pts.insert(0, (pts[0][0] / 3, float(plain[0]["accuracy"])))
            if pts:
                ax.plot([b for b, _ in pts], [a for _, a in pts], marker=marker, color=color, label=label)
        mean = [r for r in at if r["rule"] == "mean"]
        if mean:
            ax.axhline(float(mean[0]["accuracy"]), color="black", lw=0.8, ls="--", label="mean")
        ax.set_xscale("log")
        ax.set_xlabel("noise b (leftmost point: b = 0, the plain rule)")
        ax.set_title("no attack" if attack == "none" else "ALIE (z = 1), 2 Byzantine workers")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].set_ylim(0, 100)
    fig.suptitle("Heterogeneous data: 10 workers holding one or two classes")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "heterogeneous_accuracy.png"), dpi=100)
    plt.close(fig)


def tradeoff(runs, out_dir):
    """Noisy median: accuracy against k Byzantine workers (reverse), one line per b; iid and heterogeneous."""
    tr = [r for r in runs if r["experiment"] in ("heterogeneous", "heterogeneous-iid")
          and r["attack"] in ("none", "reverse") and (r["rule"] == "median" or r["rule"].startswith("noisy-median"))]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, exp in zip(axes, ["heterogeneous-iid", "heterogeneous"]):
        rules = sorted({r["rule"] for r in tr if r["experiment"] == exp},
                       key=lambda s: 0.0 if s == "median" else float(re.search(r"b=([0-9.e+-]+)", s).group(1)))
        for i, rule in enumerate(rules):
            pts = sorted((int(r["q"]), float(r["accuracy"]) if r["status"] == "ok" else 0.0)
                         for r in tr if r["experiment"] == exp and r["rule"] == rule)
            b = "0 (median)" if rule == "median" else re.search(r"b=([0-9.e+-]+)", rule).group(1)
            ax.plot([k for k, _ in pts], [a for _, a in pts], marker="o", color=plt.get_cmap("viridis")(i / max(1, len(rules) - 1)),
                    label=f"b = {b}")
        ax.set_title("iid batches" if exp.endswith("iid") else "heterogeneous shards")
        ax.set_xlabel("Byzantine workers k (reverse)")
        ax.set_xticks(sorted({int(r["q"]) for r in tr}))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].set_ylim(0, 100)
    fig.suptitle("Noisy median: the noise b against the number of Byzantine workers")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "heterogeneous_tradeoff.png"), dpi=100)
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
    experiments = {r["experiment"] for r in runs}
    if "detox" in experiments:
        detox_attacks(runs, out_dir)
        q_study(rows, runs, out_dir)
        equal_time(rows, runs, out_dir)
    if "sign" in experiments:
        sign_curves(rows, runs, out_dir)
    if "heterogeneous" in experiments:
        heterogeneous(runs, out_dir)
        tradeoff(runs, out_dir)


if __name__ == "__main__":
    main()
