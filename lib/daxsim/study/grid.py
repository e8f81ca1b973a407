"""A sweep's grid: the axes, their values checked and in canonical form, and the points.

A grid names values for each axis of :data:`AXES` (``option``, ``pmem``, ``dram``,
``memmap``, ``hardware``, ``kernel``, ``workload``, ``ios``, ``truncate_rate``, ``seed``, ``data``):
a dict of axis -> value or list, from flags or a TOML / YAML file (:func:`read_grid_file`).
An ``option`` may be a spec (``"2+guard"``, ``"huge+memmap_variant=hvo"``). Every value is
checked before the first point runs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from daxsim.emu.machine import MEMMAP_PLACEMENTS
from daxsim.emu.units import PAGE_SIZE, parse_size
from daxsim.emu.workload import DEFAULT_PRESET, PRESETS, Workload
from daxsim.model.eras import DEFAULT_ERA, era
from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE, hardware_profile
from daxsim.paths.registry import designs
from daxsim.study.spec import Spec

__all__ = [
    "AXES",
    "DEFAULT_GRID",
    "DESIGNS",
    "emulation_key",
    "normalise_grid",
    "point_key",
    "points",
    "read_grid_file",
]

#: the design options (``ideal``, the bound, can be asked for but is not in the default grid)
DESIGNS = designs()

#: the grid's axes, in the order their product is taken (the last varies fastest)
AXES = ("option", "pmem", "dram", "memmap", "hardware", "kernel", "workload", "ios", "truncate_rate", "seed", "data")

DEFAULT_GRID = {
    "option": list(DESIGNS),
    "pmem": ["400G"],
    "dram": ["16G"],
    "memmap": ["dram"],
    "hardware": [DEFAULT_HARDWARE],
    "kernel": [DEFAULT_ERA],
    "workload": [DEFAULT_PRESET],
    "ios": [1000],
    "truncate_rate": [0.0],
    "seed": [0],
    "data": [True],
}


def _as_list(key, values) -> list:
    if isinstance(values, (str, bytes, int, float, bool, np.generic)) or values is None:
        return [values]
    if isinstance(values, dict):
        raise ValueError(f"{key}: {values!r} is a table, not a value or a list of values")
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"{key}: {values!r} is not a value or a list of values") from None
    if not values:
        raise ValueError(f"{key}: an empty list; give at least one value")
    return values


def _check_value(key: str, v):
    """One grid value in canonical form (sizes in bytes, options as strings), or a ValueError."""
    if key == "option":
        return Spec.parse(str(v)).key  # a spec: "2+guard"
    if key in ("pmem", "dram"):
        n = parse_size(v, key)
        if n <= 0 or n % PAGE_SIZE:
            raise ValueError(f"{key}: {v!r} must be a positive multiple of 4 KiB, e.g. '8G'")
        return n
    if key == "memmap":
        if v not in MEMMAP_PLACEMENTS:
            raise ValueError(f"memmap: {v!r} is not one of {', '.join(MEMMAP_PLACEMENTS)}")
        return v
    if key == "hardware":
        if not isinstance(v, str):
            raise ValueError(f"hardware: {v!r} is not a profile name; accepted: {', '.join(HARDWARE)}")
        hardware_profile(v)  # raises with the accepted names
        return v
    if key == "kernel":
        return era(str(v)).name
    if key == "workload":
        if not isinstance(v, str) or (v not in PRESETS and ":" not in v):
            raise ValueError(
                f"workload: {v!r} is not a preset; accepted: {', '.join(PRESETS)} "
                "or an operation string like 'w0:8k,r8k:4k'"
            )
        if v not in PRESETS:
            Workload(ops=v)  # validates the operation string
        return v
    if key in ("ios", "seed"):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if key == "ios" else 0):
            accepted = "a positive integer" if key == "ios" else "a non-negative integer"
            raise ValueError(f"{key}: {v!r} is not {accepted}")
        return int(v)
    if key == "truncate_rate":
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"truncate_rate: {v!r} must be a number between 0 and 1")
        return float(v)
    if key == "data":
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"data: {v!r} must be true or false")
        return bool(v)
    raise AssertionError(key)


def normalise_grid(grid: dict | None) -> dict[str, list]:
    """The grid with every axis present (defaults from :data:`DEFAULT_GRID`), each value
    checked and in canonical form, duplicates removed (first one kept)."""
    grid = dict(grid or {})
    unknown = [k for k in grid if k not in AXES]
    if unknown:
        raise ValueError(f"grid: unknown parameter {unknown[0]!r}; accepted: {', '.join(AXES)}")
    out = {}
    for key in AXES:
        values = [_check_value(key, v) for v in _as_list(key, grid.get(key, DEFAULT_GRID[key]))]
        out[key] = list(dict.fromkeys(values))
    return out


def points(grid: dict | list | None) -> list[dict]:
    """Every point of the grid, in a fixed order (the last axis of :data:`AXES` varies fastest).

    A list of grids gives the points of each in turn (a point in two of them counts once).
    """
    grids = grid if isinstance(grid, (list, tuple)) else [grid]
    if not grids:
        raise ValueError("grid: an empty list; give at least one grid")
    out: dict[tuple, dict] = {}
    for one in grids:
        if one is not None and not isinstance(one, dict):
            raise ValueError(f"grid: {one!r} is not a dict of parameter -> values")
        g = normalise_grid(one)
        ops = [w for w in g["workload"] if w not in PRESETS]
        rates = [r for r in g["truncate_rate"] if r]
        if ops and rates:
            raise ValueError(
                f"truncate_rate: {rates[0]!r} does not apply to the operation string {ops[0]!r}, which "
                "spells its own truncates (t0:4k); accepted: truncate_rate 0 with operation strings "
                "(give them a grid of their own in a list of grids)"
            )
        if ops and one and "ios" in one:
            raise ValueError(
                f"ios: {one['ios']!r} does not apply to the operation string {ops[0]!r}, which counts "
                "its own I/Os; accepted: leave ios out of a grid with operation strings (give them a "
                "grid of their own in a list of grids)"
            )
        for values in itertools.product(*(g[k] for k in AXES)):
            p = dict(zip(AXES, values))
            out.setdefault(point_key(p), p)
    return list(out.values())


def point_key(p: dict) -> tuple:
    """A point's identity, as comparable values (so a row read back from a file matches:
    a row's ``spec`` column is the point's ``option``)."""
    return (
        str(p["spec"] if "spec" in p else p["option"]),
        int(p["pmem"]),
        int(p["dram"]),
        str(p["memmap"]),
        str(p["hardware"]),
        str(p["kernel"]),
        str(p["workload"]),
        int(p["ios"]),
        float(p["truncate_rate"]),
        int(p["seed"]),
        as_bool(p["data"]),
    )


def as_bool(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() == "true"
    return bool(v)


def emulation_key(p: dict) -> tuple:
    """What the emulation depends on: everything but the hardware, and the memmap
    placement only for options that build a memmap whose placement they take from it."""
    d = Spec.parse(p["option"]).design
    memmap = p["memmap"] if d.struct_pages and not d.memmap else "-"
    return point_key({**p, "hardware": "-", "memmap": memmap})


def read_grid_file(path) -> dict:
    """A grid from a TOML (``.toml``) or YAML (``.yaml``, ``.yml``) file: axis = value or list.

    Parsed strictly: a key given twice is an error (in TOML as in YAML), and YAML is read
    with YAML 1.2's core schema, so ``1:30`` is the string ``"1:30"`` (not 90, as YAML 1.1
    reads it), ``yes``/``no``/``on``/``off`` are strings, and ``0777`` is 777; only
    ``true``/``false``, numbers and ``null`` are typed.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"grid: {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ValueError(f"grid: {str(path)!r} is neither .toml nor .yaml/.yml")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"grid: {str(path)!r} is not a text file (byte {e.start} is not UTF-8); accepted: a TOML "
            "or YAML file of parameter = values"
        ) from None
    except OSError as e:
        raise ValueError(f"grid: {str(path)!r} cannot be read ({e.strerror})") from None
    if "\x00" in text:
        raise ValueError(f"grid: {str(path)!r} is not a text file (it contains NUL bytes)")
    if suffix == ".toml":
        import tomllib

        try:
            grid = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"grid: {str(path)!r} is not valid TOML ({str(e).splitlines()[0]})") from None
    else:
        grid = _read_yaml(path, text)
    if not isinstance(grid, dict):
        raise ValueError(
            f"grid: {str(path)!r} must map parameters to values, "  # noqa: TRY004 (input error)
            'e.g. pmem = ["8G", "6T"]'
        )
    return grid


