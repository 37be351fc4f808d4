"""``genomed access request|list|approve|reject|revoke|passport|public-key``"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import tomli_w
import typer
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node
from genomed.share import access_requests as service
from genomed.share.settings import TrustedBroker, load_sharing
from genomed.share.visas import node_url, public_key_pem

access = typer.Typer(help="Researchers' access requests, grants (GA4GH visas) and passports.", no_args_is_help=True)


@access.command("request")
def access_request(
    dataset: Annotated[str, typer.Option(help="Id of the dataset to access.")],
    purpose: Annotated[str, typer.Option(help="The research question the data will serve.")],
    country: Annotated[str, typer.Option(help="Your country (ISO 3166-1 alpha-2, e.g. SE).")],
) -> None:
    """Ask for controlled access to a dataset (researcher); a data steward decides."""
    with opened_node() as ctx:
        row = service.request_access(ctx, STATE.actor(), dataset, purpose, country)
    console.print(f"access request {row.id} for dataset {row.dataset_id} is pending")


@access.command("list")
def access_list(status: Annotated[str | None, typer.Option(help="pending, approved, rejected or revoked.")]
                = None) -> None:
    """List access requests: all of them for a data steward, your own for a researcher."""
    with opened_node() as ctx:
        listed = service.list_requests(ctx, STATE.actor(), status)
    table = Table("id", "dataset", "requester", "country", "status", "requested", "decided by", "expires", "purpose")
    for item in listed:
        row = item.request
        table.add_row(str(row.id), row.dataset_id, item.requester, row.country, row.status,
                      row.requested_at.isoformat(timespec="minutes"), item.decided_by or "",
                      row.expires_at.isoformat(timespec="minutes") if row.expires_at else "",
                      row.purpose if len(row.purpose) <= 60 else row.purpose[:59] + "…")
    console.print(table)


@access.command("approve")
def access_approve(request_id: int,
                   days: Annotated[int, typer.Option(help="How long the grant lasts.")] = 30) -> None:
    """Approve a pending request (data steward, not your own); its visa is issued at once."""
    with opened_node() as ctx:
        visa = service.approve_access(ctx, STATE.actor(), request_id, days)
    console.print(f"access request {visa.request_id} approved: {visa.subject} may read dataset {visa.dataset_id} "
                  f"until {visa.expires_at.isoformat(timespec='minutes')} (visa {visa.visa_id})")


@access.command("reject")
def access_reject(request_id: int, reason: Annotated[str, typer.Option(help="Why, in words the researcher can act on.")]
                  ) -> None:
    """Reject a pending request (data steward)."""
    with opened_node() as ctx:
        service.reject_access(ctx, STATE.actor(), request_id, reason)
    console.print(f"access request {request_id} rejected")


@access.command("revoke")
def access_revoke(request_id: int, reason: Annotated[str, typer.Option(help="Why the grant ends early.")] = ""
                  ) -> None:
    """Revoke an approved grant (data steward); its visa grants nothing from the next query on."""
    with opened_node() as ctx:
        service.revoke_access(ctx, STATE.actor(), request_id, reason)
    console.print(f"access request {request_id} revoked")


@access.command("passport")
def access_passport() -> None:
    """Print your passport (a JWT with your live visas), for ``Authorization: Bearer`` to the Beacon."""
    with opened_node() as ctx:
        token = service.issue_passport(ctx, STATE.actor())
    typer.echo(token)


@access.command("public-key")
def access_public_key(toml: Annotated[bool, typer.Option("--toml", help="Print a whole [[brokers]] entry.")]
                      = False) -> None:
    """Print this node's issuer key (PEM), for other nodes' ``[[brokers]]`` in sharing.toml.

    The ``--toml`` entry leaves ``country`` empty: our passports state each researcher's country,
    and a broker's configured country would override it.
    """
    with opened_node() as ctx:
        pem = public_key_pem(ctx.keys)
        if not toml:
            typer.echo(pem, nl=False)
            return
        settings = load_sharing(ctx.config.home)
        entry = TrustedBroker(issuer=node_url(settings), public_key=pem)
        typer.echo(tomli_w.dumps({"brokers": [asdict(entry)]}, multiline_strings=True), nl=False)
