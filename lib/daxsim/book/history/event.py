"""One step of the history: :class:`Event`, and the dates it is placed by."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass


from daxsim.paths.registry import designs

OPTIONS = designs()
OPTION_TEXT = {
    "0": "0: page cache and copy",
    "1a": "1a: permanent struct page",
    "1b": "1b: struct page under I/O",
    "2": "2: PFNs in the I/O layers",
    "3": "3: a new descriptor",
    "huge": "huge pages",
    "nvram": "NV-RAM as RAM",
}
#: what kind of event: said in a discussion, posted as code, merged, taken back, or outside the kernel
KINDS = ("discussion", "posted", "merged", "setback", "industry")

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class Event:
    """One step of the history.

    ``date`` is ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; ``ref`` the kernel commit,
    release, tag or mailing-list message; ``option`` the study's option it realised;
    ``sources`` BibTeX keys; ``uncertain`` what could not be confirmed ("" if nothing).
    """

    date: str
    event: str
    option: str
    kind: str
    ref: str
    sources: tuple[str, ...]
    note: str
    uncertain: str = ""

    def __post_init__(self):
        parse_date(self.date)
        if self.option not in OPTIONS:
            raise ValueError(f"option: {self.option!r} is not one of {', '.join(OPTIONS)}")
        if self.kind not in KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.sources:
            raise ValueError(f"sources: event {self.event!r} has no source")

    @property
    def when(self) -> dt.date:
        """The middle of the period the date names (mid-month, mid-year): where the
        timeline places the event and how events are ordered."""
        return midpoint(self.date)


def parse_date(date: str) -> tuple[int, int | None, int | None]:
    """``"2015-08-27"`` -> ``(2015, 8, 27)``; ``"2015-08"`` -> ``(2015, 8, None)``."""
    m = _DATE_RE.match(date) if isinstance(date, str) else None
    if not m:
        raise ValueError(f"date: {date!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = (int(g) if g else None for g in m.groups())
    dt.date(year, month or 1, day or 1)  # raises on a month or day that does not exist
    return year, month, day


def midpoint(date: str) -> dt.date:
    """The middle day of the period a date names."""
    year, month, day = parse_date(date)
    if day:
        return dt.date(year, month, day)
    if month:
        return dt.date(year, month, (calendar.monthrange(year, month)[1] + 1) // 2)
    return dt.date(year, 7, 2)
