"""``load-curated``: curated knowledge sources into the graph (licence switches included)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kg.cli.common import DbOpt, OnError, QuietOpt, StoreOpt, UriOpt, app, echo_skipped, fail, open_cli_store, reported


@app.command("load-curated")
def load_curated_cmd(
    sources: Annotated[Optional[list[str]], typer.Argument(metavar="SOURCE...", help="hpo do symp hsdn common pharmacotherapydb pddi critical ddinter pddi-drugbank")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="every source that needs no licence opt-in (all but ddinter and pddi-drugbank)")] = False,
    accept_noncommercial: Annotated[bool, typer.Option("--accept-noncommercial", help="accept non-commercial licences (required for ddinter, CC BY-NC-SA 4.0, and pddi-drugbank, DrugBank 4.0)")] = False,
    path: Annotated[Optional[list[str]], typer.Option("--path", help="SOURCE=PATH: read a source from PATH instead of its default location")] = None,
    report_file: Annotated[Optional[Path], typer.Option("--report", help="write the drug names not mapped to DrugBank (id, name, source) to this TSV")] = None,
    on_error: Annotated[OnError, typer.Option(help="fail: stop at the first malformed row; skip: skip and report malformed rows")] = OnError.fail,
    bulk: Annotated[Optional[bool], typer.Option("--bulk/--online", help="first load into an empty store all at once (embedded: bulk COPY; Neo4j: batched CREATE without read-back; default: whenever the store holds no document), or always write online in batches")] = None,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Load curated knowledge (HPO, Disease/Symptom Ontology, HSDN, PharmacotherapyDB, DDI lists and rules, opt-in DDInter); idempotent."""
    from kg.jobs.curated_job import check_sources, format_run, load_curated, parse_paths
    from loaders.curated import default_sources

    names = list(dict.fromkeys([*(default_sources() if all_sources else []), *(sources or [])]))
    if not names:
        fail(ValueError("name curated sources to load (hpo do symp hsdn common pharmacotherapydb pddi critical ddinter pddi-drugbank) or pass --all"))
    with reported():
        paths = parse_paths(path or [])
        check_sources([*names, *paths], accept_noncommercial=accept_noncommercial)
        for given in paths.values():  # before the store: a wrong path creates none
            if not given.exists():
                raise FileNotFoundError(f"{given}: no such file or directory")
        if report_file is not None and report_file.is_dir():
            raise IsADirectoryError(21, "is a directory; give a file name for --report", str(report_file))
    cfg, st = open_cli_store(store, db, neo4j_uri, create=True)
    with st, reported():
        run = load_curated(st, names, paths=paths, accept_noncommercial=accept_noncommercial,
                           on_error=on_error.value, progress=not quiet, bulk=bulk)  # type: ignore[arg-type]
        echo_skipped(run.errors)
        typer.echo(format_run(run))
        if report_file is not None:
            typer.echo(f"unmapped names written to {run.write_unmapped(report_file)}")
        typer.echo(f"store: {cfg.kind} {cfg.uri or cfg.path}")
