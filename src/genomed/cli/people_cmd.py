"""``genomed user|patient|family|consent …``"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genomed.catalog import consents as consent_service
from genomed.catalog import families as family_service
from genomed.catalog import patients as patient_service
from genomed.catalog import users as user_service
from genomed.cli.common import STATE, console, opened_node
from genomed.errors import InputError

users = typer.Typer(help="Staff accounts and roles.", no_args_is_help=True)
patients = typer.Typer(help="Patient inclusion (pseudonymised).", no_args_is_help=True)
families = typer.Typer(help="Pedigrees (PED files of pseudonyms).", no_args_is_help=True)
consents = typer.Typer(help="Consent forms and withdrawals.", no_args_is_help=True)


@users.command("add")
def user_add(username: str, role: Annotated[list[str], typer.Option("--role", help="Repeat for several.")],
             name: Annotated[str, typer.Option(help="Display name.")] = "") -> None:
    """Create a staff account (admin)."""
    with opened_node() as ctx:
        user = user_service.add_user(ctx, STATE.actor(), username, role, name)
    console.print(f"user {user.username} ({user.roles}) created")


@users.command("list")
def user_list() -> None:
    """List staff accounts (admin)."""
    with opened_node() as ctx:
        rows = user_service.list_users(ctx, STATE.actor())
    table = Table("username", "name", "roles", "active")
    for u in rows:
        table.add_row(u.username, u.display_name, u.roles, "yes" if u.active else "no")
    console.print(table)


@users.command("deactivate")
def user_deactivate(username: str) -> None:
    """Deactivate an account; it stays named in the audit trail."""
    with opened_node() as ctx:
        user_service.set_user_active(ctx, STATE.actor(), username, False)
    console.print(f"user {username} deactivated")


@patients.command("include")
def patient_include(
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    sex: Annotated[str, typer.Option(help="male, female or unknown.")],
    national_id: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="GENOMED_NATIONAL_ID",
                                             help="National identifier (prompted, never stored).")],
) -> None:
    """Include a patient; prints the pseudonym the node will know them by."""
    with opened_node() as ctx:
        patient = patient_service.include_patient(ctx, STATE.actor(), national_id=national_id,
                                                  birth_date=birth_date, sex=sex)
    console.print(patient.pseudonym)


@patients.command("lookup")
def patient_lookup(
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    national_id: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="GENOMED_NATIONAL_ID")],
) -> None:
    """Find an included patient's pseudonym from their identity."""
    with opened_node() as ctx:
        console.print(patient_service.find_pseudonym(ctx, STATE.actor(), national_id=national_id,
                                                     birth_date=birth_date))


@patients.command("list")
def patient_list() -> None:
    """List included patients."""
    with opened_node() as ctx:
        rows = patient_service.list_patients(ctx, STATE.actor())
    table = Table("pseudonym", "sex", "born", "included")
    for p in rows:
        table.add_row(p.pseudonym, p.sex, str(p.birth_year), p.included_at.date().isoformat())
    console.print(table)


@families.command("import")
def family_import(ped: Path) -> None:
    """Import a PED file whose individuals are patient pseudonyms."""
    if not ped.is_file():
        raise InputError(f"no such PED file: {ped}")
    with opened_node() as ctx:
        codes = family_service.import_pedigree(ctx, STATE.actor(), ped.read_text(encoding="utf-8"), ped.name)
    console.print(f"imported famil{'y' if len(codes) == 1 else 'ies'} {', '.join(codes)}")


@families.command("export")
def family_export(code: str, output: Annotated[Path | None, typer.Option("-o", "--output")] = None) -> None:
    """Write a family as PED (to stdout or a file)."""
    with opened_node() as ctx:
        text = family_service.export_pedigree(ctx, STATE.actor(), code)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@consents.command("give")
def consent_give(
    pseudonym: str,
    scope: Annotated[list[str], typer.Option("--scope", help="diagnosis, research, national_sharing, "
                                             "international_sharing, case_matching, secondary_findings")],
    form_version: Annotated[str, typer.Option(help="Version of the signed consent form.")],
    given_at: Annotated[str | None, typer.Option(help="ISO time the form was signed (default now).")] = None,
) -> None:
    """Record a signed consent form."""
    moment = None
    if given_at is not None:
        try:
            moment = dt.datetime.fromisoformat(given_at)
        except ValueError as exc:
            raise InputError(f"--given-at must be an ISO date-time, got {given_at!r}") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    with opened_node() as ctx:
        consent = consent_service.give_consent(ctx, STATE.actor(), pseudonym=pseudonym, scopes=scope,
                                               form_version=form_version, given_at=moment)
    console.print(f"consent {consent.id} recorded: {', '.join(s.scope for s in consent.scopes)}")


@consents.command("withdraw")
def consent_withdraw(
    pseudonym: str,
    reason: Annotated[str, typer.Option(help="Why, and how the request was received.")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scopes to withdraw (default: all).")] = None,
) -> None:
    """Withdraw consent scopes from now on (all scopes unless --scope is given)."""
    with opened_node() as ctx:
        withdrawn = consent_service.withdraw_consent(ctx, STATE.actor(), pseudonym=pseudonym, scopes=scope,
                                                     reason=reason)
    console.print(f"withdrawn: {', '.join(withdrawn)}")


@consents.command("show")
def consent_show(pseudonym: str) -> None:
    """A patient's consent history."""
    with opened_node() as ctx:
        patient, history = consent_service.consent_history(ctx, STATE.actor(), pseudonym)
    table = Table("consent", "form", "given", "scope", "withdrawn")
    for consent in history:
        for s in consent.scopes:
            table.add_row(str(consent.id), consent.form_version, consent.given_at.isoformat(timespec="seconds"),
                          s.scope, s.withdrawn_at.isoformat(timespec="seconds") if s.withdrawn_at else "")
    console.print(f"patient {patient.pseudonym}")
    console.print(table)
