#!/usr/bin/python3
"""The Python module's cost: robustagg from Python against the same C++ call,
and against the usual NumPy/PyTorch ways of computing the same rules.

1. Overhead: robustagg.aggregate(g, rule) (a new output per call, the
   thread's cached workspace) against the C++ robustagg::aggregate with a
   new output in the same cached workspace, and
   robustagg.Aggregator(rule)(g, out=) against the C++ call reusing both; the C++ side is timed inside the module (_testing.time_cpp,
   a test hook of test builds: a steady_clock loop over the same buffers,
   same compiled code).
2. Peers, float32, n x d: torch.median(dim=0) and numpy.median(axis=0)
   against robustagg median; a torch.cdist-based Krum (squared distances,
   sort, sum of the n-f-2 nearest, argmin) against robustagg krum(f).
3. Layouts: the same values as a C-order array, a Fortran-order array and a
   column-major torch tensor (t.t() of a d x n tensor), robustagg.aggregate
   on each (goal: Fortran order within 1.2x of C order; the results are
   checked bitwise equal first).

Overheads are paired (a C++ call and a Python call back to back, the median
of their ratios), which cancels most of the drift of a shared machine's
load; peer times are medians over interleaved repetitions, with
robustagg at its default threads and at one thread (torch's and numpy's
medians are single-threaded here). Prints a Markdown table
(docs/python.md) and, with --json, the records. Needs Debian's python3-numpy
and python3-torch; run with PYTHONPATH=<build>/python on a module built with
the test hooks (ROBUSTAGG_PYTHON_TEST_HOOKS, on in test builds).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import robustagg


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def overhead(g, spec, pairs):
    """Paired: each pair times one C++ call and one Python call back to back
    (alternating which goes first), so slow drifts of the machine's load
    cancel; returns the median of the pairs' ratios and differences."""
    rule = robustagg.parse_rule(spec)
    agg = robustagg.Aggregator(rule)
    out = np.empty(g.shape[1], g.dtype)
    agg(g, out=out)
    robustagg.aggregate(g, rule)
    forms = {
        "aggregate": (True, lambda: robustagg.aggregate(g, rule)),
        "Aggregator": (False, lambda: agg(g, out=out)),
    }
    result = {}
    for name, (fresh, py) in forms.items():
        cpp_t, py_t = [], []
        for i in range(pairs):
            if i % 2:
                py_t += timed(py, 1)
            cpp_t += robustagg._robustagg._testing.time_cpp(g, rule, 1, fresh)
            if not i % 2:
                py_t += timed(py, 1)
        result[name] = dict(
            cpp=statistics.median(cpp_t), py=statistics.median(py_t),
            ratio=statistics.median(p / c for p, c in zip(py_t, cpp_t)) - 1,
            diff=statistics.median(p - c for p, c in zip(py_t, cpp_t)))
    return result


def torch_krum(t, f):
    import torch
    n = t.shape[0]
    d2 = torch.cdist(t, t) ** 2
    scores = d2.sort(dim=1).values[:, 1:n - f - 1].sum(1)
    return t[scores.argmin()]


def peers(g, f, reps, rounds):
    import torch
    t = torch.from_numpy(g)
    # Sanity: the same answers (odd n: the median is an input value).
    assert np.array_equal(robustagg.aggregate(g, "median"), torch.median(t, dim=0).values.numpy())
    assert np.array_equal(robustagg.aggregate(g, "median"), np.median(g, axis=0))
    assert np.array_equal(robustagg.aggregate(g, robustagg.Krum(f)), torch_krum(t, f).numpy())
    def one_thread(spec):
        def run():
            robustagg.set_num_threads(1)
            try:
                robustagg.aggregate(g, spec)
            finally:
                robustagg.set_num_threads(0)
        return run

    fns = {
        "robustagg median": lambda: robustagg.aggregate(g, "median"),
        "robustagg median, 1 thread": one_thread("median"),
        "torch.median(dim=0)": lambda: torch.median(t, dim=0),
        "numpy.median(axis=0)": lambda: np.median(g, axis=0),
        f"robustagg krum(f={f})": lambda: robustagg.aggregate(g, robustagg.Krum(f)),
        f"robustagg krum(f={f}), 1 thread": one_thread(f"krum(f={f})"),
        "torch.cdist Krum": lambda: torch_krum(t, f),
    }
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            times[k] += timed(fn, reps)
    return {k: statistics.median(v) for k, v in times.items()}


