"""Typed readers for settings held in environment variables.

Each service has one settings module built on these, so every knob is an
environment variable with a documented default (twelve-factor, and what a
Kubernetes ConfigMap feeds a pod).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def env_str(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip()
    return value or default


def env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} is below the minimum {minimum}")
    return value


def env_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true or false)")


def env_list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list; empty entries dropped."""
    return tuple(item.strip() for item in environ.get(name, "").split(",") if item.strip())


def env_choice(environ: Mapping[str, str], name: str, default: str,
               choices: tuple[str, ...]) -> str:
    value = env_str(environ, name, default)
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def environment(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


# -- one declaration per setting ----------------------------------------------------------
#
# A settings class declares each of its settings once, as a dataclass field whose metadata
# holds a `Setting` (made by `setting()`): the environment variable, the description and
# the bounds beside the field's type and default. The reader (`read`), the inverse
# (`as_env`), the docs (docs/settings.md) and the operator's CRD are all made from that.

SETTING = "cloudgeo.setting"  # the dataclasses field-metadata key


@dataclass(frozen=True)
class Setting:
    """What a settings field declares besides its type and default."""

    env: str
    doc: str
    minimum: int | None = None  # whole numbers: the smallest accepted (else 0)
    choices: tuple[str, ...] = ()  # text: the accepted values
    default_doc: str = ""  # how the docs show a default computed when read
    # The default computed from the settings read before it (in field order), used when
    # the variable is unset or blank, as for text.
    derive: Callable[[Mapping[str, Any]], Any] | None = None
    convert: Callable[[Any], Any] | None = None  # applied to the value read or defaulted


def setting(env: str, default: Any = MISSING, *, doc: str, minimum: int | None = None,
            choices: tuple[str, ...] = (), default_doc: str = "",
            derive: Callable[[Mapping[str, Any]], Any] | None = None,
            convert: Callable[[Any], Any] | None = None) -> Any:
    """A dataclass field declaring a setting read from the environment variable `env`.
    Without a default the field is required by the constructor (and `derive` gives the
    environment reader its default)."""
    declared = Setting(env, doc, minimum, choices, default_doc, derive, convert)
    return field(default=default, metadata={SETTING: declared})


@dataclass(frozen=True)
class Declared:
    """One declared setting of a settings class, as the readers and the docs see it."""

    name: str  # the field
    kind: Any  # its type
    default: Any  # MISSING when computed when read (see Setting.derive)
    setting: Setting

    @property
    def env(self) -> str:
        return self.setting.env


@functools.cache
def declared(cls: type) -> dict[str, Declared]:
    """The declared settings of a settings dataclass, by field name, in field order."""
    hints = get_type_hints(cls)
    return {f.name: Declared(f.name, hints[f.name], f.default, f.metadata[SETTING])
            for f in fields(cls) if SETTING in f.metadata}


def read(cls: type[T], environ: Mapping[str, str] | None = None, **given: Any) -> T:
    """An instance of `cls` with every declared setting read from the environment;
    `given` are the fields it does not declare (nested settings), or ones fixed here."""
    env = environment(environ)
    values = dict(given)
    for name, item in declared(cls).items():
        if name not in values:
            values[name] = read_one(env, item, values)
    return cls(**values)


def read_one(env: Mapping[str, str], item: Declared, before: Mapping[str, Any]) -> Any:
    """One setting's value; `before`: the settings read before it (for a derived default)."""
    s, kind = item.setting, item.kind
    default = s.derive(before) if s.derive else item.default
    if s.derive and not env.get(s.env, "").strip():
        value = default
    elif kind is bool:
        value = env_bool(env, s.env, default)
    elif kind is int:
        value = env_int(env, s.env, default, minimum=s.minimum or 0)
    elif kind is float:
        value = env_float(env, s.env, default)
    elif kind is str:
        value = (env_choice(env, s.env, default, s.choices) if s.choices
                 else env_str(env, s.env, default))
    elif kind is Path:
        value = Path(env_str(env, s.env, str(default)))
    elif get_origin(kind) in (tuple, frozenset):
        # Set, even to nothing, a list replaces the default: `X=` turns a default list off.
        value = get_origin(kind)(env_list(env, s.env)) if s.env in env else default
    else:
        raise TypeError(f"{item.name}: no reader for settings of type {kind!r}")
    return s.convert(value) if s.convert else value


def to_env(value: Any) -> str:
    """A setting's value as its environment variable spells it (what `read` takes back)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(value)
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)


def as_env(settings: Any) -> dict[str, str]:
    """The environment variables that reproduce `settings`' declared fields."""
    return {item.env: to_env(getattr(settings, name))
            for name, item in declared(type(settings)).items()}


def no_trailing_slash(url: str) -> str:
    return url.rstrip("/")


@dataclass(frozen=True)
class ServerDefaults:
    """A service's HTTP serving settings (`<prefix>_HOST`, `_PORT`, `_WORKERS`, `_THREADS`
    ... of cloudgeo.common.server.ServerSettings) and its own defaults for them."""

    prefix: str
    port: int
    workers: int = 2
    threads: int = 8
    doc: str = ""  # why these defaults, for the docs

    def read(self, environ: Mapping[str, str] | None = None) -> Any:
        # Imported here: common.server reads its settings with this module's helpers.
        from cloudgeo.common.server import ServerSettings

        return ServerSettings.from_env(environment(environ), self.prefix, port=self.port,
                                       workers=self.workers, threads=self.threads)


def env_name(cls: type, name: str) -> str:
    """The environment variable of a declared setting of `cls`."""
    return declared(cls)[name].env
