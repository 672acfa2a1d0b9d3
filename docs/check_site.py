"""Check the built docs site the way a reader sees it: in headless Chromium.

    python docs/check_site.py SITE_DIR [--chromium PATH]

Each page is loaded from disk (``file://``, so nothing can come from a
network) in one headless Chromium, and its DOM, after the scripts ran, is
checked:

* every equation rendered by KaTeX (each ``.arithmatex`` element holds a
  ``.katex`` one, no ``.katex-error``, no raw ``\\(`` or ``\\[`` left in the
  text);
* no literal reST role (``:class:`...```) and no ``Sentinel.UNSET``;
* no script, stylesheet, font or image loaded from another host;
* the Options page lists every option's keyword, the CLI page has its
  command table and every ``topofd compare`` flag, and every registered
  metric has its page.

Exit 1 with one line per problem; 0 prints a summary.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

# Markdown turns :class:`x` into ":class:" and a code element: the role
# name alone is the tell
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const|ref):")
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]")
SKIP_TEXT = {"code", "pre", "script", "style", "textarea", "kbd", "samp"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """The facts the checks need from one DOM: visible text outside code, the
    equations and whether KaTeX rendered them, external resources, ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.text: list[str] = []
        self.code_text: list[str] = []
        self.equations = 0
        self.rendered = 0
        self.katex_errors = 0
        self.external: list[str] = []
        self.ids: set[str] = set()
        self.tables = 0
        self._math: list[list[bool]] = []  # per open .arithmatex: saw .katex inside

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "table":
            self.tables += 1
        for attr in ("src", "href"):
            url = a.get(attr) or ""
            loads = tag in ("script", "img", "iframe", "source") or (
                tag == "link" and (a.get("rel") or "") in ("stylesheet", "preload", "preconnect", "icon")
            )
            if loads and re.match(r"(https?:)?//", url):
                self.external.append(f"<{tag} {attr}={url}>")
        if "katex" in classes and self._math:
            self._math[-1][0] = True
        if "katex-error" in classes:
            self.katex_errors += 1
        if tag in VOID:
            return
        if "arithmatex" in classes:
            self.equations += 1
            self._math.append([False])
        self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        while self.stack:
            t, classes = self.stack.pop()
            if "arithmatex" in classes:
                self.rendered += self._math.pop()[0]
            if t == tag:
                break

    def handle_data(self, data):
        in_code = any(t in SKIP_TEXT or "katex" in c for t, c in self.stack)
        (self.code_text if in_code else self.text).append(data)


HARNESS = """<!doctype html><html><body><div id="out"></div><script>
const pages = %s;
async function run() {
  const out = {};
  for (const page of pages) {
    const frame = document.createElement("iframe");
    const loaded = new Promise((resolve) => (frame.onload = resolve));
    frame.src = page;
    document.body.appendChild(frame);
    await loaded;
    await new Promise((resolve) => setTimeout(resolve, 200));  // the page's own scripts (KaTeX) finish
    out[page] = frame.contentDocument.documentElement.outerHTML;
    frame.remove();
  }
  const json = JSON.stringify(out);
  document.getElementById("out").setAttribute("data-doms", btoa(unescape(encodeURIComponent(json))));
}
run();
</script></body></html>"""


def dump_doms(chromium: str, pages: list[Path]) -> dict[Path, str]:
    """Every page's DOM after its scripts ran, from one headless Chromium:
    a harness page loads each in a frame and hands back its DOM (a
    throwaway profile that lets a file:// page read its frames)."""
    uris = {p.resolve().as_uri(): p for p in pages}
    with tempfile.TemporaryDirectory() as tmp:
        harness = Path(tmp) / "harness.html"
        harness.write_text(HARNESS % json.dumps(list(uris)), encoding="utf-8")
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-web-security",
            "--allow-file-access-from-files",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--virtual-time-budget={20000 + 2000 * len(pages)}",
            "--dump-dom",
            harness.as_uri(),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    m = re.search(r'data-doms="([^"]+)"', out.stdout)
    if out.returncode != 0 or m is None:
        raise RuntimeError(f"chromium exit {out.returncode}, no DOMs back: {out.stderr.strip()[-300:]}")
    doms = json.loads(base64.b64decode(m.group(1)).decode("utf-8"))
    missing = [str(p) for u, p in uris.items() if u not in doms]
    if missing:
        raise RuntimeError(f"chromium gave no DOM for {', '.join(missing)}")
    return {p: doms[u] for u, p in uris.items()}