def layouts(g, f, reps, rounds):
    import torch
    fortran = np.asfortranarray(g)
    tcol = torch.from_numpy(np.ascontiguousarray(g.T)).t()  # column-major n x d tensor
    specs = ["median", "trimmed-mean(f=2)", "mean", f"krum(f={f})"]
    for spec in specs:
        ref = robustagg.aggregate(g, spec)
        assert np.array_equal(robustagg.aggregate(fortran, spec).view(np.uint32), ref.view(np.uint32))
        assert np.array_equal(robustagg.aggregate(tcol, spec).numpy().view(np.uint32), ref.view(np.uint32))
    fns = {}
    for spec in specs:
        fns[(spec, "C order")] = lambda s=spec: robustagg.aggregate(g, s)
        fns[(spec, "Fortran order")] = lambda s=spec: robustagg.aggregate(fortran, s)
        fns[(spec, "column-major tensor")] = lambda s=spec: robustagg.aggregate(tcol, s)
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            times[k] += timed(fn, reps)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--d", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--f", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=40, help="paired calls per overhead figure")
    ap.add_argument("--quick", action="store_true", help="d = 10^4, 2 x 2 repetitions (CTest)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.d, args.reps, args.rounds, args.pairs = [10_000], 2, 2, 4
    import torch
    load = os.getloadavg()
    print(f"robustagg {robustagg.__version__}: {robustagg.num_threads()} threads; torch "
          f"{torch.__version__}: {torch.get_num_threads()} threads; numpy {np.__version__}; "
          f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    records = []
    print("\nOverhead (paired medians; C++ call with a new workspace and output vs "
          "robustagg.aggregate, C++ call reusing both vs Aggregator(out=)):\n")
    print("| n | d | rule | C++ call | robustagg.aggregate | overhead | C++ reused | "
          "Aggregator(out=) | overhead |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in args.d:
        g = np.random.default_rng(d).normal(size=(args.n, d)).astype(np.float32)
        for spec in ("median", f"krum(f={args.f})"):
            o = overhead(g, spec, args.pairs)
            a, b = o["aggregate"], o["Aggregator"]
            print(f"| {args.n} | {d:.0e} | {spec} | {a['cpp'] * 1e3:.3f} ms | "
                  f"{a['py'] * 1e3:.3f} ms | {a['ratio']:+.1%} ({a['diff'] * 1e6:+.0f} us) | "
                  f"{b['cpp'] * 1e3:.3f} ms | {b['py'] * 1e3:.3f} ms | "
                  f"{b['ratio']:+.1%} ({b['diff'] * 1e6:+.0f} us) |")
            records.append(dict(kind="overhead", n=args.n, d=d, rule=spec, **o))
    print("\nPeers (medians):\n")
    print("| n | d | computation | time | robustagg faster by |")
    print("|---|---|---|---|---|")
    for d in args.d:
        g = np.random.default_rng(d).normal(size=(args.n, d)).astype(np.float32)
        p = peers(g, args.f, args.reps, args.rounds)
        base = {"median": p["robustagg median"], "krum": p[f"robustagg krum(f={args.f})"]}
        for k, v in p.items():
            ref = base["krum"] if "rum" in k else base["median"]
            ref1 = p[f"robustagg krum(f={args.f}), 1 thread"] if "rum" in k else \
                p["robustagg median, 1 thread"]
            ratio = "" if k.startswith("robustagg") else \
                f"{v / ref:.1f}x ({v / ref1:.1f}x at 1 thread)"
            print(f"| {args.n} | {d:.0e} | {k} | {v * 1e3:.2f} ms | {ratio} |")
            records.append(dict(kind="peer", n=args.n, d=d, name=k, seconds=v))
    print("\nLayouts (robustagg.aggregate, medians; ratio to C order):\n")
    print("| n | d | rule | C order | Fortran order | ratio | column-major tensor | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args.d:
        g = np.random.default_rng(d).normal(size=(args.n, d)).astype(np.float32)
        lt = layouts(g, args.f, args.reps, args.rounds)
        for spec in dict.fromkeys(k[0] for k in lt):
            c, fo, tc = lt[(spec, "C order")], lt[(spec, "Fortran order")], lt[(spec, "column-major tensor")]
            print(f"| {args.n} | {d:.0e} | {spec} | {c * 1e3:.2f} ms | {fo * 1e3:.2f} ms | {fo / c:.2f} | "
                  f"{tc * 1e3:.2f} ms | {tc / c:.2f} |")
            records.append(dict(kind="layout", n=args.n, d=d, rule=spec, c=c, fortran=fo, tensor=tc))
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
