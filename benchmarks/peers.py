#!/usr/bin/python3
"""Peer baselines on the shapes of the C++ benchmarks: numpy.median(axis=0),
torch.median(dim=0) and torch.cdist, float32, n x d with one row per worker.

Prints one line per measurement and writes JSON (list of records with
name, n, d, seconds = median over repetitions, threads) to --out.
Needs Debian's python3-numpy and python3-torch (/usr/bin/python3).
"""
import argparse
import json
import sys
import time

import numpy as np


def median_time(fn, reps, budget):
    times = []
    start = time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget and len(times) >= 1:
            break
    times.sort()
    return times[len(times) // 2], len(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", default="5,15,25,51,101")
    ap.add_argument("--dims", default="100000,10000000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per measurement at most")
    ap.add_argument("--sweep", type=int, default=0,
                    help="instead of the rows x dims grid: for each n of --rows, d = SWEEP // n "
                         "(bench_sweep's shapes); numpy and torch medians only")
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    try:
        import torch
        torch_threads = torch.get_num_threads()
    except ImportError:  # numpy alone still runs
        torch = None
        torch_threads = 0
    rows = [int(x) for x in args.rows.split(",")]
    dims = [int(x) for x in args.dims.split(",")]
    records = []
    rng = np.random.default_rng(1)
    shapes = ([(args.sweep // n, n) for n in rows] if args.sweep
              else [(d, n) for d in dims for n in rows])
    for d, n in shapes:
        g = rng.uniform(-1.0, 1.0, size=(n, d)).astype(np.float32)
        cases = [("numpy.median(axis=0)", lambda: np.median(g, axis=0), 1)]
        if torch is not None:
            t = torch.from_numpy(g)
            cases.append(("torch.median(dim=0)", lambda: torch.median(t, dim=0), torch_threads))
            if not args.sweep:
                cases.append(("torch.cdist", lambda: torch.cdist(t, t), torch_threads))
        for name, fn, threads in cases:
            fn()  # warm-up
            sec, reps = median_time(fn, args.reps, args.budget)
            rec = {"name": name, "n": n, "d": d, "seconds": sec, "reps": reps, "threads": threads}
            records.append(rec)
            print(f"{name:24s} n={n:4d} d={d:9d} {sec * 1e3:10.2f} ms  ({reps} reps, {threads} threads)",
                  flush=True)
        del g
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"torch": (torch.__version__ if torch else None), "numpy": np.__version__,
                       "records": records}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
