"""How one option is described and checked: :class:`Spec`, the value
checks and parsers behind :class:`topofd.options.Options`."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OptionError",
    "Spec",
    "PluginOptions",
    "check_value",
    "parse_list",
    "parse_canvas",
    "signature_with_options",
]


class OptionError(ValueError):
    """A bad option value; ``option`` names the keyword."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


@dataclass(frozen=True)
class Spec:
    """How one option is checked and shown.

    ``kind``: ``choice``, ``int``, ``float``, ``bool``, ``list``, ``str``,
    ``path``, ``file_or_callable`` (a file path, or in Python a callable)
    or ``canvas``.  ``flag``: the CLI flag (``None``: API only, with
    ``api_only`` saying why).  ``commands``: the CLI commands that take it.
    ``role``: ``evaluate`` (the Evaluator takes it), ``read`` (the file
    readers do) or both.  ``recorded``: a reference file stores it, and a
    comparison must use the same value.
    """

    help: str
    kind: str
    flag: str | None = None
    short: str | None = None
    choices: tuple | None = None
    low: float | None = None
    low_open: bool = False
    nonzero: bool = False
    metavar: str | None = None
    commands: tuple[str, ...] = ("compare",)
    role: tuple[str, ...] = ("evaluate",)
    recorded: bool = False
    api_only: str | None = None


SEED_MAX = 2**32 - 1


def parse_list(value: Any, name: str = "list") -> tuple[str, ...] | None:
    """A comma-separated string or a sequence of strings as a tuple (no empty or repeated entry)."""
    if value is None:
        return None
    if isinstance(value, str):
        items = tuple(s.strip() for s in value.split(",") if s.strip())
    else:
        try:
            raw = list(value)
        except TypeError:
            raise OptionError(
                name, f"expected a list or a comma-separated string, not {type(value).__name__}"
            ) from None
        bad = [s for s in raw if not isinstance(s, str)]
        if bad:  # str(None) would name a class 'None'
            raise OptionError(name, f"entries must be strings, got {bad[0]!r}")
        items = tuple(s.strip() for s in raw)
        if not all(items):
            raise OptionError(name, "empty entry")
    if not items:
        raise OptionError(name, f"no {name} given (empty list)")
    if len(set(items)) != len(items):
        raise OptionError(name, f"repeated entry in {', '.join(items)}")
    return items


