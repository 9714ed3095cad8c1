"""Read the Dockerfile's instructions: what the image sets and runs, for tests and benchmarks.

A small reader of the Dockerfile syntax the project uses (instructions, ``\\`` line
continuations, comments, exec-form JSON arrays, ``ENV`` and ``HEALTHCHECK`` options), so
the tests and ``benchmarks/startup.py`` run exactly the environment and command the image
does instead of a copy of them.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV, ...
    value: str  # the arguments, continuation lines joined
    line: int  # 1-based line of the keyword


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, in order."""
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments and blank lines may also sit inside a continuation
        if not parts:
            start = number
        continued = stripped.endswith("\\")
        parts.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            keyword, _, value = " ".join(parts).partition(" ")
            instructions.append(Instruction(keyword.upper(), value.strip(), start))
            parts = []
    if parts:
        raise ValueError(f"line {start}: the last instruction ends with a line continuation")
    return instructions


def load(path: Path = DOCKERFILE) -> list[Instruction]:
    return parse(path.read_text(encoding="utf-8"))


def exec_form(value: str) -> list[str]:
    """The argument list of an exec-form ``CMD``/``ENTRYPOINT``; shell form is refused."""
    if not value.startswith("["):
        raise ValueError(f"not in exec form (a JSON array): {value}")
    args = json.loads(value)
    if not all(isinstance(a, str) for a in args):
        raise ValueError(f"exec form must be a list of strings: {value}")
    return args


def env(instructions: list[Instruction]) -> dict[str, str]:
    """Every variable the ``ENV`` instructions set, later ones overriding earlier ones."""
    result: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        words = shlex.split(ins.value)
        if "=" not in words[0]:  # legacy form: ENV NAME value with spaces
            result[words[0]] = ins.value.split(None, 1)[1]
            continue
        for word in words:
            name, sep, value = word.partition("=")
            if not sep:
                raise ValueError(f"line {ins.line}: ENV word {word!r} has no '='")
            result[name] = value
    return result


def only(instructions: list[Instruction], keyword: str) -> Instruction:
    """The single instruction of a kind (CMD, HEALTHCHECK, ...) that takes effect."""
    found = [i for i in instructions if i.keyword == keyword]
    if not found:
        raise ValueError(f"no {keyword} instruction")
    return found[-1]


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]  # interval, timeout, start-period, start-interval, retries
    command: list[str]


def healthcheck(instructions: list[Instruction]) -> Healthcheck:
    value = only(instructions, "HEALTHCHECK").value
    options: dict[str, str] = {}
    rest = value
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, setting = option[2:].partition("=")
        options[name] = setting
        rest = rest.strip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise ValueError(f"HEALTHCHECK must run a CMD, found {rest!r}")
    return Healthcheck(options, exec_form(command.strip()))


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


def seconds(duration: str) -> float:
    """A Docker/Compose duration such as ``1m30s`` or ``90s`` in seconds."""
    pieces = _DURATION.findall(duration)
    if not pieces or "".join(n + u for n, u in pieces) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in pieces)
