"""Byzantine attack models (the C++ robustagg::attacks), by spec string.

    >>> bad = robustagg.attacks.apply("alie", honest, byzantine=[0, 1])

returns a copy of `honest` (n x d) whose listed rows are replaced by the
attack; the other rows and the input are unchanged. Specs use the rule
grammar: "none", "alie", "alie(z=1.5)", "ipm", "ipm(eps=0.5)", "reverse",
"reverse(c=100)", "constant(c=-100)", "gaussian(sigma=10, seed=1)", "nan",
"inf" (known() lists the names the C++ parser knows).
"""

import operator as _operator
import sys as _sys

from ._robustagg import Attack, alie_z, _known_attacks

__all__ = ["Attack", "apply", "parse", "known", "alie_z"]


def known():
    """The attack names the C++ parser knows, e.g. ['none', 'alie', 'ipm', ...]."""
    return [s.strip() for s in _known_attacks().split(",") if s.strip()]


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
    Returns the input's kind and dtype; the input is not modified."""
    from . import _torch_view
    at = parse(attack)
    g, is_tensor = _torch_view(gradients, "robustagg.attacks.apply: gradients")
    rows = [_operator.index(i) for i in byzantine]
    result = at._apply(g, rows, _operator.index(step))
    return _sys.modules["torch"].from_numpy(result) if is_tensor else result
