"""PyTorch helpers: the workers' model gradients in, the robust gradient out.

    >>> import robustagg, robustagg.torch as rt
    >>> G = rt.stack_gradients(worker_models)            # n x d, one row per worker
    >>> rt.write_gradients(robustagg.aggregate(G, "krum(f=2)"), model)
    >>> optimizer.step()

stack_gradients() writes each worker's parameter gradients, in parameter
order, straight into its row of one n x d tensor (one copy of each value, no
intermediate flat tensor; pass out= to reuse the tensor every step).
write_gradients() writes a d-vector back into each parameter's .grad (one
copy per parameter). float16 and bfloat16 gradients (mixed precision) are
converted to float32 by that same copy: robustagg aggregates float32 or
float64. Gradients already held as one flat 1-D tensor per worker need no
stacking at all: robustagg.aggregate reads a list of them in place.

Distributed training (docs/distributed.md): robust_all_reduce(tensor, rule,
mode=...) replaces torch.distributed.all_reduce with a robust rule, and
comm_hook(rule, mode=...) is a DDP communication hook doing the same for
every gradient bucket:

    >>> ddp.register_comm_hook(None, rt.comm_hook("trimmed-mean(f=2)", mode="sharded"))

This module imports torch; the rest of robustagg does not.
"""

import torch as _torch

__all__ = ["gradients_of", "gradient_size", "stack_gradients", "write_gradients",
           "robust_all_reduce", "comm_hook", "shard_range", "DetoxSampler", "detox_comm_hook"]

_FLOATS = (_torch.float16, _torch.bfloat16, _torch.float32, _torch.float64)


def _params(target, who):
    """The parameters of a module (those with requires_grad), or the given ones."""
    if isinstance(target, _torch.nn.Module):
        return [p for p in target.parameters() if p.requires_grad]
    if isinstance(target, _torch.Tensor):
        raise TypeError(f"{who}: expected a torch.nn.Module or a list of parameters/gradients, "
                        f"got one tensor (wrap it in a list)")
    try:
        return list(target)
    except TypeError:
        raise TypeError(f"{who}: expected a torch.nn.Module or a list of parameters/gradients, "
                        f"got {type(target).__name__}") from None


def gradients_of(worker):
    """One worker's gradients, in order: for a torch.nn.Module, the .grad of each
    parameter that requires grad; for a list, each Parameter's .grad and each
    other tensor itself (a gradient). A parameter whose .grad is None (unused in
    the step) gives None, which stack_gradients reads as zeros."""
    out = []
    for k, p in enumerate(_params(worker, "robustagg.torch.gradients_of")):
        if isinstance(p, _torch.nn.Parameter):
            out.append(p.grad)
        elif isinstance(p, _torch.Tensor):
            out.append(p)
        else:
            raise TypeError(f"robustagg.torch.gradients_of: item {k} is {type(p).__name__}, "
                            f"not a tensor or a Parameter")
    return out


def _sizes(worker):
    """(numel per entry, gradients) of one worker; None gradients of parameters count p.numel()."""
    params = _params(worker, "robustagg.torch.stack_gradients")
    grads = gradients_of(worker)
    sizes = [(p.numel() if g is None else g.numel()) for p, g in zip(params, grads)]
    return sizes, grads


def gradient_size(worker):
    """d: the number of gradient values of one worker (a module or a list)."""
    return sum(_sizes(worker)[0])


