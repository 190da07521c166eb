"""Resumable batch jobs: ``extract`` (inputs -> shard files, locally or on Ray) and ``load``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kg.build import BuildOptions
from kg.cli.common import (
    DbOpt,
    DeviceOpt,
    EngineName,
    EvidenceTextOpt,
    ExtractMode,
    FormatOpt,
    KbOpt,
    KeepUnlinkedOpt,
    NerModelOpt,
    OnError,
    QuietOpt,
    ReModelOpt,
    ReSymptomModelOpt,
    StoreOpt,
    UriOpt,
    app,
    echo_skipped,
    open_cli_store,
    pipeline_config,
    reported,
)


@app.command("extract")
def extract_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="files or directories (any format `medkg build` reads)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="extraction directory (created; re-run the same command to resume)")],
    shard_docs: Annotated[int, typer.Option(help="documents per shard file (the unit of resumption)")] = 1000,
    batch_docs: Annotated[int, typer.Option(help="documents per extractor call inside a shard")] = 64,
    fmt: FormatOpt = None,
    on_error: Annotated[OnError, typer.Option(help="skip: skip bad records, list them in errors-*.jsonl; fail: validate first, write nothing on a bad record")] = OnError.skip,
    restart: Annotated[bool, typer.Option("--restart", help="discard an existing extraction in --out and start over")] = False,
    extract: Annotated[ExtractMode, typer.Option(help="auto: run the pipeline on documents without annotations; always; none")] = ExtractMode.auto,
    ner_model: NerModelOpt = None,
    re_model: ReModelOpt = None,
    re_symptom_model: ReSymptomModelOpt = None,
    kb: KbOpt = None,
    keep_unlinked: KeepUnlinkedOpt = False,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    engine: Annotated[EngineName, typer.Option(help="local: extract in this process; ray: on a Ray cluster (same shards; needs the 'ray' extra of medkg)")] = EngineName.local,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to join: host:port, ray://host:port or auto (default: start a local Ray for this job)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Ray actors, each loading the models once (default: as many as the cluster fits)")] = None,
    cpus_per_worker: Annotated[float, typer.Option(help="CPUs per Ray actor (also its torch threads)")] = 1.0,
    gpus_per_worker: Annotated[float, typer.Option(help="GPUs per Ray actor; 0 = CPU actors, 0.5 = two actors share a GPU")] = 0.0,
    accept_noncommercial: Annotated[bool, typer.Option("--accept-noncommercial", help="accept non-commercial licences of inputs (DDI-2013 XML, CC BY-NC 4.0)")] = False,
) -> None:
    """Extract documents into resumable shard files (then `medkg load DIR`); killing and re-running finishes the same job."""
    from kg.batch import RayOptions, format_extract_summary, run_extract
    from kg.jobs import check_inputs

    pconf = None if extract is ExtractMode.none else pipeline_config(ner_model=ner_model, re_model=re_model, re_symptom_model=re_symptom_model, kb=kb, device=device, keep_unlinked=keep_unlinked)
    with reported():
        check_inputs(inputs, accept_noncommercial=accept_noncommercial)
        ray_opts = RayOptions(address=ray_address, workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)
        report = run_extract(inputs, out, pipeline=pconf, extract=extract.value, shard_docs=shard_docs, batch_docs=batch_docs,  # type: ignore[arg-type]
                             format=fmt, on_error=on_error.value, restart=restart, progress=not quiet,  # type: ignore[arg-type]
                             engine=engine.value, ray=ray_opts)  # type: ignore[arg-type]
    echo_skipped(report.errors)
    typer.echo(format_extract_summary(report))


@app.command("load")
def load_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="extraction directory written by `medkg extract`")],
    evidence_text: EvidenceTextOpt = True,
    batch_docs: Annotated[int, typer.Option(help="documents per write transaction")] = 500,
    partial: Annotated[bool, typer.Option("--partial", help="load an unfinished extraction's shards so far")] = False,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write an extraction directory into the store; killing and re-running finishes with the same graph."""
    from kg.batch import format_load_summary, run_load
    from kg.batch.load import loadable_manifest

    with reported():
        loadable_manifest(directory, allow_partial=partial)  # before the store: a wrong directory creates none
    _, st = open_cli_store(store, db, neo4j_uri, create=True)
    with st, reported():
        report = run_load(directory, st, options=BuildOptions(evidence_text=evidence_text), batch_docs=batch_docs,
                          allow_partial=partial, progress=not quiet)
    typer.echo(format_load_summary(report))
