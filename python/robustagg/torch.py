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

This module imports torch; the rest of robustagg does not.
"""

import torch as _torch

__all__ = ["gradients_of", "gradient_size", "stack_gradients", "write_gradients"]

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
