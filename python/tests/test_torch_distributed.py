"""robustagg.torch.robust_all_reduce and comm_hook over torch.distributed (gloo):
5 ranks spawned per test, each with a timeout, so nothing hangs. References:
robustagg.aggregate of the gathered matrix (the single-process aggregate)."""
import datetime
import os
import tempfile
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

import torch.multiprocessing as mp  # noqa: E402

WORLD = 5
TIMEOUT = 240  # seconds per spawned run


def _init(rank, store):
    import faulthandler
    # a rank still running near the timeout prints its stack and exits
    faulthandler.dump_traceback_later(TIMEOUT - 30, exit=True)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=60))
    torch.set_num_threads(1)


def _spawn(fn, *args):
    """Runs fn(rank, store, outdir, *args) on WORLD processes; returns outdir.
    Fails (and kills the ranks) after TIMEOUT seconds."""
    outdir = tempfile.mkdtemp(prefix="robustagg-dist-")
    store = os.path.join(outdir, "store")
    ctx = mp.start_processes(fn, args=(store, outdir) + args, nprocs=WORLD, join=False,
                             start_method="spawn")
    deadline = time.time() + TIMEOUT
    try:
        while not ctx.join(timeout=max(1, deadline - time.time())):
            if time.time() > deadline:
                raise AssertionError(f"distributed run did not finish in {TIMEOUT} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    return outdir


# --- DDP with the communication hook -----------------------------------------

def _ddp_worker(rank, store, outdir, rule, mode):
    import robustagg.torch as rt
    from torch.nn.parallel import DistributedDataParallel as DDP
    _init(rank, store)
    torch.manual_seed(0)  # the same initial model everywhere (DDP also broadcasts rank 0's)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    ddp = DDP(model)
    # rank 3 sends NaN, rank 4 an ALIE gradient (computed from all honest gradients)
    ddp.register_comm_hook(None, rt.comm_hook(rule, mode=mode, byzantine={3: "nan", 4: "alie"}))
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(100 + rank)
    w_true = torch.linspace(-1, 1, 8)
    test_x = torch.randn(256, 8, generator=torch.Generator().manual_seed(7))
    test_y = (test_x @ w_true).unsqueeze(1)
    loss0 = torch.nn.functional.mse_loss(model(test_x), test_y).item()
    for _ in range(50):
        x = torch.randn(32, 8, generator=gen)
        y = (x @ w_true).unsqueeze(1) + 0.1 * torch.randn(32, 1, generator=gen)
        opt.zero_grad()
        torch.nn.functional.mse_loss(ddp(x), y).backward()
        opt.step()
    loss1 = torch.nn.functional.mse_loss(model(test_x), test_y).item()
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    torch.save({"params": params, "loss0": loss0, "loss1": loss1}, os.path.join(outdir, f"{rank}.pt"))
    dist.destroy_process_group()


_DDP_RESULTS = {}


def _ddp_run(rule, mode):
    key = (rule, mode)
    if key not in _DDP_RESULTS:
        outdir = _spawn(_ddp_worker, rule, mode)
        _DDP_RESULTS[key] = [torch.load(os.path.join(outdir, f"{r}.pt")) for r in range(WORLD)]
    return _DDP_RESULTS[key]


@pytest.mark.parametrize("mode", ["replicated", "sharded"])
@pytest.mark.parametrize("rule", ["median", "trimmed-mean(f=2)"])
def test_ddp_hook_trains_with_a_nan_and_an_alie_rank(rule, mode):
    res = _ddp_run(rule, mode)
    honest = [res[r]["params"] for r in (0, 1, 2)]
    for p in honest:
        assert torch.isfinite(p).all()
        assert p.numpy().tobytes() == honest[0].numpy().tobytes()  # bitwise identical replicas
    # the model trained: the test loss fell well below its start
    assert res[0]["loss1"] < 0.3 * res[0]["loss0"], (res[0]["loss0"], res[0]["loss1"])


def test_ddp_hook_without_robust_rule_is_broken_by_the_nan_rank():
    # the control: the same run with the mean is destroyed by rank 3's NaN
    res = _ddp_run("mean", "replicated")
    assert not torch.isfinite(res[0]["params"]).all()


@pytest.mark.parametrize("rule", ["median", "trimmed-mean(f=2)"])
def test_ddp_sharded_and_replicated_give_the_same_bits_for_coordinate_wise_rules(rule):
    a = _ddp_run(rule, "replicated")[0]["params"]
    b = _ddp_run(rule, "sharded")[0]["params"]
    assert a.numpy().tobytes() == b.numpy().tobytes()


# --- robust_all_reduce against the single-process aggregate ------------------

SPECS = ["median", "trimmed-mean(f=2)", "meamed(f=1)", "noisy-median(b=0.5, seed=3)", "sign-vote",
         "krum(f=1)", "multi-krum(f=1)", "cge(f=2)", "mda(f=1)", "nnm(f=1, then=median)",
         "geometric-median", "centered-clipping(tau=1, iterations=2)", "caf(f=1)",
         "clip(c=1, then=mean)"]
COORDINATE_WISE = {"median", "trimmed-mean(f=2)", "meamed(f=1)", "noisy-median(b=0.5, seed=3)",
                   "sign-vote"}


def _all_reduce_worker(rank, store, outdir):
    import robustagg
    import robustagg.torch as rt
    _init(rank, store)
    out = {}
    for dtype in (torch.float32, torch.float64):
        for d in (1, 7, 1001):
            rows = torch.from_numpy(np.random.default_rng(d).standard_normal((WORLD, d))).to(dtype)
            rows[1, -1] = float("nan")
            for spec in SPECS:
                for mode in ("replicated", "sharded"):
                    t = rows[rank].clone()
                    rt.robust_all_reduce(t, spec, mode=mode)
                    out[(str(dtype), d, spec, mode)] = t
    # bad configurations: the same robustagg.Error on every rank
    errors = {}
    for name, call in [
        ("f too large", lambda: rt.robust_all_reduce(torch.ones(10), "trimmed-mean(f=3)", mode="sharded")),
        ("different d", lambda: rt.robust_all_reduce(torch.ones(11 if rank == 1 else 10), "median")),
        ("different rules", lambda: rt.robust_all_reduce(torch.ones(10), "mean" if rank == 4 else "median",
                                                         mode="replicated")),
    ]:
        try:
            call()
            errors[name] = ""
        except robustagg.Error as e:
            errors[name] = str(e)
    torch.save({"out": out, "errors": errors}, os.path.join(outdir, f"{rank}.pt"))
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def all_reduce_results():
    outdir = _spawn(_all_reduce_worker)
    return [torch.load(os.path.join(outdir, f"{r}.pt")) for r in range(WORLD)]


def test_robust_all_reduce_matches_the_single_process_aggregate(all_reduce_results):
    import robustagg
    for dtype in (torch.float32, torch.float64):
        for d in (1, 7, 1001):
            rows = torch.from_numpy(np.random.default_rng(d).standard_normal((WORLD, d))).to(dtype)
            rows[1, -1] = float("nan")
            for spec in SPECS:
                want = robustagg.aggregate(rows, spec)
                for mode in ("replicated", "sharded"):
                    got = [all_reduce_results[r]["out"][(str(dtype), d, spec, mode)] for r in range(WORLD)]
                    for g in got:  # every rank holds the same bits
                        assert g.numpy().tobytes() == got[0].numpy().tobytes(), (spec, mode)
                    if mode == "replicated" or spec in COORDINATE_WISE:
                        assert got[0].numpy().tobytes() == want.numpy().tobytes(), (spec, mode, d)
                    else:
                        w = want.numpy()
                        finite = np.abs(w[np.isfinite(w)])
                        scale = float(finite.max()) if finite.size else 1.0
                        np.testing.assert_allclose(got[0].numpy(), w, rtol=0, atol=1e-6 * scale,
                                                   err_msg=f"{spec} {mode} d={d}")


def test_bad_configurations_fail_on_every_rank_with_one_message(all_reduce_results):
    expect = {"f too large": "trimmed-mean(f=3) needs n >= 2f+1 = 7",
              "different d": "rank 0 has d = 10, rank 1 has d = 11",
              "different rules": "rank 4 uses another rule than rank 0"}
    for name, needle in expect.items():
        msgs = [all_reduce_results[r]["errors"][name] for r in range(WORLD)]
        assert needle in msgs[0], msgs[0]
        assert all(m == msgs[0] for m in msgs), msgs


# --- DETOX: the sampler and hook pair ------------------------------------------

def _detox_worker(rank, store, outdir, mode):
    import robustagg.torch as rt
    from torch.nn.parallel import DistributedDataParallel as DDP
    _init_world(rank, store, 9)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    ddp = DDP(model)
    # 3 groups of 3; rank 2 (group 0) sends NaN, rank 4 (group 1) ALIE: each group keeps a
    # majority, and krum(f=0) needs all 3 winners (a group whose replicas disagreed, e.g.
    # from different batches, would be dropped and the step would raise)
    ddp.register_comm_hook(None, rt.detox_comm_hook(3, outer="krum(f=0)", mode=mode,
                                                    byzantine={2: "nan", 4: "alie"}))
    w_true = torch.linspace(-1, 1, 8)
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(960, 8, generator=gen)
    data = torch.utils.data.TensorDataset(x, (x @ w_true).unsqueeze(1))
    sampler = rt.DetoxSampler(data, r=3, seed=5)
    loader = torch.utils.data.DataLoader(data, batch_size=16, sampler=sampler)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    first = None
    loss0 = torch.nn.functional.mse_loss(model(x[:256]), (x[:256] @ w_true).unsqueeze(1)).item()
    for epoch in range(3):
        sampler.set_epoch(epoch)
        for bx, by in loader:
            if first is None:
                first = bx.clone()
            opt.zero_grad()
            torch.nn.functional.mse_loss(ddp(bx), by).backward()
            opt.step()
    loss1 = torch.nn.functional.mse_loss(model(x[:256]), (x[:256] @ w_true).unsqueeze(1)).item()
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    torch.save({"params": params, "first": first, "loss0": loss0, "loss1": loss1},
               os.path.join(outdir, f"{rank}.pt"))
    dist.destroy_process_group()


def _init_world(rank, store, world):
    import faulthandler
    faulthandler.dump_traceback_later(TIMEOUT - 30, exit=True)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=60))
    torch.set_num_threads(1)


