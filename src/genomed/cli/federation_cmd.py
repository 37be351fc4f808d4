"""``genomed federation query|identity`` and ``genomed federation peer add|list|remove``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node

federation = typer.Typer(help="Ask the federation's nodes at once; manage this node's peers.", no_args_is_help=True)
peers = typer.Typer(help="The peers this node asks and whose signed requests it trusts (sharing.toml).",
                    no_args_is_help=True)
federation.add_typer(peers, name="peer")


@peers.command("add")
def peer_add(
    name: Annotated[str, typer.Argument(help="The peer's name here, e.g. Sweden (its requests are node:<name>).")],
    country: Annotated[str, typer.Option(help="The peer's ISO 3166-1 alpha-2 country code, e.g. SE.")],
    url: Annotated[str, typer.Option(help="The peer's Beacon base URL, e.g. https://beacon.example.se.")],
    public_key: Annotated[str, typer.Option(help="The peer's base64 verify key (its `federation identity`).")] = "",
) -> None:
    """Add a peer to sharing.toml; restart `genomed serve` for the running node to see it."""
    from genomed.share.federation.peers import add_peer
    from genomed.share.settings import Peer

    add_peer(STATE.home_path(), Peer(name=name, country=country.upper(), url=url, public_key=public_key))
    console.print(f"peer [bold]{name}[/] ({country.upper()}, {url}) added"
                  + ("" if public_key else "; without a public key its requests are not trusted as a peer's"))


@peers.command("list")
def peer_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The peers of this node."""
    from genomed.share.federation.signing import parse_verify_key, verify_key_id
    from genomed.share.settings import load_sharing

    known = load_sharing(STATE.home_path()).peers
    rows = [{"name": p.name, "country": p.country, "url": p.url,
             "key_id": verify_key_id(parse_verify_key(p.public_key, p.name)) if p.public_key else ""} for p in known]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "country", "url", "key id")
    for row in rows:
        table.add_row(row["name"], row["country"], row["url"], row["key_id"] or "(no key)")
    console.print(table)


@peers.command("remove")
def peer_remove(name: Annotated[str, typer.Argument(help="The peer's name.")]) -> None:
    """Remove a peer: this node stops asking it and stops trusting its signatures (after a restart)."""
    from genomed.share.federation.peers import remove_peer

    remove_peer(STATE.home_path(), name)
    console.print(f"peer [bold]{name}[/] removed")


@federation.command("identity")
def identity(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """This node's name, country, URL and verify key: the [[peers]] entry its peers add."""
    from genomed.share.federation.peers import node_identity

    with opened_node() as ctx:
        card = node_identity(ctx)
    if as_json:
        print(json.dumps({"name": card.name, "country": card.country, "url": card.url,
                          "public_key": card.public_key}, indent=2))
        return
    print(card.as_peer_toml(), end="")
