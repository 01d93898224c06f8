# Type stubs of robustagg.attacks (attacks.py). The module is callable:
# robustagg.attacks() is catalog() (see robustagg/__init__.pyi).
from typing import Any, List, NamedTuple, Sequence, TypeVar, Union, overload

from ._robustagg import Attack as Attack
from ._robustagg import alie_z as alie_z

_G = TypeVar("_G")

class AttackInfo(NamedTuple):
    name: str
    parameters: str
    kind: str
    requirement: str
    summary: str

def catalog() -> List[AttackInfo]: ...
def known() -> List[str]: ...
def parse(spec: Union[str, Attack]) -> Attack: ...
def apply(attack: Union[str, Attack], gradients: _G, byzantine: Sequence[int], step: int = ...) -> _G: ...
@overload
def flip_labels(labels: int, classes: int = ...) -> int: ...
@overload
def flip_labels(labels: _G, classes: int = ...) -> _G: ...
