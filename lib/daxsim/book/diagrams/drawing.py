"""The drawing kit of the diagrams: a :class:`Diagram` (SVG, caption, the numbers it shows),
an SVG builder, text widths, the theme's colours."""

from __future__ import annotations

import html
import itertools

from daxsim.book import theme


WIDTH = 680
_ids = itertools.count()


class Diagram:
    """An SVG figure with a caption; shown as HTML (inline SVG) by Jupyter and Voila."""

    def __init__(self, name: str, svg: str, caption: str, numbers: dict | None = None):
        self.name, self.svg, self.caption = name, svg, caption
        #: the numbers drawn, for the notebooks' hidden checks
        self.numbers = dict(numbers or {})

    def _repr_html_(self) -> str:
        return (
            f'<figure class="daxsim-diagram" data-diagram="{html.escape(self.name)}" style="margin:1em 0">'
            f'{self.svg}<figcaption style="font-size:0.9em;color:{theme.MUTED};text-align:left">'
            f"{html.escape(self.caption)}</figcaption></figure>"
        )

    def __repr__(self) -> str:
        return f"<daxsim diagram {self.name!r}: {self.caption}>"


class Svg:
    """A small SVG writer: every style is an attribute (inline <style> would leak into the page)."""

    def __init__(self, width: float, height: float, label: str):
        self.width, self.height, self.label, self.parts = width, height, label, []
        self.uid = f"dx{next(_ids)}"

    def rect(self, x, y, w, h, fill="#ffffff", stroke="#bbbbbb", rx=4, opacity=1.0, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" rx="{rx}" '
            f'fill="{fill}" stroke="{stroke}" opacity="{opacity}"{d}/>'
        )

    def text(self, x, y, s, size=11, weight=400, anchor="start", fill=theme.INK, opacity=1.0, italic=False):
        style = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}" opacity="{opacity}"{style}>{html.escape(str(s))}</text>'
        )

    def fit_text(self, x, y, s, width, size=11, **kw):
        """Text shrunk (down to 8.5 px) so that it fits *width*; raises if it cannot."""
        need = text_width(s, size) * (1.12 if kw.get("weight", 400) >= 600 else 1.0)
        if need > width:
            size = size * width / need
            if size < 8.5:
                raise ValueError(f"diagram text {s!r} does not fit {width:.0f} px")
        self.text(x, y, s, size=round(size, 2), **kw)

    def line(self, x1, y1, x2, y2, stroke="#888888", width=1.2, arrow=False, dash=None, opacity=1.0):
        a = f' marker-end="url(#{self.uid}-arrow)"' if arrow else ""
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}" opacity="{opacity}"{a}{d}/>'
        )

    def render(self) -> str:
        defs = (
            f'<defs><marker id="{self.uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888888"/>'
            "</marker></defs>"
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height:.0f}" '
            f'width="{self.width}" height="{self.height:.0f}" role="img" aria-label="{html.escape(self.label)}" '
            f'style="max-width:100%;height:auto;font-family:{html.escape(theme.FONT)}">{defs}'
            + "".join(self.parts)
            + "</svg>"
        )


def text_width(s: str, size: float) -> float:
    """Estimated width in px of *s* at font size *size* (sans-serif; digits and most
    letters are about 0.56 em, narrow letters less)."""
    narrow = sum(c in "iljtf.,;:'|!() " for c in str(s))
    wide = sum(c in "mwMW@%" for c in str(s))
    return size * (0.56 * (len(str(s)) - narrow - wide) + 0.3 * narrow + 0.85 * wide)


def size_label(b) -> str:
    from daxsim.emu.units import format_size

    return format_size(int(b)) if b else "0"


def darker(c: str) -> str:
    return theme._shade(c, -0.2)


def known(name: str) -> bool:
    try:
        theme.color(name)
        return True
    except ValueError:
        return False
