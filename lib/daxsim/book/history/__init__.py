"""What Linux did, 2015 to today: the timeline as data.

:data:`EVENTS` lists the events from the March 2015 thread to today, each mapped to the
option of the study it realised (or argued for, or retired), with the BibTeX key of its
source in ``book/references.bib``. A date is as precise as its source: ``"2015-08-27"``,
``"2015-08"`` or ``"2015"``; where a release or a date could not be checked, the event
says so in ``uncertain`` and never guesses. :func:`events_frame` and :func:`scorecard`
turn them into the chapter's tables; :func:`release_status` says in words what is known
of an event's release, for the prose.

The kernel community's published figures, set beside daxsim's, are in
:mod:`daxsim.book.published`.
"""

from __future__ import annotations

import re

import pandas as pd

from daxsim.book.history import timeline_2015_2017, timeline_2018_today
from daxsim.book.history.event import KINDS, OPTION_TEXT, OPTIONS, Event, midpoint, parse_date

#: the timeline, in date order (by :attr:`Event.when`)
EVENTS: tuple[Event, ...] = timeline_2015_2017.EVENTS + timeline_2018_today.EVENTS


_RELEASE_RE = re.compile(r"(?:Merged for |; )Linux (\d+\.\d+)")


def release_status(source: str, events=EVENTS) -> str:
    """What the timeline says of the release of the event citing ``source`` (a BibTeX key),
    in words the prose can use: ``"merged for Linux 6.17"`` when the event's ref or note
    names its release, else the event's ``uncertain`` label as it stands (``"merge release
    not confirmed"``). A key cited by no event, or by several, is an error."""
    found = [e for e in events if source in e.sources]
    if len(found) != 1:
        raise ValueError(f"source: {source!r} is cited by {len(found)} events; accepted: a key one event cites")
    (e,) = found
    if e.uncertain:
        return e.uncertain
    m = _RELEASE_RE.search(f"{e.ref} {e.note}")
    if not m:
        raise ValueError(f"source: the event citing {source!r} names no release and is not labelled uncertain")
    return f"merged for Linux {m.group(1)}"


def events_frame(events=EVENTS) -> pd.DataFrame:
    """The events as a tidy frame: one row per event, with the year and the date the
    timeline plots (``when``, ISO text), the option's label and the sources joined."""
    rows = []
    for e in events:
        rows.append(
            {
                "date": e.date,
                "when": e.when.isoformat(),
                "year": e.when.year,
                "event": e.event,
                "option": e.option,
                "option_label": OPTION_TEXT[e.option],
                "kind": e.kind,
                "ref": e.ref,
                "sources": ", ".join(e.sources),
                "note": e.note,
                "uncertain": e.uncertain or "—",
            }
        )
    return pd.DataFrame(rows)


def scorecard(events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per option, in the book's order: how many events, how many merged into Linux,
    posted as code, or set back, and the first and latest dates."""
    df = events_frame() if events is None else events
    rows = []
    for o in OPTIONS:
        e = df[df["option"] == o]
        kinds = e["kind"].value_counts()
        rows.append(
            {
                "option": OPTION_TEXT[o],
                "events": len(e),
                **{k: int(kinds.get(k, 0)) for k in KINDS},
                "first": e["date"].iloc[0] if len(e) else "—",
                "latest": e["date"].iloc[-1] if len(e) else "—",
            }
        )
    return pd.DataFrame(rows).set_index("option")


__all__ = [
    "EVENTS",
    "KINDS",
    "OPTIONS",
    "OPTION_TEXT",
    "Event",
    "events_frame",
    "midpoint",
    "parse_date",
    "release_status",
    "scorecard",
]
