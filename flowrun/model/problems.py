"""Pydantic validation errors as located problems (file:line), an unknown key naming its likely typo."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flowrun.errors import Problem
from flowrun.model.document import Document, Path_
from flowrun.model.lite import is_model


def pydantic_problems(doc: Document, exc: ValidationError, base: Path_, where: str | None,
                      model: type[Any]) -> list[Problem]:
    errors = exc.errors()
    typos = _typos(errors, model)
    problems = []
    for err in errors:
        loc = _clean(err["loc"])
        prop = ".".join(str(p) for p in loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            message = _unknown_property(loc, typos.get(loc), model)
        elif kind == "missing":
            if loc in typos.values():
                continue  # reported once, as the typo of the property written
            message = f"missing required property `{prop}`"
        else:
            message = f"{prop}: {err['msg']}" if prop else err["msg"]
        problems.append(doc.problem((*base, *loc), message, where))
    return problems


def _typos(errors: list[Any], model: type[Any]) -> dict[tuple, tuple]:
    """Unknown property location -> the property it most likely misspells (case-insensitive)."""
    from flowrun.templating.check import closest

    typos = {}
    for err in errors:
        loc = _clean(err["loc"])
        if err["type"] != "extra_forbidden" or not loc or not isinstance(loc[-1], str):
            continue
        guess = closest(loc[-1], _property_names(_model_at(model, loc[:-1])))
        if guess:
            typos[loc] = (*loc[:-1], guess)
    return typos


def _clean(loc: Any) -> tuple:
    """A pydantic error location without its union-member tags (`function-after[...]`)."""
    return tuple(part for part in loc if not (isinstance(part, str) and "[" in part))


def _unknown_property(loc: tuple, typo: tuple | None, model: type[Any]) -> str:
    name = ".".join(str(p) for p in loc)
    if typo is not None:
        return f"unknown property '{name}'; did you mean '{typo[-1]}'?"
    valid = ", ".join(sorted(_property_names(_model_at(model, loc[:-1]))))
    return f"unknown property '{name}' (valid properties: {valid})" if valid else f"unknown property '{name}'"


def _property_names(model: type[Any] | None) -> set[str]:
    if model is None:
        return set()
    return {info.alias or name for name, info in model.model_fields.items() if name != "type"}


def _model_at(model: type[Any], loc: tuple) -> type | None:
    """The nested model at `loc` (field names, list indexes skipped), or None when not a model."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not is_model(current):
            return None
        info = next((i for n, i in current.model_fields.items() if part in (n, i.alias)), None)
        if info is None:
            return None
        candidates = [info.annotation, *typing.get_args(info.annotation)]
        candidates += [arg for c in candidates for arg in typing.get_args(c)]
        current = next((c for c in candidates if is_model(c)), None)
    return current if is_model(current) else None
