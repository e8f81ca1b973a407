"""An option spec: which option, with which of its parameters, parsed and checked once.

Every way into a run (the CLI, :func:`daxsim.run`, the widgets, the chapters' grids, the
sweep) makes a :class:`Spec` first, so a parameter the option does not take, or a value
it does not accept, is a one-line error before any work starts. As text, a spec is the
option followed by the parameters that differ from their defaults::

    >>> from daxsim.study.spec import Spec
    >>> Spec.parse("2+guard")
    Spec('2+guard')
    >>> Spec.parse("huge+page_size=1G+dirty_granularity=4k").params["page_size"] == 1 << 30
    True
    >>> Spec.of("1b", pool_pages=256).label
    'option 1b + pool_pages=256'
    >>> Spec.of("1a", pool_pages=256)
    Traceback (most recent call last):
    ...
    ValueError: pool_pages: only option 1b takes it (transient struct pages in option 1b's pool); got option 1a

Checks that need the machine or the workload (a pool that holds one I/O, a page size
the namespace's alignment allows) are made by :func:`daxsim.study.stages.prepare`,
still before any emulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from daxsim.emu.units import format_size
from daxsim.paths.registry import DESIGNS, Design, design

__all__ = ["Spec"]


@dataclass(frozen=True)
class Spec:
    """An option and its checked parameters (every parameter it takes, defaults filled in)."""

    option: str
    _params: tuple = ()

    @property
    def design(self) -> Design:
        return design(self.option)

    @property
    def params(self) -> MappingProxyType:
        """Parameter name -> canonical value, for every parameter the option takes."""
        return MappingProxyType(dict(self._params))

    @classmethod
    def of(cls, option, **given) -> Spec:
        """``option`` (an id, a spec string or a Spec) with parameters; ``None`` means not given,
        and a parameter another option owns may come with its neutral value (``guard=False``)."""
        if isinstance(option, Spec):
            base = option
        elif isinstance(option, str) and "+" in option:
            base = cls.parse(option)
        else:
            base = None
        d = base.design if base else design(option)
        values = dict(base._params) if base else {p.name: p.default for p in d.params}
        for name, value in given.items():
            if value is None:
                continue
            p = d.param(name)
            if p is None:
                owners = [o for o, other in DESIGNS.items() if other.param(name) is not None]
                if not owners:
                    raise ValueError(f"{name}: no option takes it")
                if _is_neutral(value, DESIGNS[owners[0]].param(name).neutral):
                    continue
                raise ValueError(
                    f"{name}: only option {' or '.join(owners)} takes it "
                    f"({DESIGNS[owners[0]].param(name).help}); got option {d.key}"
                )
            values[name] = p.check(value)
        return cls(d.key, tuple(values.items()))

    @classmethod
    def parse(cls, text) -> Spec:
        """``"2+guard"``, ``"1b+pool_pages=1024"``, ``"huge+page_size=1G"``; a Spec is returned as is."""
        if isinstance(text, Spec):
            return text
        if not isinstance(text, str) or not text.strip():
            raise ValueError(
                f"option: {text!r} is not an option spec; accepted: an option "
                f"({', '.join(DESIGNS)}) followed by +name=value for its parameters, e.g. 2+guard"
            )
        option, *rest = [t.strip() for t in text.strip().split("+")]
        d = design(option)
        given = {}
        for item in rest:
            name, eq, value = item.partition("=")
            p = d.param(name)
            if not eq and p is not None and p.flag:
                value = True
            elif not eq or not value:
                accepted = ", ".join(f"+{q.name}" if q.flag else f"+{q.name}={q.metavar or 'VALUE'}" for q in d.params)
                raise ValueError(
                    f"option: {text!r}: {item!r} is not a parameter of option {d.key}; accepted: {accepted or 'none'}"
                )
            if name in given:
                raise ValueError(f"option: {text!r} gives {name} twice")
            given[name] = value
        return cls.of(d.key, **given)

    def non_default(self) -> dict:
        """The parameters that differ from the option's defaults."""
        d = self.design
        return {k: v for k, v in self._params if v != d.param(k).default}

    @property
    def key(self) -> str:
        """The spec as text: ``"2+guard"``, ``"1b+pool_pages=256"``."""
        parts = [self.option]
        for name, value in self.non_default().items():
            p = self.design.param(name)
            parts.append(name if p.flag else f"{name}={_text(name, value)}")
        return "+".join(parts)

    @property
    def label(self) -> str:
        """How the book names a run: ``"option 2 + guard"``."""
        return " + ".join([self.design.label, *self.key.split("+")[1:]])

    def get(self, name: str, default=None):
        return self.params.get(name, default)

    def __repr__(self) -> str:
        return f"Spec({self.key!r})"

    def __str__(self) -> str:
        return self.key


def _is_neutral(value, neutral) -> bool:
    """Is ``value`` the "not given" value of a parameter (False for a flag, its default name)?"""
    if neutral is None:
        return False
    if isinstance(neutral, bool):
        return type(value).__name__ in ("bool", "bool_") and not value
    return isinstance(value, str) and value == neutral


def _text(name: str, value) -> str:
    if name == "page_size":
        return {4096: "4K", 2 << 20: "2M", 1 << 30: "1G"}.get(value, format_size(value))
    return str(value)