def parse_canvas(value: Any, name: str = "canvas") -> tuple[int, int] | None:
    """``"256x256"`` or ``(256, 256)`` as ``(height, width)``."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            h, w = (int(s) for s in value.lower().replace("×", "x").split("x"))
        else:
            h, w = (int(v) for v in value)
        if h <= 0 or w <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise OptionError(name, f"{value!r} is not HEIGHTxWIDTH (e.g. 256x256)") from None
    return h, w


def check_value(name: str, spec: Spec, v: Any, none_ok: bool) -> Any:
    """``v`` checked and normalised as ``spec`` says (``none_ok``: ``None`` is allowed)."""
    k = spec.kind
    if k == "list":
        return parse_list(v, name)
    if k == "canvas":
        return parse_canvas(v, name)
    if v is None:
        if none_ok:
            return None
        raise OptionError(name, "must be given (None is not allowed)")
    if k == "choice":
        if v not in (spec.choices or ()):
            raise OptionError(name, f"unknown value {v!r}; choose from {', '.join(spec.choices or ())}")
        return v
    if k == "bool":
        if not isinstance(v, bool) and type(v).__name__ != "bool_":
            raise OptionError(name, f"must be True or False, got {v!r}")
        return bool(v)
    if k == "seed":  # what numpy and scikit-learn take: 0 <= seed < 2**32
        if isinstance(v, bool) or not hasattr(v, "__index__") or not 0 <= int(v) <= SEED_MAX:
            raise OptionError(name, f"must be an integer from 0 to {SEED_MAX}, got {v!r}")
        return int(v)
    if k == "int":
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise OptionError(name, f"must be an integer, got {v!r}")
        v = int(v)
        if spec.low is not None and v < spec.low or spec.nonzero and v == 0:
            extra = " (-1: all cores)" if spec.nonzero else ""
            raise OptionError(
                name, f"must be an integer >= {spec.low:g}{' and non-zero' if spec.nonzero else ''}{extra}, got {v}"
            )
        return v
    if k == "float":
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise OptionError(name, f"must be a number, got {v!r}") from None
        if not math.isfinite(x) or spec.low is not None and (x <= spec.low if spec.low_open else x < spec.low):
            bound = "" if spec.low is None else f" {'>' if spec.low_open else '>='} {spec.low:g}"
            raise OptionError(name, f"must be a finite number{bound}, got {v!r}")
        return x
    if k == "file_or_callable" and callable(v) and not isinstance(v, (str, bytes)):
        return v
    if k in ("str", "path", "file_or_callable"):
        if not isinstance(v, (str, bytes)) and not hasattr(v, "__fspath__"):
            raise OptionError(name, f"must be a string, got {type(v).__name__}")
        return str(v) if k != "str" or hasattr(v, "__fspath__") else v
    raise AssertionError(f"option kind {k!r}")  # pragma: no cover


def signature_with_options(fixed: list[str], defaults: dict[str, Any]) -> inspect.Signature:
    """``fixed`` positional parameters, ``options``, then every option of the
    table (``defaults``: name -> default) as a keyword with its default: the signature ``help()`` and IDEs
    show for ``compare`` and ``Evaluator``, which take ``**kwargs``."""
    P = inspect.Parameter
    return inspect.Signature(
        [
            *(P(n, P.POSITIONAL_OR_KEYWORD) for n in fixed),
            P("options", P.POSITIONAL_OR_KEYWORD, default=None),
            *(P(n, P.KEYWORD_ONLY, default=d) for n, d in defaults.items()),
        ]
    )


class PluginOptions:
    """The options metric plug-ins own: keyword -> ``(spec, owner, default)``.

    They join the one options table (:func:`topofd.options.all_specs`);
    ``resolver`` is the metric registry's check and group expansion of the
    ``metrics`` option (set by the registry, which sits above the table)."""

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[Spec, str, Any]] = {}
        self.resolver: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None

    def add(self, name: str, default: Any, spec: Spec, owner: str, taken: Iterable[tuple[str, Spec, Any]]) -> None:
        """Register ``name``; several plug-ins may share one option by giving
        the same ``spec`` object.  Refused: a keyword or flag of ``taken``
        (the built-in table) or of another plug-in's option."""
        taken = list(taken)
        if name in {n for n, _, _ in taken} or not name.isidentifier():
            raise ValueError(f"metric {owner}: option {name!r} is not a free keyword")
        if name in self._by_name:
            if self._by_name[name][0] is not spec:
                raise ValueError(f"metric {owner}: option {name!r} is already an option of {self._by_name[name][1]}")
            return
        flags = {s.flag for _, s, _ in [*taken, *self.specs()] if s.flag}
        if spec.flag and spec.flag in flags:
            raise ValueError(f"metric {owner}: flag {spec.flag} is taken")
        check_value(name, spec, default, True)
        self._by_name[name] = (spec, owner, default)

    def specs(self) -> Iterator[tuple[str, Spec, Any]]:
        for n, (spec, _, default) in self._by_name.items():
            yield n, spec, default

    def owner(self, name: str) -> str | None:
        return self._by_name[name][1] if name in self._by_name else None

    def default(self, name: str) -> Any:
        if name not in self._by_name:
            raise KeyError(f"no metric registered the option {name!r}")
        return self._by_name[name][2]

    def check(self, values: dict) -> tuple[tuple[str, Any], ...]:
        """``values`` checked by their specs, as sorted ``(keyword, value)`` pairs (hashable, picklable)."""
        out = []
        for k, v in sorted(values.items()):
            if k not in self._by_name:
                raise OptionError(k, "no registered metric has this option")
            spec, _, default = self._by_name[k]
            out.append((k, check_value(k, spec, v, default is None)))
        return tuple(out)