def _read_yaml(path: Path, text: str):
    try:
        import yaml
    except ImportError:
        raise ValueError(
            f"grid: {str(path)!r}: reading YAML needs PyYAML, which is not installed; accepted: a "
            ".toml grid, or pip install pyyaml"
        ) from None
    try:
        return yaml.load(text, Loader=_yaml12_loader())  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        problem, mark = getattr(e, "problem", None), getattr(e, "problem_mark", None)
        why = f"{problem}, line {mark.line + 1}" if problem and mark else " ".join(str(e).split())
        raise ValueError(f"grid: {str(path)!r} is not valid YAML ({why})") from None
    except (TypeError, RecursionError) as e:  # an unhashable key (a list or table as a key), a nest too deep
        raise ValueError(f"grid: {str(path)!r} is not a grid of parameter: values ({e})") from None


_LOADER = None


def _yaml12_loader():
    """PyYAML's SafeLoader with YAML 1.2's core schema and duplicate keys refused."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {}  # drop YAML 1.1's (sexagesimal, yes/no, 0777 octal, 1_000, ...)
    core = [
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", list("~nN") + [""]),
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            list("-+.0123456789"),
        ),
    ]
    for tag, pattern, first in core:
        Loader.add_implicit_resolver(tag, re.compile(pattern), first)

    def construct_int(loader, node):
        text = loader.construct_scalar(node)
        if text.startswith("0o"):
            return int(text[2:], 8)
        return int(text, 16) if text.startswith("0x") else int(text, 10)

    def construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"{key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    _LOADER = Loader
    return Loader
