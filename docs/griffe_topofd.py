"""Griffe extension for the docs: topofd's docstrings as mkdocstrings renders them.

* reST roles (``:class:`x```, ``:func:``, ``:meth:``, ``:mod:``, ``:attr:``,
  ``:data:``, ``:exc:``, ``:obj:``) become optional autorefs: a link when the
  target is rendered somewhere in the site, plain code text otherwise (never
  a warning, never a literal role).  Targets are resolved the way Sphinx
  does, from the object's own scope (its module's imports and members);
* ``topofd.compare`` and ``topofd.Evaluator`` take the options as
  ``**kwargs`` and set ``__signature__`` from the options table at import
  time, which static analysis cannot see: their parameters are replaced by
  that runtime signature (annotations from the ``Options`` fields);
* functions whose docstrings are prose get a Parameters section (type,
  default; an option's help text, or the docstring's own ````name````:
  sentence) and a Returns section from the return annotation, so that
  every API page shows both.

The docstrings in ``topofd/`` are not edited: this runs at build time only.
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(class|func|meth|mod|attr|data|exc|obj|const|type):`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`")
# objects whose signature is set at run time from the options table
RUNTIME_SIGNATURES = {
    "topofd.api.compare": "topofd.api:compare",
    "topofd.evaluator.Evaluator.__init__": "topofd.evaluator:Evaluator.__init__",
}


KIND_TYPES = {"int": "int", "float": "float", "bool": "bool", "str": "str", "path": "str", "choice": "str"}


class TopofdDocs(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "topofd":
            return
        option_fields = _option_fields(pkg)
        for obj in _walk(pkg):
            if obj.path in RUNTIME_SIGNATURES and obj.is_function:
                _runtime_parameters(obj, RUNTIME_SIGNATURES[obj.path], option_fields)
            if obj.docstring is not None:
                obj.docstring.value = _rewrite_roles(obj.docstring.value, obj)
        for obj in _walk(pkg):
            if obj.docstring is not None:
                _prose_types(obj)
        for obj in _walk(pkg):
            if obj.path in RUNTIME_SIGNATURES and obj.docstring is None and obj.parent is not None:
                # Evaluator.__init__: merged into the class's page, it needs
                # a docstring of its own to carry the Parameters section
                owner = obj.parent.docstring
                obj.docstring = griffe.Docstring(
                    "",
                    parent=obj,
                    parser=owner.parser if owner else None,
                    parser_options=owner.parser_options if owner else None,
                )
            if obj.is_function and obj.docstring is not None:
                _add_sections(obj, option_fields)


def _walk(obj: griffe.Object):
    yield obj
    for member in list(obj.members.values()):
        if not member.is_alias:
            yield from _walk(member)


# ------------------------------------------------------------------ roles
def _resolve(target: str, obj: griffe.Object) -> str:
    """The full path of ``target`` as seen from ``obj`` (Sphinx's lookup:
    the object's scope, then its module's, then the name as written)."""
    target = target.strip().lstrip(".")
    head, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            base = scope.resolve(head)
        except (griffe.NameResolutionError, Exception):
            base = None
        if base:
            return f"{base}.{rest}" if rest else base
        scope = scope.parent
    return target


def _rewrite_roles(text: str, obj: griffe.Object) -> str:
    def repl(m: re.Match) -> str:
        _role, tilde, target, explicit = m.groups()
        if explicit:  # :func:`title <target>`
            title, target = target.strip(), explicit
        else:
            title = target.split(".")[-1] if tilde else target
        path = _resolve(target, obj)
        return f'<autoref identifier="{html.escape(path)}" optional><code>{html.escape(title)}</code></autoref>'

    return ROLE.sub(repl, text)


# ------------------------------------------------------- runtime signatures
def _option_fields(pkg: griffe.Module) -> dict[str, griffe.Object]:
    try:
        return dict(pkg["options"]["Options"].members)
    except (KeyError, AttributeError):
        return {}


def _option_specs() -> dict[str, tuple[Any, Any]]:
    from topofd.options import all_specs

    return {n: (s, d) for n, s, d in all_specs()}


def _runtime_parameters(func: griffe.Function, target: str, fields: dict[str, griffe.Object]) -> None:
    module, _, qualname = target.partition(":")
    runtime: Any = importlib.import_module(module)
    for part in qualname.split("."):
        runtime = getattr(runtime, part)
    static = {p.name: p for p in func.parameters}
    specs = _option_specs()
    params = []
    for p in inspect.signature(runtime).parameters.values():
        old = static.get(p.name)
        annotation = old.annotation if old is not None else None
        if annotation is None and p.name in fields:
            annotation = getattr(fields[p.name], "annotation", None)
        if annotation is None and p.name in specs:  # a plug-in's option: no Options field
            kind = specs[p.name][0].kind
            annotation = KIND_TYPES.get(kind, "Any")
            annotation += " | None" if p.default is None else ""
        default = None if p.default is inspect.Parameter.empty else repr(p.default)
        params.append(
            griffe.Parameter(
                p.name, annotation=annotation, kind=griffe.ParameterKind[p.kind.name.lower()], default=default
            )
        )
    func.parameters = griffe.Parameters(*params)


# --------------------------------------------------------- docstring sections
_TYPE_WORDS = {"or", "of", "optional", "default", "and"}


def _is_prose(annotation: str) -> bool:
    """``name : some words.`` in a numpy section: a description written on
    the type's line (it would render as a type, in code font)."""
    s = re.sub(r"\[[^\]]*\]", "", annotation).strip()
    if "``" in s or s.endswith((".", ":", ";")) or "(" in s:
        return True
    pairs = re.findall(r"([A-Za-z]{2,}) (?=([A-Za-z]{2,}))", s)
    return any(a.lower() not in _TYPE_WORDS and b.lower() not in _TYPE_WORDS for a, b in pairs)


