"""Reading the deployment's TOML files and reporting what is wrong with them by file and key."""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in one configuration file, at one dotted key."""

    file: Path
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else str(self.file)
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; carries every problem found, across all files."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; a syntax error becomes a ConfigError naming the file and line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(path, "", f"not valid TOML: {exc}")]) from exc
    except OSError as exc:
        raise ConfigError([ConfigProblem(path, "", f"cannot be read: {exc.strerror}")]) from exc


def dotted(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a TOML-style dotted key (list indexes in brackets)."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def problems_from_pydantic(
    path: Path, exc: pydantic.ValidationError, prefix: str = "", *, tags: Collection[str] = ()
) -> list[ConfigProblem]:
    """Every error of a pydantic validation as a ConfigProblem at its dotted key.

    `tags` are the tags of discriminated unions in lists: pydantic puts the tag after the list
    index in an error's location, where the file has no such key, so it is left out.
    """
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        for i in range(len(loc) - 1, 0, -1):
            if loc[i] in tags and isinstance(loc[i - 1], int):
                del loc[i]
        message = error["msg"].removeprefix("Value error, ")
        ctx = error.get("ctx", {})
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # The problem is the key that names the kind (e.g. rule), so the key says so.
            loc.append(str(ctx.get("discriminator", "")).strip("'"))
            expected = str(ctx.get("expected_tags", "")).replace("'", "")
            message = (
                f"unknown kind {ctx.get('tag')!r} (known: {expected})"
                if error["type"] == "union_tag_invalid"
                else "required key is missing"
            )
        key = dotted([*([prefix] if prefix else []), *loc])
        if error["type"] == "extra_forbidden":
            message = "unknown key (misspelt, or not supported here)"
        elif error["type"] == "missing":
            message = "required key is missing"
        problems.append(ConfigProblem(path, key, message))
    return problems
