"""MkDocs hooks: the reference pages generated from topofd itself at build time.

* ``<!-- topofd:options -->`` in a page becomes the options table (flag, API
  keyword, default, range, help) read from the options specs;
* ``<!-- topofd:cli MODULE:COMMAND PROG -->`` becomes the reference of a click
  command group, rendered here (defaults as values, the group's command list
  as a table) instead of by mkdocs-click, which prints click 8.3's
  ``Sentinel.UNSET`` for options without a default;
* ``<!-- topofd:metrics -->`` becomes the index of the registered metrics, and
  one page per metric (``api/metrics/NAME.md``) is added to the site and to
  the nav section that holds ``api/metrics.md``.

Everything about a metric is read through :func:`metric_info`, and every
option through :func:`option_specs`: the two places to change when the
metric or options API changes.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import re
import sys
from typing import Any

from mkdocs.structure.files import File

METRICS_INDEX = "api/metrics.md"
METRICS_DIR = "api/metrics"
CONCEPTS = "concepts.md"


# ---------------------------------------------------------------- the sources
def option_specs() -> list[tuple[str, Any, Any]]:
    """``(keyword, Spec, default)`` of every option, built-in and plug-in."""
    from topofd.options import all_specs

    return list(all_specs())


NEEDS = {
    "pairs": "paired layouts (a synthetic file per real file, `--pairing`)",
    "train": "the generator's training layouts (`--train` / `train=`)",
    "points": "each layout's cells (their coordinates), not only its diagrams",
}


def metric_info(name: str) -> dict[str, Any]:
    """What the docs show of one registered metric: its plug-in's own
    declarations (``topofd.metrics.base.Metric``) and module docstring."""
    import topofd.metrics as registry

    metric = registry.get(name)
    module = _module_of(metric)
    shared = inspect.getmodule(type(metric))
    return {
        "name": name,
        "summary": metric.summary,
        "columns": [dataclasses.asdict(c) for c in metric.columns],
        "groups": tuple(metric.groups),
        "needs": tuple(sorted(metric.needs)),
        "default": bool(metric.default),
        "options": [(o.name, o.spec, o.default) for o in metric.options],
        "module": module.__name__,
        # the class's module when several plug-ins share one (its docstring
        # holds their common definitions)
        "shared_module": shared.__name__ if shared is not None and shared is not module else None,
    }


def metric_names() -> tuple[str, ...]:
    import topofd.metrics as registry

    return tuple(registry.names())


def _module_of(metric: Any):
    """The module that registers ``metric`` (its ``METRIC``), else the class's."""
    for mod in list(sys.modules.values()):
        if getattr(mod, "METRIC", None) is metric:
            return mod
    return inspect.getmodule(type(metric))


_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`~?([^`]+)`")


def no_roles(text: str) -> str:
    """reST roles as optional cross-references (plain code when the target has no page)."""
    return _ROLE.sub(lambda m: f'<autoref identifier="{m.group(1)}" optional><code>{m.group(1)}</code></autoref>', text)


# ------------------------------------------------------------------- markdown
def cell(text: Any) -> str:
    """``text`` safe inside a Markdown table cell (one line, no column break)."""
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("|", "\\|").replace("*", "\\*")


def code(text: Any) -> str:
    s = str(text)
    return f"`` {s} ``" if "`" in s else f"`{s}`"


def spec_range(spec: Any) -> str:
    """The values an option takes, from its Spec."""
    kind = spec.kind
    if kind == "choice":
        return ", ".join(code(c) for c in spec.choices or ())
    if kind in ("int", "float"):
        word = "integer" if kind == "int" else "number"
        parts = []
        if spec.low is not None:
            parts.append(f"{'&gt;' if spec.low_open else '≥'} {spec.low:g}")
        if getattr(spec, "nonzero", False):
            parts.append("≠ 0")
        return f"{word} {', '.join(parts)}".strip()
    return {
        "bool": "true / false",
        "list": "list (or comma-separated)",
        "canvas": "HEIGHTxWIDTH",
        "path": "folder",
        "file_or_callable": "file (in Python also a callable)",
        "str": "text",
    }.get(kind, kind)


