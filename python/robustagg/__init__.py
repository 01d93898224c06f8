"""robustagg: Byzantine-robust gradient aggregation for NumPy and PyTorch.

A thin layer over the C++ library (the compiled ``robustagg._robustagg``):

    >>> import numpy as np, robustagg
    >>> g = np.random.default_rng(0).normal(size=(15, 1000)).astype(np.float32)
    >>> robustagg.aggregate(g, "bulyan(f=3)").shape
    (1000,)

Rules are spec strings ("multi-krum(f=2, m=8)") or rule objects
(``robustagg.MultiKrum(2, m=8)``); the rule classes are generated from the C++
rule catalogue (``robustagg.rules()``), so every rule the C++ side knows is
here. Inputs are read in place when their rows are contiguous, never
modified, never converted to another dtype; the GIL is released while a rule
runs. robustagg.apply_stage gives a stage's own output matrix,
robustagg.attacks() the attack catalogue, robustagg.torch the model-gradient
helpers for PyTorch. See docs/python.md.
"""

import inspect as _inspect
import numbers as _numbers
import operator as _operator
import re as _re
import sys as _sys
from collections import namedtuple as _namedtuple

from . import _robustagg
from ._robustagg import (Error, Rule, Stage, num_threads, set_num_threads, simd_arch, simd_archs,
                         set_simd_arch, set_cached_workspace_limit, cached_workspace_limit,
                         release_cached_workspace)

__version__ = _robustagg.__version__
Error.__module__ = "robustagg"
Rule.__module__ = "robustagg"
Stage.__module__ = "robustagg"

__all__ = ["Error", "Rule", "RuleInfo", "Stage", "Aggregator", "aggregate", "apply_stage", "parse_rule",
           "parse_stage", "rules", "rules_text", "perturb", "set_num_threads", "num_threads", "simd_arch",
           "simd_archs", "set_simd_arch", "set_cached_workspace_limit", "cached_workspace_limit",
           "release_cached_workspace", "attacks", "__version__"]

_GRADIENTS_NEEDED = ("a 2-D float32/float64 numpy array (n x d), a CPU torch.Tensor or a "
                     "list/tuple of n 1-D arrays/tensors of length d")


def _torch_view(x, what):
    """A NumPy view sharing a CPU tensor's memory (x itself when not a tensor).

    Returns (array_or_x, is_tensor). torch is looked up in sys.modules only: a
    tensor can exist only once torch is imported, and robustagg never imports it.
    """
    torch = _sys.modules.get("torch")
    if torch is None or not isinstance(x, torch.Tensor):
        return x, False
    if x.device.type != "cpu":
        raise TypeError(f"{what} is a tensor on {x.device}; robustagg needs CPU tensors "
                        f"(move it with .cpu())")
    if x.layout != torch.strided:
        raise TypeError(f"{what} is a {x.layout} tensor; robustagg needs a dense "
                        f"(torch.strided) tensor")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{what} must be float32 or float64, got {x.dtype} (convert "
                        f"explicitly, e.g. .float(); robustagg never converts)")
    return x.detach().numpy(), True


def _gradients_view(gradients, who):
    if isinstance(gradients, (list, tuple)):
        rows, kinds = [], []
        for i, row in enumerate(gradients):
            a, t = _torch_view(row, f"{who}: gradients[{i}]")
            rows.append(a)
            kinds.append(t)
        return rows, bool(kinds and kinds[0])
    return _torch_view(gradients, f"{who}: gradients")


def _class_given(value, where, kind="rule"):
    """The TypeError for a rule (or stage) class passed where an object is expected;
    where: "robustagg.aggregate: rule". None when value is not such a class."""
    if isinstance(value, type) and issubclass(value, (Rule, Stage)):
        name = value.__name__
        sig = _inspect.signature(value) if value not in (Rule, Stage) else "(spec)"
        return TypeError(f"{where} is the class robustagg.{name}, not a {kind} object; "
                         f"create one, e.g. robustagg.{name}{sig} with its parameters")
    return None


