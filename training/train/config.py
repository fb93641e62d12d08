"""Reading training config files (TOML with [data], [model], [train] and optional [loss], [text])."""

from __future__ import annotations

import tomllib
from pathlib import Path

from backend.errors import MotionInputError


def config_section(cls, d: dict | None, where: str):
    """A config dataclass from one TOML section (`where`, e.g. "[model]"); keys it does not know are an error
    naming them, since a typo would otherwise silently do nothing."""
    from dataclasses import fields

    d = dict(d or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise MotionInputError(f"unknown {where} keys: {unknown} (known: {sorted(known)})")
    return cls(**d)


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict:
    """The config as a dict; `overrides` are 'section.key=value' strings (value parsed as TOML)."""
    path = Path(path)
    if not path.is_file():
        raise MotionInputError(f"config file not found: {path}")
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise MotionInputError(f"bad TOML in config: {err}", str(path)) from None
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise MotionInputError(f"override {item!r} is not section.key=value")
        section, name = key.split(".", 1)
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value  # bare strings such as paths
        config.setdefault(section, {})[name] = parsed
    for section in ("data", "train"):
        if section not in config:
            raise MotionInputError(f"config has no [{section}] section", str(path))
    return config
