"""Config models that run without pydantic: plain classes, each validated by a pydantic twin built on first use.

A model is declared as a pydantic model is (annotated fields, `Field(...)`, `field_validator`, `model_validator`,
`PrivateAttr`, `model_config`), but on `Model`, with the stand-ins of this module. The class that results is a
plain Python class: defining it, reading its fields, pickling it and restoring it import no pydantic, so a run
whose flow comes from the validated-flow cache never imports pydantic (~50 ms of a ~120 ms run).

Validation (`model_validate`, or calling the class with keyword arguments) builds the class's twin once: a pydantic
model made from the same namespace (fields, defaults, validators, methods, config; the bases' twins as bases).
pydantic validates into the twin, and the result is copied into a plain instance. A field annotated with another
`Model` validates through that model's twin and holds a plain instance (`__get_pydantic_core_schema__`), so a
validated tree holds plain instances only, and a plain instance given where a model is expected is kept as is.
Everything else pydantic gives (`model_dump`, `model_fields`, the JSON schema) is the twin's, on a twin copy.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

#: `model_config["alias_generator"]` for camelCase aliases (pydantic's `to_camel`, named so as not to import it)
CAMEL = "to_camel"
_MISSING: Any = object()
_CLASSVAR = re.compile(r"(\w+\.)?ClassVar\b")
_TWINS: dict[type, type] = {}
_PLAIN: dict[type, type] = {}
_BUILDING = threading.RLock()  # re-entered: a twin's bases and fields build their own twins
_OWN = ("__lite_fields__", "__lite_private__", "__lite_declared__", "__dict__", "__weakref__", "__annotations__")


class FieldInfo:
    """What `Field(...)` declared: pydantic's `Field` arguments, handed to it when the twin is built."""

    __slots__ = ("kwargs",)

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs


class PrivateInfo:
    """What `PrivateAttr(...)` declared."""

    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None) -> None:
        self.default = default
        self.default_factory = default_factory


class AliasChoices:
    """pydantic's `AliasChoices`, built when the twin is."""

    __slots__ = ("choices",)

    def __init__(self, *choices: str) -> None:
        self.choices = choices


def Field(default: Any = _MISSING, **kwargs: Any) -> Any:  # noqa: N802 - pydantic's spelling
    if default is not _MISSING and default is not ...:
        kwargs["default"] = default
    return FieldInfo(kwargs)


def PrivateAttr(default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None) -> Any:  # noqa: N802
    return PrivateInfo(default, default_factory)


def ConfigDict(**settings: Any) -> dict[str, Any]:  # noqa: N802
    return settings


def field_validator(*fields: str, **kwargs: Any) -> Callable[[Any], Any]:
    """Marks a validator for the twin; on the plain class the method stays what it is."""
    return _marker("field_validator", fields, kwargs)


def model_validator(**kwargs: Any) -> Callable[[Any], Any]:
    return _marker("model_validator", (), kwargs)


def _marker(kind: str, args: tuple, kwargs: dict[str, Any]) -> Callable[[Any], Any]:
    def mark(method: Any) -> Any:
        function = getattr(method, "__func__", method)
        function.__dict__.setdefault("__lite_validators__", []).append((kind, args, kwargs))
        return method
    return mark


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return _CLASSVAR.match(annotation) is not None
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _default(default: Any, factory: Callable[[], Any] | None) -> Any:
    if factory is not None:
        return factory()
    return copy.deepcopy(default) if isinstance(default, (list, dict, set)) else default


class _TwinFields:
    """`Model.model_fields`: the twin's, on the class and on its instances."""

    def __get__(self, instance: Any, owner: type) -> Any:
        return twin(owner).model_fields