def _as_rule(rule, who):
    if isinstance(rule, Rule):
        return rule
    if isinstance(rule, str):
        return parse_rule(rule)
    err = _class_given(rule, f"{who}: rule")
    if err is not None:
        raise err
    raise TypeError(f"{who}: rule must be a spec string such as 'krum(f=2)' or a rule object "
                    f"such as robustagg.Krum(2), got {type(rule).__name__}")


def _run(call, gradients, out, who, start=None):
    g, is_tensor = _gradients_view(gradients, who)
    s = None if start is None else _torch_view(start, f"{who}: start")[0]
    if out is None:
        result = call(g, None, s)
        if is_tensor:
            return _sys.modules["torch"].from_numpy(result)
        return result
    o, _ = _torch_view(out, f"{who}: out")
    call(g, o, s)
    return out


def aggregate(gradients, rule, out=None, *, start=None):
    """Aggregates n gradients of d values into one with a robust rule.

    gradients: a 2-D NumPy array (n x d, float32 or float64, one row per
        worker), a CPU torch.Tensor of the same, or a list/tuple of n 1-D
        arrays/tensors of length d (read through row pointers, no stacking).
        Read in place when its strides are positive (C or Fortran order,
        x[::2], x[:, :k], x.T of a d x n array, t.t()); other layouts are
        copied once. Never modified. Every layout gives the same bits.
    rule: a spec string ("bulyan(f=2)", see robustagg.rules()) or a rule
        object (robustagg.Bulyan(2), robustagg.parse_rule(...)).
    out: optional 1-D contiguous writeable array/tensor of length d and the
        gradients' dtype, written and returned.
    start: for centered-clipping only, the start vector v_0 (1-D, length d,
        the gradients' dtype, finite), e.g. the previous step's aggregate;
        without it the rule starts from its start= option (median, mean or
        zero).

    Returns a 1-D array of length d of the input's kind (NumPy or torch) and
    dtype. The GIL is released while the rule runs. The rule's scratch memory
    is cached per calling thread (as robustagg::aggregate's value form in
    C++: at most cached_workspace_limit() bytes are kept, 1 GiB by default;
    release_cached_workspace() frees it), so a repeated call of the same
    shape costs what a reused Aggregator costs plus its output.

    Raises robustagg.Error (a ValueError) with the C++ message when the rule
    cannot aggregate these gradients (e.g. "bulyan(f=3) needs n >= 4f+3 = 15
    gradients, got 12") or the spec is malformed; TypeError/ValueError for
    inputs of the wrong kind, dtype, rank, device or shape.
    """
    r = _as_rule(rule, "robustagg.aggregate")
    return _run(lambda g, o, s: _robustagg._aggregate(g, r, o, s), gradients, out,
                "robustagg.aggregate", start)


class Aggregator:
    """A rule with its own workspace, for training loops.

    agg = robustagg.Aggregator("detox(r=3, outer=median)"); agg(gradients)
    aggregates like robustagg.aggregate(gradients, rule, out) but reuses its
    scratch memory: after the first call for a shape the C++ side allocates
    nothing. agg.report is the stage report of the last call, a list of
    (stage, detail) pairs (DETOX's vote and buckets; empty for single-step
    rules). Calls from several threads on one Aggregator are safe and run
    one at a time; use one Aggregator per thread to run them in parallel.
    """

    def __init__(self, rule):
        self.rule = _as_rule(rule, "robustagg.Aggregator")
        self._impl = _robustagg._Aggregator(self.rule)

    def __call__(self, gradients, out=None, *, start=None):
        """Aggregates gradients (see robustagg.aggregate) into out or a new array;
        start: centered-clipping's start vector for this call."""
        return _run(self._impl, gradients, out, "robustagg.Aggregator", start)

    @property
    def report(self):
        """The stages of the last call: a list of (stage, detail) pairs."""
        return self._impl.report

    @property
    def workspace_bytes(self):
        """Bytes of scratch memory the workspace holds."""
        return self._impl.workspace_bytes

    def __repr__(self):
        return f"Aggregator({self.rule.spec!r})"