def _prose_types(obj: griffe.Object) -> None:
    docstring = obj.docstring
    assert docstring is not None
    try:
        sections = docstring.parsed
    except Exception:
        return
    for section in sections:
        if section.kind not in (griffe.DocstringSectionKind.attributes, griffe.DocstringSectionKind.parameters):
            continue
        for item in section.value:
            annotation = item.annotation
            if isinstance(annotation, str) and _is_prose(annotation):
                item.description = f"{annotation} {item.description or ''}".strip()
                member = obj.members.get(item.name) if obj.is_class else None
                item.annotation = (
                    getattr(member, "annotation", None) if member is not None and not member.is_alias else None
                )


def _own_sentence(doc: str, name: str, names: set[str]) -> str:
    """The docstring's ````name````: ... description, up to the next parameter's or the paragraph's end."""
    # at the start of a sentence or clause, so that "on one ``sampling``:"
    # in running prose is not taken for the parameter's description
    m = re.search(rf"(?:^|[.;:]\s+|\n\s*)``{re.escape(name)}``:\s*(.+?)(?=\n\s*\n|$)", doc, flags=re.S)
    if not m:
        return ""
    text = m.group(1)
    others = "|".join(re.escape(n) for n in names if n != name)
    if others:
        text = re.split(rf"[;.]?\s*``(?:{others})``\s*(?:\([^)]*\))?\s*:", text, maxsplit=1)[0]
    return " ".join(text.split()).rstrip(";")


def _add_sections(func: griffe.Function, fields: dict[str, griffe.Object]) -> None:
    docstring = func.docstring
    assert docstring is not None
    try:
        sections = docstring.parsed
    except Exception:
        return
    kinds = {s.kind for s in sections}
    params = [p for p in func.parameters if p.name not in ("self", "cls")]
    specs = _option_specs() if func.path in RUNTIME_SIGNATURES else {}
    if params and griffe.DocstringSectionKind.parameters not in kinds:
        names = {p.name for p in params}
        entries = []
        for p in params:
            if p.name in specs:
                desc = specs[p.name][0].help
                flag = specs[p.name][0].flag
                desc += f" (CLI: `{flag}`)" if flag else ""
            elif p.name == "options" and specs:
                desc = "An [`Options`][topofd.options.Options]; the keywords below override its fields."
            else:
                desc = _own_sentence(docstring.value, p.name, names)
            if p.kind in (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword):
                continue
            entries.append(
                griffe.DocstringParameter(p.name, annotation=p.annotation, description=desc, value=p.default)
            )
        if entries:
            sections.append(griffe.DocstringSectionParameters(entries))
    returns = func.returns
    if (
        returns is not None
        and str(returns) not in ("None", "NoReturn")
        and griffe.DocstringSectionKind.returns not in kinds
        and func.name != "__init__"
        and "property" not in func.labels
    ):
        sections.append(
            griffe.DocstringSectionReturns([griffe.DocstringReturn("", annotation=returns, description="")])
        )
