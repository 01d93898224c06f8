"""Byzantine attack models (the C++ robustagg::attacks), by spec string.

    >>> robustagg.attacks()                       # the catalogue: AttackInfo per attack
    >>> bad = robustagg.attacks.apply("alie", honest, byzantine=[0, 1])

apply() returns a copy of `honest` (n x d) whose listed rows are replaced by
the attack; the other rows and the input are unchanged. Specs use the rule
grammar: "none", "alie", "alie(z=1.5)", "ipm(eps=0.5)", "reverse(c=100)",
"constant(c=-100)", "gaussian(sigma=10, seed=1)", "nan", "inf", "sign-flip",
"mimic(worker=0)", "optimal-alie(rule=krum(f=2))", "min-max(p=std)", ...;
robustagg.attacks() lists them all with their parameters. "label-flip" is a
data attack: the Byzantine workers train on flipped labels (flip_labels), so
it has no gradient form and apply() refuses it.

This module is callable: robustagg.attacks() is robustagg.attacks.catalog().
"""

import operator as _operator
import sys as _sys
import types as _types
from collections import namedtuple as _namedtuple

from ._robustagg import Attack, alie_z, _attack_catalog, flip_label as _flip_label

__all__ = ["Attack", "AttackInfo", "catalog", "known", "parse", "apply", "alie_z", "flip_labels"]

Attack.__module__ = "robustagg.attacks"

AttackInfo = _namedtuple("AttackInfo", "name parameters kind requirement summary")
AttackInfo.__doc__ = ("One attack of the catalogue: spec name, parameters (key=default), kind "
                      "('gradient' or 'data'), requirement, summary.")
AttackInfo.__module__ = "robustagg.attacks"


def catalog():
    """The C++ attack catalogue (robustagg::attacks::attack_catalog(), as `robustagg attacks`
    lists it): a list of AttackInfo(name, parameters, kind, requirement, summary)."""
    return [AttackInfo(*entry) for entry in _attack_catalog()]


def known():
    """The attack names the parser knows, e.g. ['none', 'alie', 'ipm', ...]."""
    return [a.name for a in catalog()]


def parse(spec):
    """The Attack for a spec string; raises robustagg.Error if malformed or unknown."""
    if isinstance(spec, Attack):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"robustagg.attacks: attack must be a spec string such as 'alie' "
                        f"or an Attack, got {type(spec).__name__}")
    return Attack(spec)


def apply(attack, gradients, byzantine, step=0):
    """A copy of `gradients` (n x d NumPy array or CPU tensor) with the rows listed
    in `byzantine` replaced by the attack; `step` varies the Gaussian draw.
    Returns the input's kind and dtype; the input is not modified. A data
    attack (label-flip) raises robustagg.Error: use flip_labels on the
    Byzantine workers' labels instead."""
    from . import _torch_view
    at = parse(attack)
    g, is_tensor = _torch_view(gradients, "robustagg.attacks.apply: gradients")
    rows = [_operator.index(i) for i in byzantine]
    result = at._apply(g, rows, _operator.index(step))
    return _sys.modules["torch"].from_numpy(result) if is_tensor else result


def flip_labels(labels, classes=10):
    """label-flip: the labels a Byzantine worker trains on, classes - 1 - y.

    labels: an integer NumPy array or torch tensor (or a Python int) of values
    in 0 .. classes - 1. Returns a new array/tensor (or int) of the same kind
    and dtype; raises robustagg.Error for a label out of range.
    """
    classes = _operator.index(classes)
    if isinstance(labels, int):
        return _flip_label(labels, classes)
    torch = _sys.modules.get("torch")
    if torch is not None and isinstance(labels, torch.Tensor):
        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise TypeError(f"robustagg.attacks.flip_labels: labels must be integers, got {labels.dtype}")
        if labels.numel():
            lo, hi = int(labels.min()), int(labels.max())
            _check_range(lo, hi, classes)
        return (classes - 1) - labels
    import numpy as np
    a = np.asarray(labels)
    if a.dtype.kind not in "iu":
        raise TypeError(f"robustagg.attacks.flip_labels: labels must be integers, got {a.dtype}")
    if a.size:
        _check_range(int(a.min()), int(a.max()), classes)
    return (classes - 1 - a).astype(a.dtype, copy=False)


def _check_range(lo, hi, classes):
    for y in (lo, hi):
        if not 0 <= y < classes or classes < 2:
            _flip_label(y, classes)  # raises the C++ message


class _CallableModule(_types.ModuleType):
    """robustagg.attacks() returns the catalogue."""

    def __call__(self):
        return catalog()


_sys.modules[__name__].__class__ = _CallableModule
