#!/usr/bin/env python3
"""Times robustagg-mpi-ps per step (compute, communication, aggregation) for
vanilla rules and their DETOX forms, and prints a Markdown table
(docs/distributed.md). Each rule runs `--repeats` times; the table shows the
median of each column.

usage: python3 examples/mpi/time_rules.py BUILD/examples/mpi/robustagg-mpi-ps
           [--ranks 16] [--steps 1000] [--repeats 3] [--mpirun mpirun]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

RULES = [
    "mean",
    "median",
    "multi-krum(f=3)",
    "bulyan(f=3)",
    "detox(r=3, outer=mean)",
    "detox(r=3, outer=median)",
    "detox(r=3, outer=multi-krum(f=1))",
]
FIELDS = ["total", "compute", "communication", "aggregation"]


def run(args, rule):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_mpi_yield_when_idle="1")
    cmd = [args.mpirun, "-np", str(args.ranks), "--oversubscribe", args.binary, "--rule", rule,
           "--steps", str(args.steps), "--log-every", "0"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    line = next(l for l in p.stderr.splitlines() if l.startswith("timing:"))
    values = {f: float(re.search(rf"\b{f} ([0-9.]+)", line).group(1)) for f in FIELDS}
    values["accuracy"] = float(p.stdout.strip().splitlines()[-1].split(":")[1])
    return values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--ranks", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mpirun", default="mpirun")
    args = ap.parse_args()
    print(f"{args.ranks} ranks ({args.ranks - 1} workers), {args.steps} steps, median of "
          f"{args.repeats} runs, ms per step\n")
    print("| rule | step | compute | communication | aggregation | accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    for rule in RULES:
        runs = [run(args, rule) for _ in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"| `{rule}` | {med['total']:.3f} | {med['compute']:.3f} | "
              f"{med['communication']:.3f} | {med['aggregation']:.3f} | {med['accuracy']:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