def stack_gradients(workers, out=None, dtype=None):
    """The n workers' gradients as one n x d tensor, row i = worker i's gradients
    flattened in parameter order (torch.nn.utils.parameters_to_vector's order).

    workers: a list of n torch.nn.Module (their parameters that require grad)
        or of n lists of Parameters (their .grad) / gradient tensors. Every
        worker must have the same sizes in the same order.
    out: optional CPU tensor of shape (n, d), float32 or float64, written and
        returned (reuse it every step: nothing is allocated).
    dtype: the result's dtype without out=: torch.float32 or torch.float64;
        default float64 when any gradient is float64, else float32 (float16 and
        bfloat16 gradients are converted by the one copy).

    A None gradient (a parameter unused in the step) is written as zeros.
    Gradients on another device are copied to the CPU row.
    """
    who = "robustagg.torch.stack_gradients"
    workers = list(workers)
    if not workers:
        raise ValueError(f"{who}: workers is empty; needs at least one worker")
    layouts = [_sizes(w) for w in workers]
    sizes0 = layouts[0][0]
    for i, (sizes, _) in enumerate(layouts[1:], start=1):
        if sizes != sizes0:
            k = next((k for k, (a, b) in enumerate(zip(sizes, sizes0)) if a != b), min(len(sizes), len(sizes0)))
            raise ValueError(f"{who}: worker {i} has {len(sizes)} gradients of {sum(sizes)} values, worker 0 "
                             f"{len(sizes0)} of {sum(sizes0)} (first difference at gradient {k}): every "
                             f"worker needs the same model")
    for i, (_, grads) in enumerate(layouts):
        for k, g in enumerate(grads):
            if g is not None and g.dtype not in _FLOATS:
                raise TypeError(f"{who}: worker {i} gradient {k} is {g.dtype}; gradients must be "
                                f"float16, bfloat16, float32 or float64")
            if g is not None and g.layout != _torch.strided:
                raise TypeError(f"{who}: worker {i} gradient {k} is a {g.layout} tensor; needs dense gradients")
    n, d = len(workers), sum(sizes0)
    if out is None:
        if dtype is None:
            any64 = any(g is not None and g.dtype == _torch.float64 for _, gs in layouts for g in gs)
            dtype = _torch.float64 if any64 else _torch.float32
        if dtype not in (_torch.float32, _torch.float64):
            raise TypeError(f"{who}: dtype must be torch.float32 or torch.float64, got {dtype}")
        out = _torch.empty((n, d), dtype=dtype)
    else:
        if not isinstance(out, _torch.Tensor):
            raise TypeError(f"{who}: out must be a torch.Tensor, got {type(out).__name__}")
        if tuple(out.shape) != (n, d):
            raise ValueError(f"{who}: out must have shape (n, d) = ({n}, {d}), got {tuple(out.shape)}")
        if out.dtype not in (_torch.float32, _torch.float64) or out.device.type != "cpu":
            raise TypeError(f"{who}: out must be a float32 or float64 CPU tensor, got {out.dtype} on {out.device}")
        if dtype is not None and dtype != out.dtype:
            raise TypeError(f"{who}: dtype {dtype} differs from out's {out.dtype}")
    with _torch.no_grad():
        for i, (sizes, grads) in enumerate(layouts):
            row = out[i]
            at = 0
            for k, g in zip(sizes, grads):
                if g is None:
                    row[at:at + k].zero_()
                else:
                    row[at:at + k].copy_(g.reshape(-1))
                at += k
    return out


def write_gradients(vector, target):
    """Writes a d-vector into .grad of the parameters of `target`, in order.

    vector: a 1-D tensor (or NumPy array) of d values, e.g. robustagg.aggregate's
        result; converted to each parameter's dtype and device by the copy.
    target: a torch.nn.Module (its parameters that require grad), a list of
        Parameters, or a list of modules / parameter lists, each of which gets
        the same gradient (e.g. every simulated worker's model copy).

    A parameter whose .grad is None gets a new tensor; otherwise .grad is
    overwritten in place (not accumulated).
    """
    who = "robustagg.torch.write_gradients"
    if not isinstance(vector, _torch.Tensor):
        import numpy as np
        vector = _torch.from_numpy(np.asarray(vector))
    if vector.dim() != 1:
        raise ValueError(f"{who}: vector must be 1-D (d values), got shape {tuple(vector.shape)}")
    targets = [target]
    if not isinstance(target, _torch.nn.Module):
        items = _params(target, who)
        if items and all(isinstance(t, (_torch.nn.Module, list, tuple)) for t in items):
            targets = items
    for t in targets:
        params = _params(t, who)
        for k, p in enumerate(params):
            if not isinstance(p, _torch.Tensor):
                raise TypeError(f"{who}: item {k} is {type(p).__name__}, not a parameter")
        d = sum(p.numel() for p in params)
        if d != vector.numel():
            raise ValueError(f"{who}: vector has {vector.numel()} values, the parameters {d}")
        with _torch.no_grad():
            at = 0
            for p in params:
                k = p.numel()
                piece = vector[at:at + k].view(p.shape)
                if p.grad is None:
                    p.grad = piece.to(dtype=p.dtype, device=p.device, copy=True)
                else:
                    p.grad.copy_(piece)
                at += k


