"""What a chart's output carries where it is drawn (daxsim.book.render), and what the live
pages' first view reads from the precomputed cache (daxsim.book.precompute) instead of
building it while a visitor waits."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest
from daxsim.book import controls, explore, render, widgets


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty precompute cache, and a renderer that has sent and built nothing yet."""
    monkeypatch.setenv("DAXSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(render, "_bundle_sent", False)
    monkeypatch.setattr(render, "_bundle_cache", None)
    return tmp_path


def _chart():
    return alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_point().encode(x="x", y="y")


def test_the_book_and_jupyterlab_get_the_spec_and_voila_only_what_it_draws(fresh_cache, monkeypatch):
    monkeypatch.delenv("VOILA_KERNEL_ID", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("VOILA_BASE_URL", raising=False)
    book = render._render(_chart().to_dict())
    assert set(book) == {render.VEGALITE_MIME, "text/html", "text/plain"}
    spec = _chart().to_dict()
    assert book[render.VEGALITE_MIME] == render.themed(spec)
    assert len(book["text/html"]) < 100_000  # no bundle: the book's pages load the vendored one
    monkeypatch.setenv("VOILA_KERNEL_ID", "k")
    first, second = render._render(_chart().to_dict()), render._render(_chart().to_dict())
    assert set(first) == set(second) == {"text/html", "text/plain"}  # no second copy of the spec
    assert len(first["text/html"]) > len(second["text/html"]) + 500_000  # the bundle goes with the first only
    assert "vegaEmbed" in second["text/html"]


def test_the_vega_bundle_is_built_once_then_read_from_the_cache(fresh_cache, monkeypatch):
    import vl_convert

    built = []
    real = vl_convert.javascript_bundle
    monkeypatch.setattr(vl_convert, "javascript_bundle", lambda **kw: built.append(kw) or real(**kw))
    js = render._vega_bundle_js()
    assert len(built) == 1 and "</script" not in js.lower() and len(js) > 500_000
    monkeypatch.setattr(render, "_bundle_cache", None)  # a new kernel: the same bytes, from the cache
    assert render._vega_bundle_js() == js and len(built) == 1
    assert list((fresh_cache / "frames").glob("vega_bundle-*.pkl"))


def test_the_live_explorers_first_chart_comes_from_the_cache_without_building_its_spec(fresh_cache, monkeypatch):
    first = widgets.live_explorer()  # computes the first view and saves it
    svg = first.chart_view.value
    assert "<svg" in svg

    def no(*a, **k):
        raise AssertionError("the first view built its chart's spec again")

    monkeypatch.setattr(explore, "live_chart_spec", no)
    again = widgets.live_explorer()
    assert again.chart_view.value == svg and again.result.value == first.result.value
    with pytest.raises(AssertionError, match="built its chart"):  # a later update draws anew
        again.update()


def test_axis_domains_follow_each_selection_whatever_the_row_order():
    grid = explore.explorer_grid()
    plot = explore._plot_frame(grid)
    plot["dram_size"] = grid["dram_size"]
    keys = controls.Binding(plot, {}, controls.labels({"dram_size": "DRAM"}), None).data[controls.KEY]
    shuffled = plot.sample(frac=1, random_state=1)
    k2 = keys.loc[shuffled.index]
    for p, k in ((plot, keys), (shuffled, k2)):
        held, time = explore._domains(p, k)
        assert list(held) == list(k.unique())
        for key in k.unique():
            rows = p[k.to_numpy() == key]
            dom = controls.padded_domain(rows["bytes"].tolist(), "log", pad=0.08)
            assert held[key] == [dom, controls.size_ticks(dom)]
            assert time[key] == controls.padded_domain(rows["t"].dropna().tolist() or [1.0], "log", pad=0.08)
