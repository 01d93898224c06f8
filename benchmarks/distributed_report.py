#!/usr/bin/env python3
"""Writes docs/distributed.md's measured block (and docs/figures/distributed.png
when matplotlib is installed) from the lines robustagg_mpi_bench printed
(benchmarks/bench_distributed.sh). Usage:
    distributed_report.py RESULTS CORES "LOAD BEFORE" "LOAD AFTER"
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import write_block  # noqa: E402

path, cores, lb, la = sys.argv[1:5]
rows = [l.split() for l in open(path) if l.strip() and not l.startswith("rule")]
res = {(r[0], r[1], int(r[2])): dict(d=int(r[3]), wall=float(r[4]), cpu=float(r[5]), bytes=float(r[6]))
       for r in rows}
ps = sorted({k[2] for k in res})
rules = list(dict.fromkeys(k[0] for k in res if k[1] == "sharded"))
d = rows[0][3]

figure = None
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for rule, marker in zip(rules, "os^v"):
        axes[0].plot(ps, [1e3 * res[(rule, "sharded", p)]["cpu"] for p in ps], marker + "-",
                     label=f"{rule}: sharded, per rank")
        axes[0].plot(ps, [1e3 * res[(rule, "server", p)]["cpu"] / p for p in ps], marker + "--",
                     label=f"{rule}: server / p")
        axes[1].plot(ps, [res[(rule, "sharded", p)]["wall"] / res[(rule, "server", p)]["wall"] for p in ps],
                     marker + "-", label=f"{rule}: sharded / server")
        axes[1].plot(ps, [res[(rule, "sharded", p)]["wall"] / res[("sum", "allreduce", p)]["wall"]
                          for p in ps], marker + ":", label=f"{rule}: sharded / plain all-reduce")
    axes[0].set(xlabel="ranks p", ylabel="aggregation CPU per step (ms)", xticks=ps,
                title=f"aggregation work, d = {int(d):.0e}")
    axes[1].set(xlabel="ranks p", ylabel="wall-time ratio", xticks=ps,
                title=f"wall time per step ({cores} cores: oversubscribed)")
    axes[1].axhline(1.0, color="gray", lw=0.5)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs("docs/figures", exist_ok=True)
    fig.savefig("docs/figures/distributed.png", dpi=110)
    figure = "figures/distributed.png"
except ImportError:
    pass

lines = ["<!-- bench-distributed:begin -->",
         f"One run of `bash benchmarks/bench_distributed.sh` (d = {int(d):,} floats per rank, median of "
         f"the steps; aggregation on one thread per rank; {cores} cores, so 4 and 8 ranks are "
         f"**oversubscribed**: wall times include time slicing between ranks; load average {lb} before, "
         f"{la} after, shared with other work).", "",
         "| rule | p | sharded bytes / ring all-reduce bytes | sharded agg. CPU / (server agg. CPU / p) "
         "| sharded wall / server wall | sharded wall / plain all-reduce wall | server agg. CPU (s) |",
         "|---|---|---|---|---|---|---|"]
for rule in rules:
    for p in ps:
        s, v, a = res[(rule, "sharded", p)], res[(rule, "server", p)], res[("sum", "allreduce", p)]
        lines.append(f"| {rule} | {p} | {s['bytes'] / a['bytes']:.3f} | "
                     f"{s['cpu'] / (v['cpu'] / p):.2f} | {s['wall'] / v['wall']:.2f} | "
                     f"{s['wall'] / a['wall']:.2f} | {v['cpu']:.3f} |")
if figure:
    lines += ["", f"![aggregation CPU per rank and wall-time ratios]({figure})"]
lines += ["", "Raw lines (rule mode p d wall_s agg_cpu_s bytes_sent):", "", "```"]
lines += [l.rstrip() for l in open(path)]
lines += ["```", "<!-- bench-distributed:end -->"]
write_block("docs/distributed.md", "<!-- bench-distributed:begin -->", "<!-- bench-distributed:end -->",
            "\n".join(lines))
print("\n".join(lines))
