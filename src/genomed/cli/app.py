"""The root ``genomed`` command and its global options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import genomed.cli.access_cmd as access_cmd
import genomed.cli.annotate_cmd as annotate_cmd
import genomed.cli.audit_cmd as audit_cmd
import genomed.cli.beacon_cmd as beacon_cmd
import genomed.cli.case_cmd as case_cmd
import genomed.cli.data_cmd as data_cmd
import genomed.cli.demo_cmd as demo_cmd
import genomed.cli.evaluate_cmd as evaluate_cmd
import genomed.cli.federation_cmd as federation_cmd
import genomed.cli.file_cmd as file_cmd
import genomed.cli.ingest_cmd as ingest_cmd
import genomed.cli.match_cmd as match_cmd
import genomed.cli.people_cmd as people_cmd
import genomed.cli.reanalysis_cmd as reanalysis_cmd
import genomed.cli.serve_cmd as serve_cmd
import genomed.cli.simulate_cmd as simulate_cmd
import genomed.cli.variant_cmd as variant_cmd
from genomed import __version__
from genomed.cli.common import STATE, console
from genomed.logs import configure_logging

app = typer.Typer(
    name="genomed",
    help="A node of a national genomic medicine programme.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"genomed {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    home: Annotated[str | None, typer.Option("--home", help="Node home directory [env GENOMED_HOME].")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Act as this user [env GENOMED_USER].")] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
    log_file: Annotated[Path | None, typer.Option(help="Also write the log to this file.")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version.")] = False,
) -> None:
    """Global options; every command acts on one node home as one named user."""
    STATE.home, STATE.user = home, user
    configure_logging(log_level, log_file)


@app.command()
def init(
    home: Annotated[Path, typer.Option("--home", envvar="GENOMED_HOME", help="Directory to create the node in.")],
    node_name: Annotated[str, typer.Option(help="Human name of the node, e.g. 'PFMG Lyon'.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code, e.g. FR.")],
    genome_build: Annotated[str, typer.Option(help="GRCh38 or GRCh37.")] = "GRCh38",
    database_url: Annotated[str, typer.Option(help="Database URL; default: embedded SQLite in the home.")] = "",
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
) -> None:
    """Create a node: configuration, Crypt4GH keys, pseudonymisation key, database, folders.

    The secret key is locked with the passphrase in GENOMED_KEY_PASSPHRASE when it is set.
    """
    import os

    from genomed.node import init_node

    ctx = init_node(home, node_name=node_name, country=country, genome_build=genome_build,
                    database_url=database_url, admin=admin,
                    passphrase=os.environ.get("GENOMED_KEY_PASSPHRASE") or None)
    console.print(f"node [bold]{ctx.config.node_name}[/] ({ctx.config.country}, {ctx.config.genome_build}) "
                  f"created in {ctx.config.home}")
    console.print(f"node id {ctx.config.node_id}; database {ctx.engine.dialect.name}; admin user {admin!r}")
    ctx.close()


app.add_typer(people_cmd.users, name="user")
app.add_typer(people_cmd.patients, name="patient")
app.add_typer(people_cmd.families, name="family")
app.add_typer(people_cmd.consents, name="consent")
app.add_typer(case_cmd.indications, name="indication")
app.add_typer(case_cmd.cases, name="case")
app.add_typer(case_cmd.samples, name="sample")
app.add_typer(case_cmd.analyses, name="analysis")
app.add_typer(case_cmd.reports, name="report")
app.add_typer(file_cmd.files, name="file")
app.add_typer(audit_cmd.audit, name="audit")
app.add_typer(data_cmd.data, name="data")
app.add_typer(simulate_cmd.simulate, name="simulate")
app.add_typer(variant_cmd.variants, name="variant")
app.add_typer(variant_cmd.cohorts, name="cohort")
app.add_typer(variant_cmd.stores, name="store")
app.add_typer(evaluate_cmd.evaluate, name="evaluate")
app.add_typer(annotate_cmd.annotate, name="annotate")
app.add_typer(beacon_cmd.beacon, name="beacon")
app.add_typer(access_cmd.access, name="access")
app.add_typer(federation_cmd.federation, name="federation")
app.add_typer(match_cmd.match, name="match")
app.command(name="reanalyse")(reanalysis_cmd.reanalyse)
app.command(name="serve")(serve_cmd.serve)
app.command(name="demo")(demo_cmd.demo)
app.command(name="ingest")(ingest_cmd.ingest)