def check_page(rel: str, dom: str) -> tuple[list[str], Page]:
    p = Page()
    p.feed(dom)
    text = "".join(p.text)
    problems = []
    if p.rendered < p.equations or p.katex_errors:
        problems.append(
            f"{rel}: {p.equations - p.rendered} of {p.equations} equations not rendered, {p.katex_errors} KaTeX errors"
        )
    raw = RAW_MATH.findall(text)
    if raw:
        problems.append(f"{rel}: raw maths delimiters in the text ({len(raw)}, e.g. {raw[0]!r})")
    every = text + "".join(p.code_text)
    roles = ROLE.findall(every)
    if roles:
        problems.append(f"{rel}: {len(roles)} literal roles, e.g. {roles[0]!r}")
    if "Sentinel.UNSET" in every:
        problems.append(f"{rel}: 'Sentinel.UNSET' appears {every.count('Sentinel.UNSET')} times")
    for e in p.external:
        problems.append(f"{rel}: loads from another host: {e}")
    return problems, p


def site_facts() -> tuple[list[str], list[str], list[str]]:
    """Option keywords, ``topofd compare`` flags and metric names, from topofd itself."""
    import topofd.metrics as registry
    from topofd.cli import cli
    from topofd.options import all_specs

    specs = list(all_specs())
    flags = [o for p in cli.commands["compare"].params for o in getattr(p, "opts", []) if o.startswith("--")]
    return [n for n, _, _ in specs], flags, list(registry.names())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "chromium")
    args = ap.parse_args(argv)
    site: Path = args.site
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    if not (site / "index.html").is_file():
        print(f"check_site: error: {site}: no index.html (build the site first)", file=sys.stderr)
        return 2
    doms = dump_doms(args.chromium, pages)
    problems: list[str] = []
    parsed: dict[str, Page] = {}
    equations = 0
    for page, dom in doms.items():
        rel = page.relative_to(site).as_posix()
        found, parsed[rel] = check_page(rel, dom)
        problems += found
        equations += parsed[rel].rendered
    keywords, flags, metrics = site_facts()
    opts = parsed.get("api/options/index.html")
    if opts is None:
        problems.append("api/options/index.html: missing")
    else:
        missing = [k for k in keywords if f"option-{k}" not in opts.ids or k not in "".join(opts.code_text)]
        if missing:
            problems.append(f"Options page lacks {len(missing)} of {len(keywords)} options: {', '.join(missing)}")
    cli_page = parsed.get("cli/index.html")
    if cli_page is None:
        problems.append("cli/index.html: missing")
    else:
        cli_code = "".join(cli_page.code_text)
        absent = [f for f in flags if f not in cli_code]
        if absent:
            problems.append(f"CLI page lacks compare flags: {', '.join(absent)}")
        if cli_page.tables < 2:
            problems.append("CLI page: the command list is not a table")
    for name in metrics:
        if f"api/metrics/{name}/index.html" not in parsed:
            problems.append(f"no page for metric {name!r} (api/metrics/{name}/)")
    if "concepts/index.html" in parsed and parsed["concepts/index.html"].rendered == 0:
        problems.append("concepts/index.html: no equation rendered")
    for line in problems:
        print(f"check_site: {line}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"check_site: {len(pages)} pages in headless Chromium: {equations} equations rendered by KaTeX, "
        f"no raw roles or Sentinel.UNSET, nothing from another host; Options lists all {len(keywords)} options, "
        f"{len(metrics)} metric pages"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