def options_table(rows: list[tuple[str, Any, Any]], *, commands: bool = True) -> str:
    head = "| Flag | API keyword | Default | Values | Commands | Help |\n|---|---|---|---|---|---|\n"
    if not commands:
        head = "| Flag | API keyword | Default | Values | Help |\n|---|---|---|---|---|\n"
    out = []
    for name, spec, default in rows:
        flag = code(spec.flag) if spec.flag else f"— *(API only{': ' + cell(spec.api_only) if spec.api_only else ''})*"
        if spec.flag and getattr(spec, "short", None):
            flag += f", {code(spec.short)}"
        cols = [flag, f'<span id="option-{name}"></span>{code(name)}', code(repr(default)), spec_range(spec)]
        if commands:
            cols.append(", ".join(getattr(spec, "commands", ())))
        cols.append(no_roles(cell(spec.help)))
        out.append("| " + " | ".join(cols) + " |")
    return head + "\n".join(out) + "\n"


# ------------------------------------------------------------------- the CLI
def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "Sentinel" or repr(value) == "Sentinel.UNSET"


def _param_default(p: Any) -> str:
    import click

    d = p.default
    if isinstance(p, click.Option) and p.is_flag:
        on = bool(d) if not _is_unset(d) else False
        if p.secondary_opts:
            return code((p.opts if on else p.secondary_opts)[0])
        return "on" if on else "off"
    if _is_unset(d) or d is None or callable(d):
        return "—"
    if isinstance(d, (list, tuple)):
        d = ",".join(map(str, d))
    return code(d)


def _param_type(p: Any) -> str:
    import click

    t = p.type
    if isinstance(p, click.Option) and p.is_flag:
        return "flag"
    if isinstance(t, click.Choice):
        return ", ".join(code(c) for c in t.choices)
    if isinstance(t, (click.IntRange, click.FloatRange)):
        word = "integer" if isinstance(t, click.IntRange) else "number"
        parts = []
        if t.min is not None:
            parts.append(f"{'&gt;' if t.min_open else '≥'} {t.min:g}")
        if t.max is not None:
            parts.append(f"{'&lt;' if t.max_open else '≤'} {t.max:g}")
        return f"{word} {' and '.join(parts)}"
    if isinstance(t, click.Path):
        return "folder" if not t.file_okay else ("file" if not t.dir_okay else "path")
    return {"integer": "integer", "float": "number", "text": "text", "boolean": "true / false"}.get(t.name, t.name)


def _help_markdown(text: str) -> str:
    """A click help text as Markdown: ``\\b`` blocks of aligned columns become
    tables, other ``\\b`` blocks code blocks, the rest paragraphs."""
    out = []
    for para in re.split(r"\n\s*\n", inspect.cleandoc(text or "")):
        lines = para.split("\n")
        if lines[0].strip() != "\b":
            out.append(cell(para).replace("\\|", "|").replace("\\*", "*"))
            continue
        body = [ln for ln in lines[1:] if ln.strip()]
        rows = [re.split(r"\s{2,}", ln.strip(), maxsplit=1) for ln in body]
        if rows and all(len(r) == 2 for r in rows):
            table = ["| Command | What it does |", "|---|---|"]
            table += [f"| {code(a)} | {cell(b)} |" for a, b in rows]
            out.append("\n".join(table))
        else:
            out.append("```text\n" + "\n".join(body) + "\n```")
    return "\n\n".join(out)


