"""OSTEP's "predict, then reveal": the reader types a guess, a button reveals daxsim's number."""

from __future__ import annotations

import html

import ipywidgets as widgets

from daxsim.book.widgets.common import STATIC_NOTE, _STYLE

__all__ = ["predict"]


def predict(question: str, answer: float, unit: str = "", explanation: str = "") -> widgets.VBox:
    """OSTEP's "predict, then reveal": type a guess, press the button, see daxsim's number.

    Live only (the button needs a kernel); chapters also give the answer in a
    ``{dropdown}`` for the static book.
    """
    guess = widgets.FloatText(description="your guess", style=_STYLE, layout=widgets.Layout(width="240px"))
    button = widgets.Button(description="reveal", button_style="info")
    out = widgets.HTML(value="")
    out.add_class("daxsim-reveal")

    def reveal(_):
        g = guess.value
        ratio = f" (your guess is {g / answer:.2g}&times; that)" if answer and g else ""
        out.value = f"<p><b>daxsim: {answer:,.6g} {html.escape(unit)}</b>{ratio}</p>" + (
            f"<p>{html.escape(explanation)}</p>" if explanation else ""
        )

    button.on_click(reveal)
    note = widgets.HTML(value=f"<small><i>{html.escape(STATIC_NOTE)}</i></small>")
    return widgets.VBox([note, widgets.HTML(f"<p>{html.escape(question)}</p>"), widgets.HBox([guess, button]), out])