def perturb(gradient, b, seed, worker):
    """The worker-side noise of noisy-median / noisy-sign-vote.

    Returns gradient + b * xi (a new 1-D array/tensor of the same kind and
    dtype), xi ~ N(0, 1) per coordinate from the counter-based generator keyed
    by (seed, worker, coordinate), bitwise as the C++ robustagg::perturb. So
    the median of perturb(g[i], b, seed, i) over i equals
    aggregate(g, NoisyMedian(b, seed)).
    """
    g, is_tensor = _torch_view(gradient, "robustagg.perturb: gradient")
    result = _robustagg.perturb(g, b, _operator.index(seed), _operator.index(worker))
    return _sys.modules["torch"].from_numpy(result) if is_tensor else result


# ---- rules, generated from the C++ catalogue ---------------------------------

RuleInfo = _namedtuple("RuleInfo", "name parameters requirement summary cls")
RuleInfo.__doc__ = "One catalogue entry: spec name, parameters, requirement, summary, class."

_NO_DEFAULT = object()
_classes = {}  # spec name -> generated class
_catalog = []


def _camel(name):
    return "".join(p[:1].upper() + p[1:] for p in _re.split(r"[-_]", name) if p)


def _parse_parameters(text):
    """'f, m=0' -> [('f', _NO_DEFAULT), ('m', '0')]."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, default = item.partition("=")
        out.append((key.strip(), default.strip() if eq else _NO_DEFAULT))
    return out


def _default_value(text):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text  # a nested rule spec such as "mean"


_WORD = _re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


def _value_text(rule_name, key, v):
    if isinstance(v, bool):
        raise TypeError(f"{rule_name}: {key} must be a number or a rule, got bool")
    if isinstance(v, _numbers.Integral):
        return str(int(v))
    if isinstance(v, _numbers.Real):
        return repr(float(v))
    if isinstance(v, Rule):
        return v.spec
    if isinstance(v, str):
        # a name (a rule without parameters, or a word such as start='mean'):
        # as written, for the C++ parser to check; else a nested rule spec
        return v if _WORD.match(v) else parse_rule(v).spec
    err = _class_given(v, f"robustagg.{_camel(rule_name)}: {key}")
    if err is not None:
        raise err
    raise TypeError(f"{rule_name}: {key} must be a number, a rule object or a rule spec "
                    f"string, got {type(v).__name__}")


def _make_rule_class(name, parameters, requirement, summary):
    cls_name = _camel(name)
    params = [_inspect.Parameter("self", _inspect.Parameter.POSITIONAL_ONLY)]
    seen_default = False
    for key, default in _parse_parameters(parameters):
        if default is _NO_DEFAULT:
            # A parameter listed without a default after ones with defaults
            # is optional in the spec (the C++ default applies): None.
            value = None if seen_default else _inspect.Parameter.empty
        else:
            seen_default = True
            value = _default_value(default)
        # spec keys with '-' ("warm-start") are Python names with '_' (warm_start)
        params.append(_inspect.Parameter(key.replace("-", "_"), _inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                         default=value))
    signature = _inspect.Signature(params)

    def spec_of(args, kwargs):
        try:
            bound = signature.bind(None, *args, **kwargs)
        except TypeError as e:
            raise TypeError(f"robustagg.{cls_name}: {e}") from None
        parts = [f"{k.replace('_', '-')}={_value_text(name, k, v)}" for k, v in bound.arguments.items()
                 if k != "self" and v is not None]
        spec = name + (f"({', '.join(parts)})" if parts else "")
        Rule(spec)  # parsed first: an error leaves no half-built object behind
        return spec

    def __init__(self, *args, **kwargs):
        try:
            spec = spec_of(args, kwargs)
        except BaseException:
            # The object is not initialised: drop it from this frame, so no
            # traceback printer ever calls a method on it.
            del self
            raise
        Rule.__init__(self, spec)

    __init__.__signature__ = signature
    head = f"{name}({parameters})" if parameters else name
    doc = (f"{cls_name}({parameters}): the rule '{head}'.\n\n{summary[:1].upper()}{summary[1:]}."
           f"\nRequires {requirement}.\n\nArguments map to the spec's key=value parameters "
           f"(nested rules as rule objects or spec strings); .spec is the canonical spec.")
    __init__.__doc__ = doc
    cls = type(cls_name, (Rule,), {"__init__": __init__, "__doc__": doc, "__module__": __name__,
                                   "__qualname__": cls_name, "name": name,
                                   "parameters": parameters, "requirement": requirement,
                                   "summary": summary})
    return cls


def _rule_reduce(self):
    return (parse_rule, (self.spec,))


Rule.__reduce__ = _rule_reduce

for _name, _parameters, _requirement, _summary in _robustagg._catalog():
    _cls = _make_rule_class(_name, _parameters, _requirement, _summary)
    _classes[_name] = _cls
    _catalog.append(RuleInfo(_name, _parameters, _requirement, _summary, _cls))
    globals()[_cls.__name__] = _cls
    __all__.append(_cls.__name__)
del _name, _parameters, _requirement, _summary, _cls


def parse_rule(spec):
    """The rule object for a spec string such as "multi-krum(f=2, m=8)".

    Returns an instance of the generated class (robustagg.MultiKrum here);
    raises robustagg.Error with the C++ message on a malformed spec.
    """
    if not isinstance(spec, str):
        raise TypeError(f"robustagg.parse_rule: spec must be a str, got {type(spec).__name__}")
    r = Rule(spec)
    canonical = r.spec
    cls = _classes.get(_re.match(r"[A-Za-z0-9_-]*", canonical).group(0))
    if cls is None:
        return r
    obj = cls.__new__(cls)
    Rule.__init__(obj, canonical)
    return obj


def rules():
    """The C++ rule catalogue: a list of RuleInfo(name, parameters, requirement, summary, cls),
    as `robustagg rules` (the CLI) prints it."""
    return list(_catalog)


def rules_text():
    """The catalogue as the CLI's `robustagg rules` lists it (without its header)."""
    lines = []
    for r in _catalog:
        lines.append(f"  {r.name}({r.parameters})" if r.parameters else f"  {r.name}")
        lines.append(f"      {r.summary}")
        lines.append(f"      requires {r.requirement}")
    return "\n".join(lines)


