"""Numbers and booleans as JSON and JSON Schema mean them, for request fields.

pydantic's lax mode reads `true` as 1 and `"0.5"` as 0.5, so a schema that says `number` or
`boolean` would not be what the server checks. These types are strict, except that an
integral number written with a fraction (`2.0`) is an integer, as JSON Schema says.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_int(*, ge: int | None = None, le: int | None = None) -> Any:
    """An integer field type with its bounds (given here, so the schema shows them as
    `minimum`/`maximum`: bounds set after the conversion would not reach the schema)."""
    return Annotated[int, Field(ge=ge, le=le), Strict(), BeforeValidator(_integral)]


JsonInt = json_int()
JsonFloat = Annotated[float, Strict()]  # an int is a number too; `true` and "1" are not
JsonBool = Annotated[bool, Strict()]


def _refuse_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


# Lax for digit strings (a CSV import reads its numbers as text) but never `true` for 1.
TextOrJsonInt = Annotated[int, BeforeValidator(_refuse_bool)]