class Model:
    """The base of flowrun's config models: a plain class, validated through its pydantic twin."""

    __slots__ = ("__lite_set__", "__lite_extra__")
    __lite_set__: set[str]  # the fields given, not defaulted (pydantic's `model_fields_set`)
    __lite_extra__: dict[str, Any]  # with `extra="allow"`: the keys no field declares
    model_config: ClassVar[dict[str, Any]] = {}
    model_fields: ClassVar[Any] = _TwinFields()
    #: field name -> (default or _MISSING, default factory or None)
    __lite_fields__: ClassVar[dict[str, tuple[Any, Any]]] = {}
    __lite_private__: ClassVar[dict[str, tuple[Any, Any]]] = {}
    #: this class's own `Field(...)` and `PrivateAttr(...)` declarations, by name
    __lite_declared__: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, tuple[Any, Any]] = {}
        private: dict[str, tuple[Any, Any]] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(base.__dict__.get("__lite_fields__", {}))
            private.update(base.__dict__.get("__lite_private__", {}))
        declared: dict[str, Any] = {}
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if _is_classvar(annotation):
                continue
            value = cls.__dict__.get(name, _MISSING)
            if isinstance(value, (FieldInfo, PrivateInfo)):
                declared[name] = value
                delattr(cls, name)
            if isinstance(value, FieldInfo):
                value = value.kwargs.get("default", _MISSING), value.kwargs.get("default_factory")
            elif isinstance(value, PrivateInfo):
                value = value.default, value.default_factory
            else:
                value = value, None
            (private if name.startswith("_") else fields)[name] = value
            if value[0] is not _MISSING and value[1] is None and not isinstance(value[0], (list, dict, set)):
                setattr(cls, name, value[0])  # a plain class attribute, as a default is read
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, PrivateInfo):  # declared without an annotation
                declared[name] = value
                private[name] = value.default, value.default_factory
                delattr(cls, name)
        cls.__lite_fields__, cls.__lite_private__, cls.__lite_declared__ = fields, private, declared

    def __init__(self, **data: Any) -> None:
        """Validated, as a pydantic model's constructor validates."""
        _fill(self, twin(type(self))(**data))

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        if isinstance(obj, cls):
            return obj
        return _fill(object.__new__(cls), twin(cls).model_validate(obj, **kwargs))

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Any:
        """An instance of trusted values, not validated: the defaults for what `values` leaves out."""
        obj = object.__new__(cls)
        state = obj.__dict__
        for name, (default, factory) in cls.__lite_fields__.items():
            if name in values:
                state[name] = values[name]
            elif default is not _MISSING or factory is not None:
                state[name] = _default(default, factory)
        for name, (default, factory) in cls.__lite_private__.items():
            if default is not _MISSING or factory is not None:
                state[name] = _default(default, factory)
        obj.__lite_set__ = set(values) if _fields_set is None else set(_fields_set)
        return obj

    @classmethod
    def model_json_schema(cls, **kwargs: Any) -> dict[str, Any]:
        return twin(cls).model_json_schema(**kwargs)

    @property
    def model_fields_set(self) -> set[str]:
        return set(getattr(self, "__lite_set__", ()))

    @property
    def model_extra(self) -> dict[str, Any] | None:
        return getattr(self, "__lite_extra__", None)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return twin_instance(self).model_dump(**kwargs)  # type: ignore[no-any-return]

    def model_dump_json(self, **kwargs: Any) -> str:
        return twin_instance(self).model_dump_json(**kwargs)  # type: ignore[no-any-return]

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        copied = copy.deepcopy(self) if deep else copy.copy(self)
        if update:
            copied.__dict__.update(update)
            copied.__lite_set__ = copied.model_fields_set | set(update)
        return copied

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        yield from ((name, self.__dict__[name]) for name in self.__lite_fields__ if name in self.__dict__)
        yield from (getattr(self, "__lite_extra__", None) or {}).items()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self.__dict__ == other.__dict__)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a pydantic model that is not frozen

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self)
        return f"{type(self).__name__}({shown})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """In a twin's field: validate through this class's twin into a plain instance; keep a plain one."""
        from pydantic_core import core_schema

        inner = handler.generate_schema(twin(cls))

        def validate(value: Any, validate_twin: Any) -> Any:
            if isinstance(value, cls):
                return value
            validated = validate_twin(value)
            return _fill(object.__new__(_PLAIN[type(validated)]), validated)

        def serialize(value: Any, serialize_twin: Any) -> Any:
            return serialize_twin(twin_instance(value) if isinstance(value, Model) else value)

        return core_schema.no_info_wrap_validator_function(
            validate, inner, serialization=core_schema.wrap_serializer_function_ser_schema(serialize, schema=inner))


def _fill(obj: Any, validated: Any) -> Any:
    """`obj` given the state of `validated`, a twin instance."""
    state = obj.__dict__
    state.update(validated.__dict__)
    private = validated.__pydantic_private__
    if private:
        state.update(private)
    obj.__lite_set__ = set(validated.__pydantic_fields_set__)
    if validated.__pydantic_extra__ is not None:  # read as attributes too, as pydantic's are
        obj.__lite_extra__ = dict(validated.__pydantic_extra__)
        state.update(validated.__pydantic_extra__)
    return obj


def twin(cls: type) -> Any:
    """The pydantic model `cls` validates with, built on first use (once: threads validating at once wait)."""
    found = _TWINS.get(cls)
    if found is None:
        with _BUILDING:
            found = _TWINS.get(cls) or _build_twin(cls)
    return found


def _build_twin(cls: type) -> Any:
    import types

    import pydantic
    from pydantic.alias_generators import to_camel

    bases = tuple(pydantic.BaseModel if base is Model else twin(base) if issubclass(base, Model) else base
                  for base in cls.__bases__)
    fields: dict[str, Any] = cls.__dict__["__lite_fields__"]
    namespace = {name: value for name, value in cls.__dict__.items() if name not in _OWN}
    namespace["__annotations__"] = dict(cls.__dict__.get("__annotations__", {}))
    for name, declared in cls.__dict__["__lite_declared__"].items():
        if isinstance(declared, FieldInfo):
            namespace[name] = pydantic.Field(**{key: _pydantic(value) for key, value in declared.kwargs.items()})
        elif declared.default_factory is not None:
            namespace[name] = pydantic.PrivateAttr(default_factory=declared.default_factory)
        elif declared.default is _MISSING:
            namespace[name] = pydantic.PrivateAttr()
        else:
            namespace[name] = pydantic.PrivateAttr(default=declared.default)
    for name, value in list(namespace.items()):
        if isinstance(value, (list, dict, set)) and name in fields:
            namespace[name] = copy.deepcopy(value)
        marks = getattr(getattr(value, "__func__", value), "__dict__", {}).get("__lite_validators__")
        for kind, args, kwargs in marks or ():
            namespace[name] = value = getattr(pydantic, kind)(*args, **kwargs)(value)
    if "model_config" in namespace:
        config = dict(namespace["model_config"])
        if config.get("alias_generator") == CAMEL:
            config["alias_generator"] = to_camel
        namespace["model_config"] = config
    built = types.new_class(cls.__name__, bases, {"__pydantic_reset_parent_namespace__": False},
                            lambda body: body.update(namespace))
    _TWINS[cls], _PLAIN[built] = built, cls
    return built


def _pydantic(value: Any) -> Any:
    if isinstance(value, AliasChoices):
        import pydantic

        return pydantic.AliasChoices(*value.choices)
    return value


def twin_instance(obj: Model) -> Any:
    """A twin instance holding `obj`'s state (nested plain instances stay plain: their twins serialize them)."""
    model = twin(type(obj))
    instance = model.__new__(model)
    state = obj.__dict__
    object.__setattr__(instance, "__dict__", {name: state[name] for name in model.__pydantic_fields__
                                              if name in state})
    object.__setattr__(instance, "__pydantic_fields_set__", obj.model_fields_set)
    object.__setattr__(instance, "__pydantic_extra__", obj.model_extra if model.model_config.get("extra") == "allow"
                       else None)
    private = {name: state[name] for name in model.__private_attributes__ if name in state}
    object.__setattr__(instance, "__pydantic_private__", private or None)
    return instance


def is_model(value: Any) -> bool:
    """True for a model class: a plain one of this module, or a pydantic one."""
    if not isinstance(value, type):
        return False
    if issubclass(value, Model):
        return True
    base = _pydantic_base()
    return base is not None and issubclass(value, base)


def _pydantic_base() -> Any:
    import sys

    module = sys.modules.get("pydantic.main")
    return getattr(module, "BaseModel", None)