def parse_stage(spec):
    """The stage for a spec without then=, e.g. "nnm(f=2)" (clip, nnm, arc,
    bucketing; see robustagg.rules()). Raises robustagg.Error with the C++
    message on a rule, a then= or a malformed spec."""
    if not isinstance(spec, str):
        raise TypeError(f"robustagg.parse_stage: spec must be a str, got {type(spec).__name__}")
    return Stage(spec)


def apply_stage(gradients, stage):
    """The matrix a stage outputs: its own output, without a rule after it.

    gradients: as for robustagg.aggregate (2-D NumPy array or CPU tensor, or a
        list/tuple of 1-D rows), read in place when the rows are contiguous.
    stage: a spec string without then= ("nnm(f=2)", "clip(c=1)", "arc(f=1)",
        "bucketing(s=2, seed=3)") or a robustagg.Stage.

    Returns a new 2-D array of the input's kind and dtype: n x d for clip, nnm
    and arc, ceil(n/s) x d for bucketing. Raises robustagg.Error when the
    stage cannot take these rows (e.g. "nnm(f=3) needs n >= 2f+1 = 7
    gradients, got 5").
    """
    who = "robustagg.apply_stage"
    if isinstance(stage, str):
        stage = parse_stage(stage)
    elif not isinstance(stage, Stage):
        err = _class_given(stage, f"{who}: stage", "stage")
        raise err if err is not None else TypeError(
            f"{who}: stage must be a spec string such as 'nnm(f=2)' or a robustagg.Stage, "
            f"got {type(stage).__name__}")
    g, is_tensor = _gradients_view(gradients, who)
    result, _report = _robustagg._apply_stage(g, stage)
    return _sys.modules["torch"].from_numpy(result) if is_tensor else result


from . import attacks  # noqa: E402  (needs the helpers above)
