"""Commands on the graph itself: ``build``, ``query``, ``stats``, ``export``, ``finish-import``,
``schema``, ``rebuild-edges``. Each is a thin wrapper over a plain function of the graph core or
the jobs, which tests call directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from kg.build import BuildOptions
from kg.cli.common import (
    DbOpt,
    DeviceOpt,
    EvidenceTextOpt,
    ExportFormat,
    ExtractMode,
    FormatOpt,
    KbOpt,
    KeepUnlinkedOpt,
    NerModelOpt,
    OnError,
    QuietOpt,
    ReModelOpt,
    ReSymptomModelOpt,
    SchemaTarget,
    StoreOpt,
    UriOpt,
    app,
    echo_skipped,
    fail,
    open_cli_store,
    pipeline_config,
    reported,
    sample_inputs,
)


@app.command()
def build(
    inputs: Annotated[Optional[list[Path]], typer.Argument(help="files or directories (PubTator, BioC, PubMed XML[.gz], .txt, .jsonl, FHIR .json)")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="build from the small bundled sample")] = False,
    fmt: FormatOpt = None,
    on_error: Annotated[OnError, typer.Option(help="fail: validate everything first, write nothing on a bad record; skip: skip and report bad records")] = OnError.fail,
    evidence_text: EvidenceTextOpt = True,
    batch_docs: Annotated[int, typer.Option(help="documents per write transaction")] = 500,
    extract: Annotated[ExtractMode, typer.Option(help="auto: run the extraction pipeline on documents without annotations; always; none")] = ExtractMode.auto,
    ner_model: NerModelOpt = None,
    re_model: ReModelOpt = None,
    re_symptom_model: ReSymptomModelOpt = None,
    kb: KbOpt = None,
    keep_unlinked: KeepUnlinkedOpt = False,
    device: DeviceOpt = "auto",
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
    quiet: QuietOpt = False,
    accept_noncommercial: Annotated[bool, typer.Option("--accept-noncommercial", help="accept non-commercial licences of inputs (DDI-2013 XML, CC BY-NC 4.0)")] = False,
) -> None:
    """Load documents and their annotations into the graph (idempotent: re-running changes nothing)."""
    from kg.jobs import LazyExtractor, check_inputs, run_build

    paths = list(inputs or []) + (sample_inputs() if sample else [])
    if not paths:
        fail(ValueError("give input files/directories or --sample"))
    with reported():  # before any store is opened (or created)
        check_inputs(paths, accept_noncommercial=accept_noncommercial)
    extractor = None
    if extract is not ExtractMode.none:
        pconf = pipeline_config(ner_model=ner_model, re_model=re_model, re_symptom_model=re_symptom_model, kb=kb, device=device, keep_unlinked=keep_unlinked)
        extractor = LazyExtractor(pconf, mode=extract.value)  # type: ignore[arg-type]
    cfg, st = open_cli_store(store, db, neo4j_uri, create=True)
    with st, reported():
        report = run_build(
            paths, st, options=BuildOptions(evidence_text=evidence_text), format=fmt,
            on_error=on_error.value, batch_docs=batch_docs, progress=not quiet,  # type: ignore[arg-type]
            extractor=extractor, accept_noncommercial=accept_noncommercial,
        )
        w = report.write
        typer.echo(
            f"{report.documents_read} documents in {report.seconds:.1f}s ({report.docs_per_second:.0f} docs/s): "
            f"{w.documents_new} new, {w.documents_replaced} replaced, {w.documents_unchanged} unchanged; "
            f"{w.nodes_created} nodes created, {w.evidence_created} evidence, {w.edges_written} edges written, "
            f"{w.edges_deleted} deleted"
        )
        echo_skipped(report.errors)
        if report.errors:
            typer.echo(f"{len(report.errors)} bad records skipped")
        typer.echo(f"store: {cfg.kind} {cfg.uri or cfg.path}")


def parse_param(raw: str) -> tuple[str, Any]:
    """``name=value`` with the value parsed as JSON when it parses, else kept as a string."""
    key, sep, value = raw.partition("=")
    if not sep or not key.isidentifier():
        raise ValueError("--param must look like name=value with a name of letters, digits and _ (e.g. --param drug=aspirin)")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@app.command()
def query(
    cypher_text: Annotated[str, typer.Argument(metavar="CYPHER")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="name=value (value parsed as JSON if it parses, else a string)")] = None,
    write: Annotated[bool, typer.Option("--write", help="allow write clauses (read-only by default)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print rows as JSON lines")] = False,
    timeout: Annotated[float, typer.Option(help="stop the query after this many seconds (0: no limit)")] = 0.0,
    max_rows: Annotated[int, typer.Option(help="print at most this many rows (0: all)")] = 0,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Run one parameterised Cypher statement (read-only unless --write). File access (LOAD/COPY),
    settings, extensions and transaction control are refused in both modes (docs/SECURITY.md)."""
    from kg.config import QueryLimits

    with reported():
        params = dict(parse_param(p) for p in param or [])
        limits = QueryLimits.cli().model_copy(update={"timeout_s": timeout, "max_rows": max_rows})
    _, st = open_cli_store(store, db, neo4j_uri, read_only=not write)
    with st, reported():
        result = st.run_user_query(cypher_text, params, limits=limits, write=write)
    if as_json:
        for row in result.rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
    elif not result.rows:
        typer.echo("(no rows)")
    else:
        typer.echo("\t".join(result.columns))
        for row in result.rows:
            typer.echo("\t".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in row.values()))
    if result.truncated:
        typer.secho(f"(stopped at --max-rows {max_rows})", err=True)


