"""``topofd leaderboard``: rank JSON reports in the layout of the TopoCellGen paper's Table 1."""

from __future__ import annotations

from pathlib import Path

import click

from topofd.cli.common import CliError, data_errors
from topofd.errors import one_line
from topofd.output.leaderboard import build_table, build_tables, load_published, load_reports, to_csv, to_markdown

__all__ = ["leaderboard"]


@click.command("leaderboard")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--md", "md_path", type=click.Path(dir_okay=False), help="Write the Markdown table(s) here.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    help="Write the CSV here (with --group: one file per group, suffixed _<protocol>_<k>).",
)
@click.option("--group", is_flag=True, help="Group reports by (protocol, test set) instead of refusing to mix them.")
@click.option("--dataset", default=None, help="Dataset of the test set (for published rows), e.g. brca-m2c, lizard.")
@click.option(
    "--published",
    "published_path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of published rows to quote (see topofd.output.leaderboard.load_published).",
)
@click.option("--no-published", is_flag=True, help="Leave published rows out.")
@click.option("--per-class", is_flag=True, help="Also show per-class TopoFD columns.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the table(s) with their notes as a one-file HTML page.",
)
@data_errors
def leaderboard(reports, md_path, csv_path, group, dataset, published_path, no_published, per_class, html_path):
    """Rank JSON reports of `topofd compare --json` in the layout of the
    TopoCellGen paper's Table 1.

    Rows are ranked by TopoKD, the recommended score, when the reports have
    it (by TopoFD otherwise), with "≈" marking rows not separated from the
    one above; paper TopoFD stays as the column comparable with published
    tables.  Published rows are quoted, never recomputed, and ranked with
    recomputed rows only on the published test set; recomputed MMD has a
    column of its own, named after its estimator."""
    from topofd.storage.atomic import atomic_write_bytes, check_writable_file

    for p, what in ((md_path, "--md"), (csv_path, "--csv"), (html_path, "--html")):
        check_writable_file(Path(p) if p else None, what)
    try:
        data = load_reports(reports)
        published: bool | dict = False if no_published else (load_published(published_path) if published_path else True)
        kw = dict(dataset=dataset, per_class_topofd=per_class)
        tables = build_tables(data, published, **kw) if group else {None: build_table(data, published, **kw)}
    except ValueError as e:
        raise CliError(one_line(e)) from None
    md = "\n".join(to_markdown(df) for df in tables.values())
    click.echo(md, nl=False)
    if md_path:
        atomic_write_bytes(Path(md_path), md.encode())
    if csv_path:
        if len(tables) == 1:
            to_csv(next(iter(tables.values())), csv_path)
        else:
            p = Path(csv_path)
            for k, (g, df) in enumerate(tables.items()):
                to_csv(df, p.with_name(f"{p.stem}_{g[0]}_{k}{p.suffix or '.csv'}"))
    if html_path:
        from topofd.output.html import leaderboard_html

        atomic_write_bytes(html_path, leaderboard_html(tables).encode("utf-8"))