def _spawn_n(fn, world, *args):
    global WORLD
    saved, WORLD = WORLD, world
    try:
        return _spawn(fn, *args)
    finally:
        WORLD = saved


@pytest.mark.parametrize("mode", ["replicated", "sharded"])
def test_detox_sampler_and_hook_train_with_byzantine_group_members(mode):
    outdir = _spawn_n(_detox_worker, 9, mode)
    res = [torch.load(os.path.join(outdir, f"{r}.pt")) for r in range(9)]
    # the sampler: the same batch inside a group, different batches across groups
    for g in range(3):
        for r in range(3 * g, 3 * g + 3):
            assert torch.equal(res[r]["first"], res[3 * g]["first"])
    assert not torch.equal(res[0]["first"], res[3]["first"])
    honest = [res[r]["params"] for r in (0, 1, 3, 5, 6, 7, 8)]
    for p in honest:
        assert torch.isfinite(p).all()
        assert p.numpy().tobytes() == honest[0].numpy().tobytes()
    assert res[0]["loss1"] < 0.3 * res[0]["loss0"], (res[0]["loss0"], res[0]["loss1"])


def test_detox_sampler_without_distributed():
    import robustagg.torch as rt
    parts = [list(rt.DetoxSampler(100, r=3, rank=k, world_size=6, seed=1)) for k in range(6)]
    assert parts[0] == parts[1] == parts[2] and parts[3] == parts[4] == parts[5]
    assert len(parts[0]) == 50 and not set(parts[0]) & set(parts[3])
    with pytest.raises(ValueError):
        rt.DetoxSampler(100, r=2, rank=0, world_size=6)


