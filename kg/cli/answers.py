"""Commands that answer questions from the graph: ``interactions``, ``diagnose``, and ``serve``
(the same answers over HTTP)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Optional

import typer

from kg.cli.common import DbOpt, StoreOpt, UriOpt, app, open_cli_store, reported


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
    from kg.interactions import DrugResolver, check_interactions, format_report, report_json

    _, st = open_cli_store(store, db, neo4j_uri, read_only=True)
    with st, reported():
        report = check_interactions(st, drugs or [], patient_id=patient, resolver=DrugResolver(kb_path=kb),
                                    max_evidence=max_evidence)
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
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="reuse the diagnosis index saved for this exact graph (fingerprint of its documents; $MEDKG_CACHE_DIR)")] = True,
    store: StoreOpt = None,
    db: DbOpt = None,
    neo4j_uri: UriOpt = None,
) -> None:
    """Rank candidate diseases for findings (free text, HPO/SYMP/MeSH CURIEs or names); negated findings count as absent."""
    from kg.diagnosis import DiagnosisIndex, rank_diagnoses
    from kg.diagnosis.cache import cached_index
    from kg.diagnosis.report import format_report

    _, st = open_cli_store(store, db, neo4j_uri, read_only=True)
    with st, reported():
        index = cached_index(st)[0] if cache else DiagnosisIndex.from_store(st)
        report = rank_diagnoses(index, text=text, findings=finding or [], excluded=exclude or [], age=age, sex=sex,
                                top_k=top)
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))


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
    """Serve the REST API (interaction check, diagnosis, read-only Cypher). Keys: MEDKG_API_KEYS=k1,k2.
    Query limits: MEDKG_QUERY_TIMEOUT_S, _MEMORY_MB, _MAX_ROWS, _MAX_BYTES, _WORKERS (docs/SECURITY.md)."""
    import uvicorn

    from kg.api import ApiSettings, create_app
    from kg.config import StoreConfig
    from kg.errors import StoreUnavailableError

    with reported():
        cfg = StoreConfig.resolve(kind=store, path=db, uri=neo4j_uri)
        if cfg.kind == "ladybug" and not cfg.path.exists():  # one line now, not a traceback at start-up
            raise StoreUnavailableError(f"embedded store {cfg.path} does not exist; build a graph first (medkg build ...)")
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
