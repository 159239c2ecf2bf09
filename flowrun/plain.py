"""`Plain`: the base of value classes that compare, show and copy themselves as dataclasses do, without one.

Every `flowrun run` creates these classes, and a cached one imports no `dataclasses` (which imports `inspect`,
`ast`, `dis` and `tokenize`: ~13 ms of start-up, and ~0.5 ms more per dataclass created). Each class writes its
own `__init__` and names its fields, in `__init__`'s order, in `FIELDS`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self


class Plain:
    """Equal to an instance of the same class with equal fields (a dataclass's `__eq__`, hence unhashable),
    shown as `Name(field=value, ...)`, and copied with changes by `replace`."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == tuple(getattr(other, name) for name in self.FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__qualname__}({shown})"

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` (as `dataclasses.replace`: a name that is not a field is a TypeError)."""
        return type(self)(**{**{name: getattr(self, name) for name in self.FIELDS}, **changes})
