"""daxsim.book.history: the timeline's data is well-formed and sourced; charts.timeline_chart
draws and its controls act. The published figures are tested in test_published.py."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from daxsim.book import charts, history
from daxsim.book.history import EVENTS, Event

REPO_ROOT = Path(__file__).resolve().parents[2]
BIB_KEYS = set(re.findall(r"^@\w+\{([^,\s]+),", (REPO_ROOT / "book" / "references.bib").read_text(), re.MULTILINE))


# --------------------------------------------------------------------------- the events


def test_bib_keys_were_read():
    assert len(BIB_KEYS) > 50 and "linux2015zonedevice" in BIB_KEYS


def test_every_date_parses_and_the_events_are_in_date_order():
    whens = [e.when for e in EVENTS]
    for e in EVENTS:
        history.parse_date(e.date)
    assert whens == sorted(whens), [e.date for e in EVENTS]
    assert EVENTS[0].date == "2015-03-16"  # the thread opens the timeline


def test_every_option_is_valid_and_has_an_event():
    assert {e.option for e in EVENTS} == set(history.OPTIONS)
    assert all(e.kind in history.KINDS for e in EVENTS)


def test_every_source_is_in_references_bib():
    missing = sorted({k for e in EVENTS for k in e.sources} - BIB_KEYS)
    assert not missing, f"sources not in book/references.bib: {missing}"


def test_no_duplicate_events():
    assert not [k for k, n in Counter(e.event for e in EVENTS).items() if n > 1]
    assert not [k for k, n in Counter((e.date, e.option, e.sources) for e in EVENTS).items() if n > 1]


def test_every_event_says_what_it_is():
    for e in EVENTS:
        assert e.event and e.ref and e.note, e
        assert e.sources == tuple(dict.fromkeys(e.sources)), f"a source repeated in {e.event!r}"


def test_uncertain_releases_are_never_stated_as_fact():
    """An event whose release is unconfirmed says so; a '?' release is never typed in."""
    for e in EVENTS:
        assert "?" not in e.ref, e.ref
    assert any("not confirmed" in e.uncertain for e in EVENTS)


@pytest.mark.parametrize(
    "date, parts", [("2015-08-27", (2015, 8, 27)), ("2015-08", (2015, 8, None)), ("2015", (2015, None, None))]
)
def test_parse_date(date, parts):
    assert history.parse_date(date) == parts


@pytest.mark.parametrize("date", ["2015-13", "2015-02-30", "15-03-01", "2015/03/01", "", "March 2015", None])
def test_bad_dates_are_refused_naming_the_parameter(date):
    with pytest.raises(ValueError, match=r"^date: .* is not|^day is out of range|^month must be"):
        history.parse_date(date)


def test_midpoint_places_a_month_mid_month_and_a_year_mid_year():
    assert history.midpoint("2015-08-27").isoformat() == "2015-08-27"
    assert history.midpoint("2015-08").isoformat() == "2015-08-16"
    assert history.midpoint("2015-02").isoformat() == "2015-02-14"
    assert history.midpoint("2015").isoformat() == "2015-07-02"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("option", "4", r"^option: '4' is not one of 0, 1a, 1b, 2, 3, huge, nvram$"),
        ("kind", "rumour", r"^kind: 'rumour' is not one of"),
        ("date", "2015-3-1", r"^date: '2015-3-1' is not YYYY-MM-DD, YYYY-MM or YYYY$"),
        ("sources", (), r"^sources: event 'x' has no source$"),
    ],
)
def test_bad_events_are_refused(field, value, message):
    good = {
        "date": "2015-03-16",
        "event": "x",
        "option": "2",
        "kind": "discussion",
        "ref": "r",
        "sources": ("k",),
        "note": "n",
    }
    with pytest.raises(ValueError, match=message):
        Event(**{**good, field: value})


def test_events_frame():
    df = history.events_frame()
    assert len(df) == len(EVENTS)
    assert list(df["when"]) == sorted(df["when"])
    assert set(df["option_label"]) == set(history.OPTION_TEXT.values())
    assert (df["year"] == df["when"].str[:4].astype(int)).all()


# --------------------------------------------------------------------------- the chart


def _chart(**kw):
    df = history.events_frame()
    args = {
        "title": "t",
        "highlight": "option_label",
        "upto": "year",
        "lane_order": list(history.OPTION_TEXT.values()),
        "tooltip": ["date", "event"],
    }
    args.update(kw)
    return charts.timeline_chart(df, "when", "option_label", "kind", **args)


def _svg(spec):
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec)


def _symbols(svg):
    return len(re.findall(r'<path[^>]*aria-roledescription="point"', svg))


def _set(spec, name, value):
    for p in spec["params"]:
        if p["name"] == name:
            p["value"] = value
            return spec
    raise KeyError(name)


def test_timeline_controls_are_bound():
    spec = _chart().to_dict()
    binds = {p["name"]: p["bind"]["input"] for p in spec["params"]}
    assert binds == {"p_year": "range", "p_option_label": "select"}
    select = next(p for p in spec["params"] if p["name"] == "p_option_label")
    assert select["bind"]["options"] == ["all", *history.OPTION_TEXT.values()]


def test_the_year_slider_filters_events():
    spec = _chart().to_dict()
    all_years = _symbols(_svg(spec))
    first = _symbols(_svg(_set(spec, "p_year", 2015)))
    assert all_years == len(EVENTS)
    assert first == sum(e.when.year == 2015 for e in EVENTS) < all_years


def test_the_dropdown_highlights_one_option():
    spec = _chart().to_dict()
    faint = _svg(_set(spec, "p_option_label", history.OPTION_TEXT["1b"])).count('opacity="0.12"')
    assert faint == sum(e.option != "1b" for e in EVENTS)
    assert _svg(_set(spec, "p_option_label", "all")).count('opacity="0.12"') == 0


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"tooltip": ["nope"]}, r"columns \['nope'\] are not in the DataFrame"),
        ({"lane_order": ["0: page cache and copy"]}, r"^lane_order: \[.*\] are in column 'option_label' but not"),
        ({"upto": "event"}, r"^upto: column 'event' must be numeric$"),
    ],
)
def test_timeline_bad_input(kw, message):
    with pytest.raises(ValueError, match=message):
        _chart(**kw)


def test_timeline_refuses_non_dates():
    df = history.events_frame().assign(when="late 2015")
    with pytest.raises(ValueError, match=r"^when: column 'when' holds 'late 2015', not an ISO date"):
        charts.timeline_chart(df, "when", "option_label", title="t")


def test_scorecard_counts_every_event_once():
    score = history.scorecard()
    assert list(score.index) == list(history.OPTION_TEXT.values())
    assert score["events"].sum() == len(EVENTS)
    assert (score[list(history.KINDS)].sum(axis=1) == score["events"]).all()
    row = score.loc[history.OPTION_TEXT["1b"]]
    assert row["first"] == row["latest"] == next(e.date for e in EVENTS if e.option == "1b")


def test_release_status_says_what_the_timeline_says():
    """The chapter's prose on the 2025 series is glued from these words, never typed."""
    assert history.release_status("popple2025pfntremoval") == "merged for Linux 6.17"
    assert history.release_status("popple2025refcount") == "merged for Linux 6.15"
    assert "not confirmed against a tag" in history.release_status("hellwig2025blkrqdmamap")
    assert history.release_status("romanovsky2025dmamapphys") == "merge release not confirmed"
    with pytest.raises(ValueError, match=r"^source: 'nope' is cited by 0 events"):
        history.release_status("nope")