@app.command()
def stats(store: StoreOpt = None, db: DbOpt = None, neo4j_uri: UriOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Node and edge counts per label / type."""
    _, st = open_cli_store(store, db, neo4j_uri, read_only=True)
    with st, reported():
        counts = st.stats()
    if as_json:
        typer.echo(json.dumps(counts))
        return
    for name, n in counts.items():
        typer.echo(f"{name:24s} {n:>10,d}")


@app.command()
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="turtle | graphml | json | neo4j-import")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output file (a new directory for neo4j-import)")],
    compress: Annotated[bool, typer.Option("--gzip", help="neo4j-import: gzip the data files")] = False,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Export the whole graph (Turtle with PROV-O provenance, GraphML, node-link JSON, or
    neo4j-admin bulk-import CSVs: see docs/BULK.md)."""
    from kg.export import export as do_export

    _, st = open_cli_store(store, db, neo4j_uri, read_only=True)
    if fmt is ExportFormat.neo4j_import:
        from kg.bulk import export_neo4j_import

        with st, reported():
            res = export_neo4j_import(st, out, compress=compress)
        typer.echo(f"wrote {sum(res.nodes.values()):,d} nodes and {res.edges:,d} relationships to {out} in {res.seconds:.1f}s")
        if res.lossy_lists:
            typer.secho(f"warning: empty lists of {', '.join(res.lossy_lists)} will import as null", err=True)
        typer.echo(f"import into a stopped, empty database: {out}/import.sh (NEO4J_ADMIN=path/to/neo4j-admin), which runs\n"
                   f"  cd {out} && {res.command()}")
        typer.echo(f"  or, without a Neo4j install: scripts/neo4j-local import --csv {out} --data DATA_DIR")
        typer.echo(f"then start Neo4j and run: medkg finish-import {out} --neo4j-uri bolt://...")
        return
    with st, reported():
        path = do_export(st, fmt.value, out)  # type: ignore[arg-type]
    typer.echo(f"wrote {path}")


@app.command("finish-import")
def finish_import_cmd(
    csv_dir: Annotated[Path, typer.Argument(help="the directory `medkg export --format neo4j-import` wrote")],
    neo4j_uri: UriOpt = None,
) -> None:
    """After `neo4j-admin database import`: create the schema's constraints/indexes, restore empty
    lists, and check the database's counts against the export's manifest."""
    from kg.bulk import finish_import

    _, st = open_cli_store("neo4j", None, neo4j_uri)
    with st, reported():
        rep = finish_import(st, csv_dir)  # type: ignore[arg-type]
    typer.echo(f"ran {rep.statements} post-import statements in {rep.seconds:.1f}s; counts match the export "
               f"({sum(rep.counts[label] for label in st.schema.nodes):,d} nodes, "
               f"{sum(rep.counts[t] for t in st.schema.edges):,d} relationships)")


@app.command("schema")
def schema_cmd(target: Annotated[SchemaTarget, typer.Option("--target", help="neo4j | ladybug | owl | markdown")] = SchemaTarget.neo4j) -> None:
    """Print the schema compiled for a target."""
    from schema.compile import ladybug_ddl, markdown, neo4j_ddl, owl_turtle
    from schema.model import load_schema

    s = load_schema()
    compiled = {
        SchemaTarget.neo4j: lambda: ";\n".join(neo4j_ddl(s)) + ";",
        SchemaTarget.ladybug: lambda: ";\n".join(ladybug_ddl(s)) + ";",
        SchemaTarget.owl: lambda: owl_turtle(s),
        SchemaTarget.markdown: lambda: markdown(s),
    }
    typer.echo(compiled[target]())


@app.command("rebuild-edges")
def rebuild_edges(
    edge_type: Annotated[Optional[list[str]], typer.Option("--type", help="relation type(s) to rebuild [default: all]")] = None,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Re-aggregate and verify every relation edge from the stored evidence (repairs a drifted store)."""
    _, st = open_cli_store(store, db, neo4j_uri)
    with st, reported():
        summary = st.rebuild_edges(edge_type or None)
    typer.echo(f"{summary.edges_written} edges rebuilt and verified, {summary.edges_deleted} deleted")