def _command_markdown(cmd: Any, prog: str, level: int, keywords: dict[str, Any]) -> str:
    import click

    ctx = click.Context(cmd, info_name=prog)
    h = "#" * level
    parts = [f"{h} `{prog}`", "", _help_markdown(cmd.help or ""), ""]
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    parts += ["```text", f"{prog} {usage}", "```", ""]
    args = [p for p in cmd.params if isinstance(p, click.Argument)]
    if args:
        parts += ["| Argument | Required | Values |", "|---|---|---|"]
        for p in args:
            many = " (one or more)" if p.nargs == -1 else ""
            parts.append(
                f"| {code(p.human_readable_name)} | {'yes' if p.required else 'no'} | {_param_type(p)}{many} |"
            )
        parts.append("")
    opts = [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]
    if opts:
        parts += ["| Option | API keyword | Default | Values | Help |", "|---|---|---|---|---|"]
        for p in opts:
            flags = ", ".join(code("/".join(x for x in (o, s) if x)) for o, s in _flag_pairs(p))
            kw = code(p.name) if p.name in keywords else ""
            parts.append(f"| {flags} | {kw} | {_param_default(p)} | {_param_type(p)} | {cell(p.help or '')} |")
        parts.append("")
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            parts.append(_command_markdown(sub, f"{prog} {name}", level + 1, keywords))
    return "\n".join(parts)


def _flag_pairs(p: Any) -> list[tuple[str, str]]:
    longs = [o for o in p.opts if o.startswith("--")] or p.opts[:1]
    shorts = [o for o in p.opts if o not in longs]
    pairs = [(longs[0], p.secondary_opts[0] if p.secondary_opts else "")]
    return pairs + [(s, "") for s in shorts]


def cli_markdown(target: str, prog: str) -> str:
    module, _, attr = target.partition(":")
    group = getattr(importlib.import_module(module), attr)
    keywords = {n: s for n, s, _ in option_specs()}
    return _command_markdown(group, prog, 2, keywords)


# --------------------------------------------------------------- the metrics
def metrics_index() -> str:
    rows = ["| Metric | Summary | Report columns | Default | Groups |", "|---|---|---|---|---|"]
    for name in metric_names():
        m = metric_info(name)
        cols = ", ".join(f"{code(c['key'])} ({cell(c['title'])})" for c in m["columns"])
        rows.append(
            f"| [{code(name)}](metrics/{name}.md) | {no_roles(cell(m['summary']))} | {cols} | "
            f"{'yes' if m['default'] else 'no'} | {', '.join(code(g) for g in m['groups'])} |"
        )
    return "\n".join(rows) + "\n"


def concepts_section(info: dict[str, Any], concepts: str) -> tuple[str, str, str] | None:
    """The Concepts section about this metric (its ``##`` heading names the
    metric or one of its columns): ``(title, anchor, body)``, the body's
    relative links made to work from ``api/metrics/NAME/``."""
    words = {info["name"].lower(), *(c["key"].lower() for c in info["columns"])}
    heads = list(re.finditer(r"^## (.+)$", concepts, flags=re.M))
    for i, m in enumerate(heads):
        title = m.group(1).strip()
        if not words & {t.lower() for t in re.findall(r"[A-Za-z_∞]+", title)}:
            continue
        end = heads[i + 1].start() if i + 1 < len(heads) else len(concepts)
        body = concepts[m.end() : end].strip("\n")
        body = re.sub(r"\]\((?!https?:|#|/)([^)]+)\)", r"](../../\1)", body)
        body = re.sub(r"\]\(#", f"](../../{CONCEPTS}#", body)
        slug = re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", title.lower()).strip())
        return title, slug, body
    return None


def _docstring_block(module: str) -> list[str]:
    return [
        f"::: {module}",
        "    options:",
        "      members: false",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "",
    ]


def _anchor(module: str, anchored: set[str]) -> str:
    """The module's name as the heading's id, once in the site: the
    docstrings' :mod: references to it then link to that heading."""
    if module in anchored:
        return ""
    anchored.add(module)
    return f" {{#{module}}}"


def _interval(lo: float, hi: float) -> str:
    def num(x: float) -> str:
        return "∞" if x == math.inf else "−∞" if x == -math.inf else f"{x:g}"

    if lo == -math.inf and hi == math.inf:
        return "any real"
    return f"{'(' if lo == -math.inf else '['}{num(lo)}, {num(hi)}{')' if hi == math.inf else ']'}"