# --- Distributed: robust all-reduce and the DDP communication hook ---------

_MODES = ("replicated", "sharded")

# The tensors of the latest call's collectives, kept referenced until the next
# call. A gloo work item holds its tensors until its worker thread frees it;
# if that thread dropped the last reference to a tensor created in Python, it
# would need the GIL, and at teardown (the process group's destructor joins
# that thread while holding the GIL) the two threads deadlock (torch 1.13;
# seen once in 5 DDP runs before this). Holding them here keeps that last
# reference on the Python side.
_held = []


def _hold(*tensors):
    _held.extend(tensors)


def shard_range(d, parts, k):
    """The columns [begin, end) of d that shard k of `parts` owns (contiguous,
    sizes differing by at most one, the first d % parts one larger): the C++
    robustagg::shard_range."""
    base, extra = divmod(d, parts)
    begin = k * base + min(k, extra)
    return begin, begin + base + (1 if k < extra else 0)


def _dist():
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("robustagg.torch: torch.distributed is not initialised "
                           "(call torch.distributed.init_process_group first)")
    return dist


def _spec_hash(spec):
    h = 1469598103934665603
    for c in spec.encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h >> 1  # fits an int64


def _agree(dist, group, n, d, flat, rule, mode):
    """The same robustagg.Error on every rank when the ranks disagree (d, dtype,
    mode, rule) or the rule refuses n x d: one small all_gather, before any
    large transfer."""
    from . import Error
    why = ""
    try:
        rule.validate(n, d)
        valid = 1
    except Error as e:
        valid, why = 0, str(e)
    header = _torch.tensor([d, flat.element_size(), _MODES.index(mode), _spec_hash(rule.spec), valid],
                           dtype=_torch.int64)
    parts = [_torch.empty_like(header) for _ in range(n)]
    _hold(header, *parts)
    dist.all_gather(parts, header, group=group)
    who = "robustagg.torch.robust_all_reduce"
    first = parts[0].tolist()
    for r in range(1, n):
        h = parts[r].tolist()
        if h[0] != first[0]:
            raise Error(f"{who}: ranks hold gradients of different lengths: rank 0 has d = {first[0]}, "
                        f"rank {r} has d = {h[0]}")
        if h[1] != first[1]:
            raise Error(f"{who}: ranks use different dtypes (float32 and float64)")
        if h[2] != first[2]:
            raise Error(f"{who}: ranks use different modes")
        if h[3] != first[3]:
            raise Error(f"{who}: rank {r} uses another rule than rank 0")
    if any(p[4].item() == 0 for p in parts):
        raise Error(f"{who}({rule.spec}, {mode}) with one gradient per rank ({n} ranks): {why}")


def _ordered_reduce(dist, group, n):
    """aggregate_sharded's reduce: all_gather the partial statistics and add
    (or take the max) in rank order, so every rank gets the same bits."""
    def reduce(values, op):
        t = _torch.from_numpy(values).clone()  # values: the C++ buffer, written below
        parts = [_torch.empty_like(t) for _ in range(n)]
        _hold(t, *parts)
        dist.all_gather(parts, t, group=group)
        acc = parts[0].clone()
        for p in parts[1:]:
            if op == "sum":
                acc += p
            else:
                _torch.maximum(acc, p, out=acc)
        values[:] = acc.numpy()
    return reduce


