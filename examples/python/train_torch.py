#!/usr/bin/env python3
"""Robust training in PyTorch with robustagg: p simulated workers, q of them
Byzantine, every step aggregated by a robust rule.

Trains a 64-32-10 MLP on the UCI handwritten digits (examples/data/) once per
rule and prints the test accuracy of each. Every step each worker computes
its gradient on its own mini-batch straight into its row of one p x d tensor
(the flat `p.grad` buffers copied with torch.cat(out=...)); the Byzantine rows
are then replaced by an attack from robustagg.attacks (omniscient attackers:
they see the honest rows), and robustagg.aggregate reduces the p rows to the
update, in place, without copying the matrix.

With a DETOX rule, workers k*r .. k*r+r-1 form group k and compute on the
same batch, so honest replicas agree bitwise and the vote can compare them.

    python3 examples/python/train_torch.py                       # all rules, 300 steps
    python3 examples/python/train_torch.py --quick               # a few seconds
    python3 examples/python/train_torch.py --rules 'bulyan(f=3)' 'median' --attack ipm
"""
import argparse
import gzip
import os
import re
import sys
import time

import numpy as np
import torch

import robustagg

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "digits.csv.gz")
DEFAULT_RULES = ["mean", "median", "krum(f=3)", "multi-krum(f=3)", "bulyan(f=3)",
                 "trimmed-mean(f=3)", "detox(r=3, outer=median)",
                 "detox(r=3, inner=mean, outer=multi-krum(f=1))"]


def load_digits():
    with gzip.open(DATA, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x, y = a[:, :64] / 16.0, a[:, 64].astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    test, train = order[:360], order[360:]
    return (torch.from_numpy(x[train]), torch.from_numpy(y[train]),
            torch.from_numpy(x[test]), torch.from_numpy(y[test]))


def model_for(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def group_size(rule):
    """r for a DETOX rule (workers in a group share a batch), else 1."""
    m = re.match(r"detox\(r=(\d+)", rule.spec)
    return int(m.group(1)) if m else 1


def train(rule, args, data):
    xtr, ytr, xte, yte = data
    model = model_for(args.seed)
    params = list(model.parameters())
    d = sum(p.numel() for p in params)
    grads = torch.empty(args.workers, d)   # one row per worker
    update = torch.empty(d)
    agg = robustagg.Aggregator(rule)       # keeps its workspace between steps
    r = group_size(rule)
    byzantine = list(range(args.byzantine))
    attack = args.attack
    if attack == "alie" and args.byzantine:  # the paper's z for the whole system
        attack = f"alie(z={robustagg.attacks.alie_z(args.workers, args.byzantine)!r})"
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator()
    for step in range(args.steps):
        for i in range(args.workers):
            gen.manual_seed(hash((args.seed, step, i // r)) & 0x7FFFFFFF)
            batch = torch.randint(len(xtr), (args.batch,), generator=gen)
            model.zero_grad()
            loss_fn(model(xtr[batch]), ytr[batch]).backward()
            torch.cat([p.grad.reshape(-1) for p in params], out=grads[i])
        sent = robustagg.attacks.apply(attack, grads, byzantine, step) if byzantine else grads
        agg(sent, out=update)
        if not torch.isfinite(update).all():
            return float("nan")
        with torch.no_grad():
            offset = 0
            for p in params:
                p -= args.lr * update[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
    with torch.no_grad():
        return (model(xte).argmax(1) == yte).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", nargs="+", default=DEFAULT_RULES, help="rule specs to compare")
    ap.add_argument("--workers", type=int, default=15)
    ap.add_argument("--byzantine", type=int, default=3)
    ap.add_argument("--attack", default="alie", help="robustagg.attacks spec: "
                    + ", ".join(robustagg.attacks.known()))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="30 steps, three rules (CTest)")
    args = ap.parse_args()
    if args.quick:
        args.steps = 30
        if args.rules == DEFAULT_RULES:
            args.rules = ["mean", "bulyan(f=3)", "detox(r=3, outer=median)"]
    torch.set_num_threads(1)
    try:
        rules = [robustagg.parse_rule(s) for s in args.rules]
        for rule in rules:
            rule.validate(args.workers, 64 * 32 + 32 + 32 * 10 + 10)
        robustagg.attacks.parse(args.attack)
        if not 0 <= args.byzantine <= args.workers:
            raise ValueError(f"--byzantine {args.byzantine} must be in 0..{args.workers}")
    except ValueError as e:  # robustagg.Error is a ValueError
        sys.exit(f"train_torch.py: {e}")
    data = load_digits()
    print(f"{args.workers} workers, {args.byzantine} Byzantine ({args.attack}), "
          f"{args.steps} steps")
    for rule in rules:
        t0 = time.perf_counter()
        try:
            acc = train(rule, args, data)
        except robustagg.Error as e:
            print(f"{rule.spec:48s} failed: {e}")
            continue
        print(f"{rule.spec:48s} test accuracy {acc:.4f}  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
