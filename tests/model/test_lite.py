"""Plain config models (flowrun/model/lite.py): they behave as their pydantic twins do, and run without pydantic."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ValidationError

from flowrun.model.base import RetrySpec, Strict
from flowrun.model.lite import AliasChoices, Field, Model, PrivateAttr, field_validator, model_validator, twin

ROOT = Path(__file__).resolve().parents[2]


class Inner(Strict):
    name: str
    size: int = 1


class Outer(Strict):
    """Every kind of declaration the models of flowrun use."""

    kind: ClassVar[str] = "outer"
    id: str
    max_attempt: int | None = Field(default=None, validation_alias=AliasChoices("maxAttempt", "maxAttempts"))
    tags: list[str] = Field(default_factory=list)
    inner: Inner | None = None
    inners: list[Inner] = []
    by_name: dict[str, Inner] | None = None
    _seen: Any = PrivateAttr(default=None)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not value.isidentifier():
            raise ValueError(f"id `{value}` must be an identifier")
        return value

    @model_validator(mode="after")
    def _remember(self) -> Outer:
        self._seen = f"validated {self.id}"
        return self

    def shout(self) -> str:
        return self.id.upper()


class Loose(Strict):
    model_config = Strict.model_config | {"extra": "allow"}
    id: str


def test_a_validated_model_is_plain_and_holds_plain_models() -> None:
    outer = Outer.model_validate({"id": "a", "maxAttempts": 3, "inner": {"name": "x"},
                                  "inners": [{"name": "y", "size": 2}], "byName": {"k": {"name": "z"}}})
    assert type(outer) is Outer and not isinstance(outer, BaseModel)
    assert type(outer.inner) is Inner and type(outer.inners[0]) is Inner and type(outer.by_name["k"]) is Inner
    assert (outer.id, outer.max_attempt, outer.tags, outer.inner.size, outer.inners[0].size) == ("a", 3, [], 1, 2)
    assert outer.shout() == "A" and outer.kind == "outer"
    assert outer._seen == "validated a"  # a private attribute set by an after-validator
    assert outer.model_fields_set == {"id", "max_attempt", "inner", "inners", "by_name"}


def test_validation_errors_are_pydantic_s_own() -> None:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate({"id": "not an id", "inner": {"size": "big"}, "typo": 1})
    errors = {(e["loc"], e["type"]) for e in caught.value.errors()}
    assert errors == {(("id",), "value_error"), (("inner", "name"), "missing"), (("inner", "size"), "int_parsing"),
                      (("typo",), "extra_forbidden")}
    assert caught.value.title == "Outer"
    assert "id `not an id` must be an identifier" in str(caught.value)
    with pytest.raises(ValidationError):
        Outer(id=3)  # the constructor validates too


def test_a_plain_instance_given_for_a_model_field_is_kept() -> None:
    inner = Inner.model_validate({"name": "kept"})
    outer = Outer.model_validate({"id": "a", "inner": inner, "inners": [inner, {"name": "new"}]})
    assert outer.inner is inner and outer.inners[0] is inner and type(outer.inners[1]) is Inner
    assert Inner.model_validate(inner) is inner


def test_dump_fields_and_schema_are_the_twin_s() -> None:
    outer = Outer.model_validate({"id": "a", "inner": {"name": "x"}, "inners": [{"name": "y"}]})
    assert outer.model_dump() == {"id": "a", "max_attempt": None, "tags": [], "inner": {"name": "x", "size": 1},
                                  "inners": [{"name": "y", "size": 1}], "by_name": None}
    assert outer.model_dump(by_alias=True, exclude_unset=True) == {"id": "a", "inner": {"name": "x"},
                                                                   "inners": [{"name": "y"}]}
    assert outer.model_dump_json(exclude_none=True, exclude_defaults=True) == \
        '{"id":"a","inner":{"name":"x"},"inners":[{"name":"y"}]}'
    assert Outer.model_fields["by_name"].alias == "byName" and Outer.model_fields is twin(Outer).model_fields
    schema = Outer.model_json_schema(by_alias=True)
    assert set(schema["properties"]) == {"id", "maxAttempt", "tags", "inner", "inners", "byName"}
    assert "Inner" in schema["$defs"]


def test_construct_applies_defaults_without_sharing_them() -> None:
    first, second = Outer.model_construct(id="a"), Outer.model_construct()
    assert (first.id, first.tags, first.inners, first.max_attempt, first._seen) == ("a", [], [], None, None)
    first.tags.append("t")
    first.inners.append(Inner.model_construct(name="n"))
    assert second.tags == [] and second.inners == [] and not hasattr(second, "id")
    assert first.model_fields_set == {"id"}


def test_extra_keys_where_allowed() -> None:
    loose = Loose.model_validate({"id": "a", "colour": "red"})
    assert loose.model_extra == {"colour": "red"} and loose.colour == "red"
    assert loose.model_dump() == {"id": "a", "colour": "red"}
    with pytest.raises(AttributeError, match="shape"):
        _ = loose.shape


def test_equality_repr_copy_and_pickle() -> None:
    outer = Outer.model_validate({"id": "a", "inner": {"name": "x"}, "tags": ["t"]})
    again = Outer.model_validate({"id": "a", "inner": {"name": "x"}, "tags": ["t"]})
    assert outer == again and outer != Outer.model_validate({"id": "b"})
    assert repr(outer.inner) == "Inner(name='x', size=1)"
    restored = pickle.loads(pickle.dumps(outer, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored == outer and restored.model_fields_set == outer.model_fields_set
    deep = copy.deepcopy(outer)
    assert deep == outer and deep.tags is not outer.tags
    changed = outer.model_copy(update={"id": "c"})
    assert (changed.id, outer.id, changed.inner) == ("c", "a", outer.inner)
    with pytest.raises(TypeError):
        hash(outer)


def test_a_twin_is_built_once_with_the_bases_twins() -> None:
    assert twin(Outer) is twin(Outer)
    assert issubclass(twin(Outer), twin(Strict)) and issubclass(twin(Strict), BaseModel)
    assert twin(RetrySpec).model_validate({"type": "constant", "max_attempt": 2}).max_attempt == 2


def test_models_are_defined_restored_and_built_without_pydantic(tmp_path: Path) -> None:
    """In a fresh interpreter: defining every model of a flow, restoring a pickled flow, constructing defaults."""
    from flowrun.load import load_flow

    flow = load_flow(ROOT / "flows" / "hello.yaml")
    pickled = tmp_path / "flow.pickle"
    pickled.write_bytes(pickle.dumps(flow))
    probe = ("import pickle, sys\n"
             "import flowrun.tasks.core, flowrun.tasks.flowable, flowrun.model.flow, flowrun.model.inputs\n"
             "from flowrun.project import defaults\n"
             f"flow = pickle.loads(open({str(pickled)!r}, 'rb').read())\n"
             "config = defaults()\n"
             "print([t.id for t in flow.all_tasks()], [i.id for i in flow.inputs], config.max_parallel is None)\n"
             "print('pydantic' in sys.modules)\n")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown == "['greet', 'remember', 'recall', 'summary', 'log'] ['name', 'times'] True\nFalse\n"


def test_every_validated_flow_holds_no_pydantic_instance() -> None:
    """The compat flows and flowrun's own: a validated tree holds plain instances only (nothing of a twin)."""
    from flowrun.load import load_flow

    files = sorted((ROOT.parent / "shared" / "compat").rglob("*.yaml")) + [ROOT / "flows" / "hello.yaml"]
    flows = []
    for path in files:
        try:
            flows.append(load_flow(path))
        except Exception:  # noqa: BLE001 - not every YAML file there is a flow (dbt projects, profiles)
            continue
    assert len(flows) >= 10
    seen: list[Any] = []
    for flow in flows:
        _walk([flow.doc, *flow.all_tasks(), *flow.inputs, *flow.triggers], seen)
    assert seen and not [value for value in seen if isinstance(value, BaseModel)]
    assert any(isinstance(value, Model) for value in seen)


def _walk(values: list[Any], seen: list[Any]) -> None:
    for value in values:
        seen.append(value)
        if isinstance(value, Model):
            _walk(list(value.__dict__.values()), seen)
        elif isinstance(value, BaseModel):
            continue
        elif isinstance(value, (list, tuple)):
            _walk(list(value), seen)
        elif isinstance(value, dict):
            _walk(list(value.values()), seen)


def test_only_the_validator_imports_pydantic_at_module_level() -> None:
    """A module that imports pydantic when it is imported makes every run that imports it pay ~50 ms: models
    declare themselves with flowrun/model/lite.py, and pydantic is imported where validation happens."""
    import ast

    allowed = {"flowrun/validate.py", "flowrun/model/problems.py"}
    found = set()
    for path in sorted((ROOT / "flowrun").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports cost nothing at run time
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] in ("pydantic", "pydantic_core") for name in names):
                found.add(path.relative_to(ROOT).as_posix())
    assert found == allowed