def _byzantine_rows(dist, group, n, rank, flat, byzantine, step):
    """A simulation of Byzantine ranks: every rank all-gathers the honest
    gradients (an omniscient adversary) and each Byzantine rank replaces its
    own gradient with its attack (robustagg.attacks.apply; ranks with the same
    attack spec collude). Returns the gradient this rank sends."""
    from . import attacks
    for r in byzantine:
        if not 0 <= int(r) < n:
            raise ValueError(f"robustagg.torch: Byzantine rank {r} is not in 0 .. {n - 1}")
    parts = [_torch.empty_like(flat) for _ in range(n)]
    _hold(flat, *parts)
    dist.all_gather(parts, flat, group=group)
    if rank not in byzantine:
        return flat
    spec = byzantine[rank]
    same = sorted(int(r) for r, s in byzantine.items() if s == spec)
    G = _torch.stack(parts)
    return attacks.apply(spec, G, same, step=step)[rank].clone()


def robust_all_reduce(tensor, rule, mode="sharded", group=None, byzantine=None, step=0):
    """Replaces `tensor` (a CPU float32/float64 tensor, one worker's gradient
    per rank; any shape, read as its flat values) in place by the robust
    aggregate of all ranks' tensors under `rule`, and returns it. Collective:
    every rank of `group` (default: the world) calls it with the same rule,
    mode and size.

    mode "replicated": all_gather of the n tensors, every rank aggregates the
        n x d matrix (n x the bandwidth of an all-reduce; any rule).
    mode "sharded": all_to_all_single gives rank k its columns shard_range(d,
        n, k) of every rank's tensor, the rank aggregates that shard with the
        two-phase form (statistics all-gathered and summed in rank order),
        all_gather returns the shards. Bitwise the replicated result for
        coordinate-wise rules; the same selected rows for the others.
    byzantine: None, or {rank: attack spec} (robustagg.attacks), a simulation:
        those ranks send the attack computed from all honest tensors instead
        of their own (`step` varies random attacks).

    Raises robustagg.Error, the same message on every rank, when the ranks
    disagree on the size, dtype, mode or rule, or the rule refuses n rows
    (e.g. trimmed-mean(f=3) on 5 ranks); checked by one small all_gather
    before any large transfer.
    """
    from . import _as_rule, _robustagg
    dist = _dist()
    if mode not in _MODES:
        raise ValueError(f"robustagg.torch.robust_all_reduce: mode must be 'replicated' or 'sharded', "
                         f"got {mode!r}")
    if not isinstance(tensor, _torch.Tensor) or tensor.device.type != "cpu" or \
            tensor.dtype not in (_torch.float32, _torch.float64):
        raise TypeError("robustagg.torch.robust_all_reduce: tensor must be a CPU float32 or float64 tensor")
    r = _as_rule(rule, "robustagg.torch.robust_all_reduce")
    n = dist.get_world_size(group)
    rank = dist.get_rank(group)
    flat = tensor.detach().reshape(-1)
    if not flat.is_contiguous() or flat.data_ptr() != tensor.data_ptr():
        flat = flat.contiguous()
    d = flat.numel()
    _held.clear()  # the previous call's collectives are complete
    _agree(dist, group, n, d, flat, r, mode)
    send = flat
    if byzantine:
        send = _byzantine_rows(dist, group, n, rank, flat, dict(byzantine), step)
    if mode == "replicated":
        parts = [_torch.empty_like(send) for _ in range(n)]
        _hold(send, *parts)
        dist.all_gather(parts, send, group=group)
        result = _torch.from_numpy(_robustagg._aggregate(_torch.stack(parts).numpy(), r, None, None))
    else:
        ranges = [shard_range(d, n, k) for k in range(n)]
        begin, end = ranges[rank]
        length = end - begin
        recv = _torch.empty(n * length, dtype=send.dtype)
        send = send.contiguous()
        _hold(recv, send)
        dist.all_to_all_single(recv, send, output_split_sizes=[length] * n,
                               input_split_sizes=[e - b for b, e in ranges], group=group)
        piece = _robustagg._aggregate_sharded(recv.view(n, length).numpy(), r, begin, d,
                                              _ordered_reduce(dist, group, n))
        width = -(-d // n)  # all_gather needs equal sizes: pad every shard to ceil(d / n)
        padded = _torch.zeros(width, dtype=send.dtype)
        padded[:length] = _torch.from_numpy(piece)
        parts = [_torch.empty_like(padded) for _ in range(n)]
        _hold(padded, *parts)
        dist.all_gather(parts, padded, group=group)
        result = _torch.cat([parts[k][:e - b] for k, (b, e) in enumerate(ranges)])
    with _torch.no_grad():
        tensor.copy_(result.view_as(tensor))
    return tensor


def comm_hook(rule, mode="replicated", byzantine=None, group=None):
    """A DDP communication hook: ddp.register_comm_hook(None, comm_hook(rule,
    mode)). Each gradient bucket is replaced by the robust aggregate of the
    ranks' buckets (robust_all_reduce with the same mode and byzantine
    simulation; the hook's state argument is unused). The aggregate takes the
    place of DDP's average: do not divide it by the world size.

    Every rank must register the same rule and mode; a rank whose gradients
    carry a NaN then changes nothing beyond what the rule tolerates, and all
    replicas (Byzantine ones included) receive the same aggregate.
    """
    from . import _as_rule
    r = _as_rule(rule, "robustagg.torch.comm_hook")
    if mode not in _MODES:
        raise ValueError(f"robustagg.torch.comm_hook: mode must be 'replicated' or 'sharded', got {mode!r}")
    calls = [0]

    def hook(state, bucket):
        buf = bucket.buffer()
        robust_all_reduce(buf, r, mode=mode, group=group, byzantine=byzantine, step=calls[0])
        calls[0] += 1
        fut = _torch.futures.Future()
        fut.set_result(buf)
        return fut

    hook.rule, hook.mode = r, mode
    return hook


# --- DETOX for DDP: a sampler and a hook --------------------------------------

class DetoxSampler(_torch.utils.data.Sampler):
    """Dataset indices for one rank of a DETOX job. The ranks form groups of r
    consecutive ranks (group k: ranks k*r .. k*r+r-1, as DETOX's vote reads
    the rows); the r ranks of a group get the same indices in the same order,
    so their replicas compute the same gradient (bitwise on CPU with the same
    thread count), and the world_size / r groups get disjoint parts of a
    permutation drawn from (seed, epoch). Call set_epoch(e) every epoch.

    dataset: a sized dataset (or its length). rank, world_size: default the
    torch.distributed ones. Each group gets len(dataset) // groups indices.
    """

    def __init__(self, dataset, r, rank=None, world_size=None, seed=0, shuffle=True):
        n = dataset if isinstance(dataset, int) else len(dataset)
        if rank is None or world_size is None:
            dist = _dist()
            rank = dist.get_rank() if rank is None else rank
            world_size = dist.get_world_size() if world_size is None else world_size
        if r < 1 or r % 2 == 0 or world_size % r:
            raise ValueError(f"robustagg.torch.DetoxSampler: r must be odd and divide the world size "
                             f"{world_size}, got r = {r}")
        self.n, self.r, self.rank, self.world = n, r, rank, world_size
        self.groups = world_size // r
        self.group = rank // r
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.n // self.groups

    def __iter__(self):
        if self.shuffle:
            g = _torch.Generator().manual_seed(self.seed * 1000003 + self.epoch)
            order = _torch.randperm(self.n, generator=g)
        else:
            order = _torch.arange(self.n)
        return iter(order[self.group::self.groups][:len(self)].tolist())


def detox_comm_hook(r, outer="median", mode="replicated", byzantine=None, group=None, **detox):
    """comm_hook for DETOX (the pair of DetoxSampler): the vote among the r
    ranks of each group, then `outer` across the winners (further detox
    parameters, e.g. buckets=2, inner='mean', as keyword arguments)."""
    from . import parse_rule
    args = "".join(f", {k}={v}" for k, v in detox.items())
    return comm_hook(parse_rule(f"detox(r={r}, outer={outer}{args})"), mode=mode,
                     byzantine=byzantine, group=group)
