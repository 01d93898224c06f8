"""The type stubs (robustagg/*.pyi): they parse, name what the modules export,
and list every rule class of the C++ catalogue with its signature."""
import ast
import inspect
import os

import pytest

import robustagg as ra

PKG = os.path.dirname(ra.__file__)
BEGIN = "# --- rule classes (generated from the C++ catalogue; python/tests/test_stubs.py) ---\n"

# Parameter types by spec key; a new key fails test_rule_classes until it is listed here.
TYPES = {"f": "int", "m": "int", "r": "int", "s": "int", "buckets": "int", "trusted": "int",
         "iterations": "int", "seed": "int", "warm_start": "int", "b": "float", "tau": "float",
         "c": "float", "nu": "float", "tolerance": "float", "inner": "_RuleLike", "outer": "_RuleLike",
         "then": "_RuleLike", "start": "str"}


def expected_rule_block():
    lines = [BEGIN]
    for info in ra.rules():
        params = []
        for p in list(inspect.signature(info.cls).parameters.values()):
            t = TYPES[p.name]
            if p.default is inspect.Parameter.empty:
                params.append(f"{p.name}: {t}")
            elif p.default is None:
                params.append(f"{p.name}: Optional[{t}] = ...")
            else:
                params.append(f"{p.name}: {t} = ...")
        lines.append(f"class {info.cls.__name__}(Rule):\n")
        lines.append(f"    def __init__(self{''.join(', ' + p for p in params)}) -> None: ...\n")
    return "".join(lines)


def read(name):
    with open(os.path.join(PKG, name)) as fh:
        return fh.read()


def test_stubs_are_installed_and_parse():
    for name in ("__init__.pyi", "attacks.pyi", "torch.pyi", "_robustagg.pyi", "py.typed"):
        assert os.path.exists(os.path.join(PKG, name)), name
    for name in ("__init__.pyi", "attacks.pyi", "torch.pyi", "_robustagg.pyi"):
        ast.parse(read(name), name)


def test_rule_classes():
    text = read("__init__.pyi")
    assert BEGIN in text
    block = text[text.index(BEGIN):]
    want = expected_rule_block()
    assert block == want, "robustagg/__init__.pyi's rule classes differ from the catalogue; " \
                          "replace the block from its marker to the end with:\n" + want


def names_in(stub):
    tree = ast.parse(stub)
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            out.add(node.target.id)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            out.update(a.asname or a.name for a in node.names)
    return out


def test_every_export_has_a_stub():
    assert set(ra.__all__) <= names_in(read("__init__.pyi"))
    assert set(ra.attacks.__all__) <= names_in(read("attacks.pyi"))
    public = {n for n in dir(ra._robustagg) if not n.startswith("__")} - {"_testing"}
    assert public <= names_in(read("_robustagg.pyi")), public - names_in(read("_robustagg.pyi"))
    torch = pytest.importorskip("torch")  # noqa: F841
    import robustagg.torch as rt
    assert set(rt.__all__) <= names_in(read("torch.pyi"))


def test_stub_signatures_of_the_functions():
    tree = ast.parse(read("__init__.pyi"))
    stub = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name, node in stub.items():
        real = inspect.signature(getattr(ra, name))
        stub_names = [a.arg for a in node.args.args + node.args.kwonlyargs]
        assert stub_names == list(real.parameters), name


MYPY_PROGRAM = '''
import robustagg
from robustagg import attacks

g = [[0.0] * 10 for _ in range(15)]
k: robustagg.Rule = robustagg.Krum(f=2)
cc = robustagg.CenteredClipping(1.0, iterations=3, start="mean", warm_start=1)
r = robustagg.aggregate(g, k, start=None)
agg = robustagg.Aggregator("cge(f=2)")
report = agg.report
st: robustagg.Stage = robustagg.parse_stage("nnm(f=1)")
rows: int = st.rows_out(9)
names = [a.name + a.kind for a in robustagg.attacks()]
known = robustagg.attacks.known() + attacks.known()
spec: str = attacks.parse("alie").spec
label: int = attacks.flip_labels(3)
infos = [i.cls for i in robustagg.rules()]
bad1: int = robustagg.Krum(2)            # line 18: a Krum is not an int
bad2 = robustagg.Krum("two")             # line 19: f is an int
bad3 = robustagg.aggregate(g, 3)         # line 20: a rule is a str or a Rule
'''


def test_a_type_checker_reads_the_stubs(tmp_path):
    """mypy (Debian's python3-mypy) on a program using the API: exactly the three
    deliberate errors. Skipped when mypy is not installed."""
    try:
        import mypy.api
    except ImportError:
        pytest.skip("mypy not installed (Debian: python3-mypy)")
    prog = tmp_path / "uses_robustagg.py"
    prog.write_text(MYPY_PROGRAM)
    # A build tree's package through MYPYPATH; an installed one (site-packages,
    # py.typed) is found by mypy itself, which refuses site-packages in MYPYPATH.
    root = os.path.dirname(PKG)
    installed = os.path.basename(root) in ("site-packages", "dist-packages")
    if not installed:
        os.environ["MYPYPATH"] = root
    try:
        out, err, status = mypy.api.run(["--no-incremental", "--cache-dir", os.devnull,
                                         "--no-error-summary", str(prog)])
    finally:
        os.environ.pop("MYPYPATH", None)
    lines = sorted(line.split(": error:")[0].rsplit(":", 1)[1] for line in out.splitlines() if ": error:" in line)
    assert lines == ["18", "19", "20"], out + err