BETTER = {"lower": "lower", "higher": "higher", "none": "— (a diagnostic)"}
SCOPE = {"class": "per class and mean", "layout": "whole layouts (mean row)"}


def _columns_table(columns: list[dict[str, Any]]) -> list[str]:
    out = [
        "| Column | Title | Better | Rows | Range | Ranks a leaderboard | Meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in columns:
        rows = SCOPE.get(c["scope"], c["scope"]) if c.get("mean", True) else "per class only"
        out.append(
            f"| {code(c['key'])} | {cell(c['title'])} | {BETTER.get(c['better'], c['better'])} | {rows} | "
            f"{_interval(*c['range'])} | {'yes' if c['rank'] else 'no'} | {no_roles(cell(c['help']))} |"
        )
    return [*out, "", "Each column also has `_se`, `_lo` and `_hi` columns when an interval exists.", ""]


def metric_page(name: str, concepts: str, anchored: set[str]) -> str:
    m = metric_info(name)
    groups = ", ".join(code(g) for g in m["groups"])
    out = [
        f"# Metric `{name}`",
        "",
        no_roles(cell(m["summary"][:1].upper() + m["summary"][1:]).replace("\\*", "*")),
        "",
        f"* **Selected by:** `--metrics {name}`"
        + (f" or a group: {groups}" if groups else "")
        + ("; in the default selection" if m["default"] else "; not in the default selection"),
        "* **Needs:** "
        + ("; ".join(NEEDS.get(n, n) for n in m["needs"]) or "each layout's H1 diagrams and cell counts"),
        f"* **Plug-in module:** `{m['module']}`",
        "",
        "## Definition, evidence and limits" + _anchor(m["module"], anchored),
        "",
        *_docstring_block(m["module"]),
    ]
    if m["shared_module"]:
        title = f"### Shared with other plug-ins: `{m['shared_module']}`" + _anchor(m["shared_module"], anchored)
        out += [title, "", *_docstring_block(m["shared_module"])]
    section = concepts_section(m, concepts)
    if section:
        title, slug, body = section
        out += ["## Maths and evidence", "", f"*From [Concepts — {title}](../../{CONCEPTS}#{slug}).*", "", body, ""]
    out += ["## Report columns", "", *_columns_table(m["columns"])]
    if m["options"]:
        out += ["## Options", "", options_table(m["options"], commands=False)]
    return "\n".join(out)


# --------------------------------------------------------------------- hooks
def on_config(config, **kwargs):
    """Fill the nav section that holds the metrics index with one page per metric."""

    def walk(items):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                ((title, value),) = item.items()
                if value == METRICS_INDEX:
                    pages = [{"Overview": METRICS_INDEX}]
                    pages += [{name: f"{METRICS_DIR}/{name}.md"} for name in metric_names()]
                    items[i] = {title: pages}
                    return True
                if isinstance(value, list) and walk(value):
                    return True
        return False

    walk(config["nav"] or [])
    return config


def on_files(files, config, **kwargs):
    concepts_file = files.get_file_from_path(CONCEPTS)
    concepts = concepts_file.content_string if concepts_file is not None else ""
    anchored: set[str] = set()
    for name in metric_names():
        page = metric_page(name, concepts, anchored)
        files.append(File.generated(config, f"{METRICS_DIR}/{name}.md", content=page))
    return files


_DIRECTIVE = re.compile(r"<!--\s*topofd:(\w+)\s*(.*?)\s*-->")


def on_page_markdown(markdown, page, config, files, **kwargs):
    def repl(m: re.Match) -> str:
        kind, args = m.group(1), m.group(2).split()
        if kind == "options":
            return options_table(option_specs())
        if kind == "cli":
            return cli_markdown(args[0], args[1])
        if kind == "metrics":
            return metrics_index()
        raise ValueError(f"{page.file.src_uri}: unknown topofd directive {kind!r}")

    return _DIRECTIVE.sub(repl, markdown)