# --- a rank that dies -----------------------------------------------------------

def _dying_worker(rank, store, outdir):
    import robustagg.torch as rt
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=3,
                            timeout=datetime.timedelta(seconds=20))
    t = torch.ones(1000) * rank
    rt.robust_all_reduce(t, "median", mode="sharded")  # a first step with everyone
    if rank == 2:
        os._exit(0)  # dies without a word
    start = time.time()
    try:
        rt.robust_all_reduce(t, "median", mode="sharded")
        outcome = "returned"
    except Exception as e:  # noqa: BLE001 - whatever torch raises for a lost peer
        outcome = f"raised {type(e).__name__}"
    with open(os.path.join(outdir, f"{rank}.txt"), "w") as f:
        f.write(f"{outcome} after {time.time() - start:.1f} s")


def test_a_rank_that_dies_makes_the_others_raise_not_hang():
    outdir = tempfile.mkdtemp(prefix="robustagg-dist-")
    ctx = mp.start_processes(_dying_worker, args=(os.path.join(outdir, "store"), outdir), nprocs=3,
                             join=False, start_method="spawn")
    deadline = time.time() + 120
    for p in ctx.processes:
        p.join(max(1, deadline - time.time()))
    alive = [p for p in ctx.processes if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "a surviving rank hung"
    for r in (0, 1):
        with open(os.path.join(outdir, f"{r}.txt")) as f:
            text = f.read()
        assert text.startswith("raised"), text
