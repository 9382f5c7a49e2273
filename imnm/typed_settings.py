"""One way from a TOML table to typed settings: scoring, study and site parameters alike.

A settings class is a frozen dataclass whose fields say the type each key must have; its
`__post_init__` checks values (and raises `ConfigurationError` or `ValueError`). `typed_settings`
refuses unknown keys and values of the wrong type with an error naming the file and the key,
so a data engineer can fix a configuration without reading code.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from imnm.settings import ConfigurationError

T = TypeVar("T")


def read_toml(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """The file's TOML document; a missing file is {} when `missing_ok`, else an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigurationError(f"{path}: configuration file is missing") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: is not valid TOML: {exc}") from exc


def parse_toml_value(text: str) -> Any:
    """A single value written as in TOML ("0.02", "true", '"text"', "[1, 2]"); a bare word
    that is not TOML is taken as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _type_name(expected: Any) -> str:
    origin = typing.get_origin(expected)
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(expected)[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(expected))
    if expected is type(None):
        return "absent"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        expected, getattr(expected, "__name__", str(expected)))


def _coerce(value: Any, expected: Any) -> tuple[bool, Any]:
    """(True, value as the field stores it) when `value` has the expected TOML type."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(expected):
            ok, coerced = _coerce(value, option)
            if ok:
                return True, coerced
        return False, None
    if origin is tuple:
        item = typing.get_args(expected)[0]
        if not isinstance(value, list | tuple):
            return False, None
        coerced_items = []
        for entry in value:
            ok, coerced = _coerce(entry, item)
            if not ok:
                return False, None
            coerced_items.append(coerced)
        return True, tuple(coerced_items)
    if expected is type(None):
        return value is None, None
    if expected is bool:
        return isinstance(value, bool), value
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if expected is float:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return numeric, float(value) if numeric else None
    if expected is str:
        return isinstance(value, str), value
    return isinstance(value, expected), value


def typed_settings(cls: type[T], values: Mapping[str, Any], *, where: str,
                   defaults: Mapping[str, Any] | None = None) -> T:
    """An instance of the dataclass `cls` from `values` (over `defaults`, then the class's
    own defaults). `where` names the file and table in every error ("config/x.toml [scoring]")."""
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    merged = {**(defaults or {}), **values}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigurationError(f"{where}: unknown setting(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(known))}")
    arguments: dict[str, Any] = {}
    for name, value in merged.items():
        if name not in known:
            continue
        ok, coerced = _coerce(value, hints[name])
        if not ok:
            raise ConfigurationError(f"{where}: {name} must be {_type_name(hints[name])}, "
                                     f"got {value!r}")
        arguments[name] = coerced
    try:
        return cls(**arguments)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from exc


def table_settings(settings_class: type[T], path: Path, table: str,
                   overrides: Mapping[str, Any] | None = None) -> T:
    """Settings from `path`'s [table] (defaults where absent; a missing file is all
    defaults), `overrides` (e.g. `imnm refresh --set table.NAME=VALUE`) applied over them."""
    values = dict(read_toml(path, missing_ok=True).get(table, {}))
    from_file = typed_settings(settings_class, values, where=f"{path} [{table}]")
    if not overrides:
        return from_file
    return typed_settings(settings_class, dict(overrides), where=f"--set {table}.",
                          defaults=asdict(from_file))
