"""A sweep's files: the table it writes (CSV or Parquet), the journal a resumed sweep
reads back, and the checks that an ``--out`` is the sweep's own before anything runs."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from daxsim.study.grid import (
    AXES,
    as_bool,
)
from daxsim.study.rows import COLUMNS


def check_out(out) -> Path:
    """``out`` checked at start-up: a .csv or .parquet path in a folder this process can
    write, and either new, empty, or a table an earlier sweep wrote (never a foreign file)."""
    if not isinstance(out, (str, os.PathLike)):
        raise ValueError(f"out: {out!r} is not a path; accepted: a .csv or .parquet file")
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"out: {str(out)!r} must end in .csv or .parquet")
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(
                f"out: {str(out)!r}: writing Parquet needs pyarrow, which is not installed; "
                "accepted: a .csv file, or pip install pyarrow"
            ) from None
    if out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a directory; accepted: a .csv or .parquet file")
    if not out.parent.is_dir():
        raise ValueError(f"out: the folder {str(out.parent)!r} does not exist")
    for f in (out, journal_of(out)):
        if f.exists() and not f.is_file():
            raise ValueError(f"out: {str(f)!r} is not a regular file; accepted: a .csv or .parquet file")
    try:  # the sweep appends to the journal and finally replaces out by a file written beside it
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".check"):
            pass
        for f in (out, journal_of(out)):
            if f.exists():
                with open(f, "ab"):
                    pass
    except OSError as e:
        raise ValueError(
            f"out: {str(out)!r} cannot be written ({e.strerror}); accepted: a file in a folder you can write"
        ) from None
    check_own_table(out)
    return out


def check_own_table(out: Path) -> None:
    """Refuse a non-empty file that is not a table of this sweep (its header, or Parquet columns)."""
    header = ",".join(COLUMNS)
    for f in dict.fromkeys((out, journal_of(out))):
        if not f.exists() or f.stat().st_size == 0:
            continue
        if f.suffix.lower() == ".parquet":
            try:
                import pyarrow.parquet as pq

                names = pq.read_schema(f).names
            except Exception:  # noqa: BLE001 (any reader error: not our table)
                names = []
            if not set(COLUMNS) <= set(names):
                raise ValueError(
                    f"out: {str(f)!r} exists and is not a table written by daxsim sweep; accepted: a "
                    "new file, or one from an earlier sweep"
                )
            continue
        with open(f, "rb") as fh:
            first = fh.read(len(header) + 2).split(b"\n")[0].rstrip(b"\r")
        try:
            text = first.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or not (text == header or (header.startswith(text) and f.stat().st_size == len(first))):
            raise ValueError(
                f"out: {str(f)!r} exists and is not a table written by this version of daxsim sweep "
                "(its first line is not the table's header); accepted: a new file, or one from an "
                "earlier sweep"
            )


def journal_of(out: Path) -> Path:
    """Where finished points go as they finish: the CSV itself, or a CSV beside a Parquet file."""
    return out if out.suffix.lower() == ".csv" else out.with_name(out.name + ".partial.csv")


DTYPES = {
    "option": str,
    "spec": str,
    "kernel": str,
    "bound": str,
    "label": str,
    "description": str,
    "memmap": str,
    "hardware": str,
    "workload": str,
    "reason": str,
    "status": str,
    "memmap_variant": str,
    "dirty_granularity": str,
    "bounce_node": str,
}


def read_csv(path: Path) -> pd.DataFrame:
    """A sweep CSV; a last line cut short by an interruption is dropped."""
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if not text.strip():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(
        io.StringIO(text),
        dtype=DTYPES,
        keep_default_na=False,
        na_values={c: [""] for c in COLUMNS if c not in DTYPES},
    )


def read_done(out: Path) -> pd.DataFrame:
    frames = []
    if out.suffix.lower() == ".parquet" and out.exists():
        frames.append(pd.read_parquet(out))
    if journal_of(out).exists():
        frames.append(read_csv(journal_of(out)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    for f in frames:
        missing = [c for c in COLUMNS if c not in f.columns]
        if missing:
            raise ValueError(
                f"out: {str(out)!r} was not written by this version of daxsim sweep "
                f"(no column {missing[0]!r}); accepted: a new file, or one from an earlier sweep"
            )
    df = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    df["data"] = [as_bool(v) for v in df["data"]]
    df["feasible"] = [as_bool(v) for v in df["feasible"]]
    return df.drop_duplicates(subset=["spec", *AXES[1:]], keep="last")


def read_table(path) -> pd.DataFrame:
    """A table a sweep wrote (``.csv`` or ``.parquet``), with its types: options as strings,
    empty reasons as ``""``, booleans as booleans."""
    path = Path(path)
    df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else read_csv(path)
    for c in ("data", "feasible"):
        df[c] = [as_bool(v) for v in df[c]]
    return df


def append_rows(fh, rows: list[dict], header: bool) -> None:
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(fh, header=header, index=False)
    fh.flush()
    os.fsync(fh.fileno())


def write_final(out: Path, df: pd.DataFrame) -> None:
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False)
    os.replace(tmp, out)
    if journal_of(out) != out and journal_of(out).exists():
        journal_of(out).unlink()
