#!/usr/bin/python3
"""Cost of robustagg.torch's helpers: stacking n workers' model gradients into one
n x d tensor (float32, float16 and bfloat16 gradients; the half types converted
to float32 by the stacking copy itself) and writing a d-vector back into .grad,
against torch.cat into the same rows and against the aggregation they feed.
Median of --reps timed calls each. Run with PYTHONPATH=<build>/python or an
installed robustagg."""
import argparse
import statistics
import time

import torch

import robustagg
import robustagg.torch as rt


def timed(fn, reps):
    fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=15)
    ap.add_argument("--width", type=int, default=1000, help="two width x width layers: d ~ 2 width^2")
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    torch.manual_seed(0)
    base = torch.nn.Sequential(torch.nn.Linear(a.width, a.width), torch.nn.Linear(a.width, a.width))
    workers = []
    for _ in range(a.workers):
        m = torch.nn.Sequential(torch.nn.Linear(a.width, a.width), torch.nn.Linear(a.width, a.width))
        for p in m.parameters():
            p.grad = torch.randn_like(p)
        workers.append(m)
    d = rt.gradient_size(workers[0])
    print(f"n = {a.workers} workers, d = {d} values, torch {torch.__version__}, {torch.get_num_threads()} torch threads")
    G = torch.empty(a.workers, d)
    rows = []
    for name, dtype in (("float32", torch.float32), ("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        for w in workers:
            w.to(dtype)
        t = timed(lambda: rt.stack_gradients(workers, out=G), a.reps)
        rows.append((f"stack_gradients, {name} gradients -> float32", t))
        if dtype == torch.float32:
            def cat():
                for i, w in enumerate(workers):
                    torch.cat([p.grad.reshape(-1) for p in w.parameters()], out=G[i])
            rows.append(("torch.cat into the rows (float32 only)", timed(cat, a.reps)))
        target = workers[0]
        v = torch.randn(d)
        rows.append((f"write_gradients into {name} .grad", timed(lambda: rt.write_gradients(v, target), a.reps)))
    for w in workers:
        w.to(torch.float32)
    rows.append(("robustagg median of the n x d float32", timed(lambda: robustagg.aggregate(G, "median"), a.reps)))
    print("| step | time (ms) |\n|---|---|")
    for name, t in rows:
        print(f"| {name} | {1e3 * t:.2f} |")


if __name__ == "__main__":
    main()
