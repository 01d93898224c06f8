#!/usr/bin/env python3
"""Byzantine-robust data-parallel training on torch.distributed (gloo) with robustagg.

--mode sharded (the default) or replicated: every rank is a worker (p ranks),
holds a replica of the model and replaces its flat gradient by the robust
aggregate of all ranks' gradients with robustagg.torch.robust_all_reduce
(sharded: each rank aggregates d/p coordinates of every gradient and the
shards are all-gathered; replicated: every rank aggregates all p gradients),
then takes the SGD step itself; the replicas stay bitwise identical. Workers
0..q-1 are Byzantine. With a DETOX rule, ranks k*r .. k*r+r-1 form group k.

--mode server: a parameter server (the papers' trust model, docs/distributed.md).
Rank 0 is the server, ranks 1..p the workers. Every step each worker computes
the gradient of the digits MLP on its mini-batch and sends it flat; the
server gathers the p gradients straight into the rows of one (p+1) x d
buffer (dist.gather into row views), aggregates rows 1..p in place with any
rule spec (DETOX included), takes the SGD step and broadcasts the new
parameters. Byzantine workers send an attack from robustagg.attacks instead
of their gradient: each computes it from its own gradient and a few more it
computes on other batches (its estimate of the honest rows), with ALIE's z
for the whole system. With a DETOX rule, workers k*r+1 .. k*r+r form group k
and share a batch.

A bad configuration (unknown rule, too few workers for it, bad attack) fails
on every rank with the same one-line message before any communication; an
aggregation error on the server (e.g. a vote with no majority) is broadcast
and ends every rank with that message. Nothing waits forever: the process
group has a timeout.

    python3 examples/python/torch_distributed_ps.py --workers 15 --byzantine 3 \\
        --rule 'detox(r=3, outer=median)' --attack alie --steps 300
The script starts the processes itself (p, or p+1 with --mode server) (torch.multiprocessing, a file://
rendezvous in a temporary directory). Under a launcher that sets RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT (torchrun, or by hand) each process
joins with env:// instead, and p = WORLD_SIZE (WORLD_SIZE - 1 with --mode server).
"""
import argparse
import datetime
import gzip
import os
import re
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import robustagg

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "digits.csv.gz")
D = 64 * 32 + 32 + 32 * 10 + 10  # parameters of the 64-32-10 MLP
ESTIMATE_ROWS = 4                # gradients a Byzantine worker computes to estimate the honest ones


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["sharded", "replicated", "server"], default="sharded",
                    help="robust_all_reduce among the workers, or a parameter server on rank 0")
    ap.add_argument("--workers", type=int, default=15,
                    help="p workers (ranks 0..p-1; with --mode server ranks 1..p)")
    ap.add_argument("--byzantine", type=int, default=0,
                    help="Byzantine workers (the first q workers)")
    ap.add_argument("--attack", default="none", help="robustagg.attacks spec")
    ap.add_argument("--rule", default="mean", help="robustagg rule spec")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a collective fails")
    return ap.parse_args(argv)


def check(args):
    """The configuration's problems as one message (None if fine); the same on every rank."""
    try:
        if args.workers < 1:
            return f"--workers {args.workers}: needs at least 1 worker"
        if not 0 <= args.byzantine <= args.workers:
            return f"--byzantine {args.byzantine} must be in 0..{args.workers}"
        rule = robustagg.parse_rule(args.rule)
        rule.validate(args.workers, D)
        r = group_size(rule)
        if r > 1 and args.workers % r:
            return f"{rule.spec}: {args.workers} workers are not groups of {r}"
        robustagg.attacks.parse(args.attack)
        if args.attack.startswith("alie") and args.byzantine:
            robustagg.attacks.alie_z(args.workers, args.byzantine)
    except ValueError as e:  # robustagg.Error is a ValueError
        return str(e)
    return None


def group_size(rule):
    m = re.match(r"detox\(r=(\d+)", rule.spec)
    return int(m.group(1)) if m else 1


def load_digits():
    with gzip.open(DATA, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x, y = a[:, :64] / 16.0, a[:, 64].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:360], order[360:]
    return (torch.from_numpy(x[train]), torch.from_numpy(y[train]),
            torch.from_numpy(x[test]), torch.from_numpy(y[test]))


def make_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def flat_grad(model, x, y, out):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    torch.cat([p.grad.reshape(-1) for p in model.parameters()], out=out)


def set_flat(model, flat):
    with torch.no_grad():
        offset = 0
        for p in model.parameters():
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def run(rank, world, args, init_method):
    torch.set_num_threads(1)
    problem = check(args)
    if problem:  # every rank finds the same problem: none waits for the others
        raise SystemExit(f"rank {rank}: torch_distributed_ps.py: {problem}")
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=args.timeout))
    try:
        serve(rank, world, args)
    finally:
        dist.destroy_process_group()


def train_all_reduce(rank, world, args):
    """Every rank a worker: its gradient replaced by robust_all_reduce, the step taken locally."""
    import robustagg.torch as rt
    p, q = args.workers, args.byzantine
    rule = robustagg.parse_rule(args.rule)
    r = group_size(rule)
    xtr, ytr, xte, yte = load_digits()
    model = make_model(args.seed)
    params = torch.cat([w.detach().reshape(-1) for w in model.parameters()])
    mine = torch.empty(D)
    attack = args.attack
    if attack.startswith("alie") and q and "z=" not in attack:
        attack = f"alie(z={robustagg.attacks.alie_z(p, q)!r})"
    byzantine = rank < q
    gen = torch.Generator()
    for step in range(args.steps):
        gen.manual_seed(hash((args.seed, step, rank // r)) & 0x7FFFFFFF)
        batch = torch.randint(len(xtr), (args.batch,), generator=gen)
        flat_grad(model, xtr[batch], ytr[batch], mine)
        if byzantine and attack != "none":
            est = torch.empty(ESTIMATE_ROWS + 1, D)
            for k in range(ESTIMATE_ROWS):
                b = torch.randint(len(xtr), (args.batch,), generator=gen)
                flat_grad(model, xtr[b], ytr[b], est[k])
            est[ESTIMATE_ROWS] = mine
            mine = robustagg.attacks.apply(attack, est, [ESTIMATE_ROWS],
                                           step * world + rank)[ESTIMATE_ROWS].contiguous()
        try:
            rt.robust_all_reduce(mine, rule, mode=args.mode)  # the same result on every rank
        except robustagg.Error as e:  # raised on every rank alike
            raise SystemExit(f"rank {rank}: torch_distributed_ps.py: step {step}: {e}")
        params -= args.lr * mine
        set_flat(model, params)
        if rank == 0 and (step + 1) % 100 == 0:
            print(f"step {step + 1}: test accuracy {accuracy(model, xte, yte):.4f}", file=sys.stderr)
    if rank == 0:
        print(f"{rule.spec} ({args.mode}): {p} workers, {q} Byzantine ({args.attack}), "
              f"{args.steps} steps")
        print(f"final test accuracy: {accuracy(model, xte, yte):.4f}")


def serve(rank, world, args):
    if args.mode != "server":
        return train_all_reduce(rank, world, args)
    p, q = args.workers, args.byzantine
    rule = robustagg.parse_rule(args.rule)
    r = group_size(rule)
    xtr, ytr, xte, yte = load_digits()
    model = make_model(args.seed)
    params = torch.cat([w.detach().reshape(-1) for w in model.parameters()])
    mine = torch.empty(D)
    if rank == 0:
        buffer = torch.zeros(world, D)          # row i = rank i's gradient (row 0 unused)
        rows = list(buffer.unbind(0))           # views: gather writes into the buffer
        update = torch.empty(D)
        agg = robustagg.Aggregator(rule)
    attack = args.attack
    if attack.startswith("alie") and q and "z=" not in attack:
        attack = f"alie(z={robustagg.attacks.alie_z(p, q)!r})"
    byzantine = 1 <= rank <= q
    gen = torch.Generator()
    for step in range(args.steps):
        if rank > 0:
            worker = rank - 1
            gen.manual_seed(hash((args.seed, step, worker // r)) & 0x7FFFFFFF)
            batch = torch.randint(len(xtr), (args.batch,), generator=gen)
            flat_grad(model, xtr[batch], ytr[batch], mine)
            if byzantine and attack != "none":
                est = torch.empty(ESTIMATE_ROWS + 1, D)
                for k in range(ESTIMATE_ROWS):
                    b = torch.randint(len(xtr), (args.batch,), generator=gen)
                    flat_grad(model, xtr[b], ytr[b], est[k])
                est[ESTIMATE_ROWS] = mine
                # step * world + rank: independent Gaussian draws per Byzantine rank.
                mine = robustagg.attacks.apply(attack, est, [ESTIMATE_ROWS],
                                               step * world + rank)[ESTIMATE_ROWS]
                mine = mine.contiguous()
            dist.gather(mine, dst=0)
        else:
            dist.gather(torch.zeros(D), gather_list=rows, dst=0)
        status = [None]
        if rank == 0:
            try:
                agg(buffer[1:], out=update)     # rows 1..p of the gather buffer, in place
                params -= args.lr * update
            except robustagg.Error as e:
                status = [f"step {step}: {e}"]
        dist.broadcast_object_list(status, src=0)
        if status[0] is not None:
            raise SystemExit(f"rank {rank}: torch_distributed_ps.py: {status[0]}")
        dist.broadcast(params, src=0)
        set_flat(model, params)
        if rank == 0 and (step + 1) % 100 == 0:
            print(f"step {step + 1}: test accuracy {accuracy(model, xte, yte):.4f}",
                  file=sys.stderr)
    if rank == 0:
        print(f"{rule.spec}: {p} workers, {q} Byzantine ({args.attack}), {args.steps} steps")
        if r > 1:
            print("last DETOX report: " + "; ".join(f"{s} {d}".strip() for s, d in agg.report))
        print(f"final test accuracy: {accuracy(model, xte, yte):.4f}")


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def spawned(rank, world, args, init_method):
    try:
        run(rank, world, args, init_method)
    except SystemExit as e:
        if e.code not in (None, 0):
            os.write(2, f"{e.code}\n".encode())  # one write: lines of ranks never interleave
            sys.exit(1)


def wait_for_ranks(procs, grace=30.0):
    """Waits for every rank. Once one has failed, the others get `grace`
    seconds to end with their own message (a rank that fails tells the others,
    so they all end) before they are terminated. Returns the lowest failed
    rank, or None. (torch's ProcessContext.join terminates the others at the
    first failure it sees, so which rank it names, and which messages are
    printed, depend on timing.)"""
    from multiprocessing.connection import wait
    pending = list(procs)
    while pending and not any(p.exitcode not in (None, 0) for p in procs):
        wait([p.sentinel for p in pending])
        pending = [p for p in pending if p.exitcode is None]
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join()
    failed = [rank for rank, p in enumerate(procs) if p.exitcode != 0]
    return failed[0] if failed else None


def main():
    args = parse_args()
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # torchrun
        world = int(os.environ["WORLD_SIZE"])
        args.workers = world - 1 if args.mode == "server" else world
        run(int(os.environ["RANK"]), world, args, "env://")
        return
    problem = check(args)
    if problem:
        sys.exit(f"torch_distributed_ps.py: {problem}")
    world = args.workers + 1 if args.mode == "server" else args.workers
    with tempfile.TemporaryDirectory() as tmp:
        init_method = "file://" + os.path.join(tmp, "rendezvous")
        ctx = mp.start_processes(spawned, args=(world, args, init_method), nprocs=world,
                                 join=False, start_method="fork")
        failed = wait_for_ranks(ctx.processes)
        if failed is not None:
            # a Python exception in a rank: torch's wrapper queued its traceback
            if not ctx.error_queues[failed].empty():
                sys.exit(f"torch_distributed_ps.py: rank {failed} raised:\n"
                         f"{ctx.error_queues[failed].get()}")
            sys.exit(f"torch_distributed_ps.py: rank {failed} failed (exit code "
                     f"{ctx.processes[failed].exitcode}; its message is above)")


if __name__ == "__main__":
    main()
