"""``genomed federation query|identity`` and ``genomed federation peer add|list|remove``."""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node

if TYPE_CHECKING:  # the CLI imports the sharing stack only when a command needs it
    from genomed.share.beacon.requests import BeaconRequest
    from genomed.share.identity import Requester
    from genomed.share.node import SharingNode

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


@federation.command("query")
def query(
    variant: Annotated[str, typer.Option("--variant", help="chrom:pos:ref:alt (1-based), e.g. chr1:55051215:G:GA.")],
    timeout: Annotated[float, typer.Option(help="Seconds each peer has to answer.")] = 2.0,
    boolean: Annotated[bool, typer.Option("--boolean", help="Ask only whether the variant exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the merged Beacon v2 response.")] = False,
) -> None:
    """Ask this node and every peer whether they hold a variant: one row per node, then the peers that failed.

    This node answers in process (as a registered requester of its own country, audited as
    ``cli:<user>``); the peers are asked over HTTP with this node's signature.
    """
    from genomed.share.beacon.requests import BeaconRequest
    from genomed.share.beacon.service import BeaconService
    from genomed.share.federation.query import bounded_timeout
    from genomed.share.identity import Requester, Tier
    from genomed.share.node import SharingNode
    from genomed.store.service import parse_variant

    spec = parse_variant(variant)
    with opened_node() as ctx:
        node = SharingNode.open(ctx)
        requester = Requester(identity=f"cli:{STATE.user or getpass.getuser()}", tier=Tier.REGISTERED,
                              country=ctx.config.country)
        request = BeaconRequest(granularity="boolean" if boolean else "count", granularity_given=True, parameters={
            "assemblyId": ctx.config.genome_build, "referenceName": spec.chrom, "start": [spec.pos - 1],
            "referenceBases": spec.ref, "alternateBases": spec.alt})
        try:
            body = asyncio.run(_ask(node, requester, request, bounded_timeout(timeout)))
        finally:
            BeaconService.of(node).close()
    if as_json:
        print(json.dumps(body, indent=2))
        return
    _print_answer(body)


async def _ask(node: SharingNode, requester: Requester, request: BeaconRequest, timeout: float) -> dict[str, Any]:
    from genomed.share.federation.query import close_client, federated_variants

    try:
        return await federated_variants(node, requester, request, timeout=timeout)
    finally:
        await close_client(node)


def _print_answer(body: dict[str, Any]) -> None:
    summary = body["responseSummary"]
    table = Table("node", "country", "beacon id", "exists", "count", "granularity", "ms", title="answers")
    for result_set in body["response"]["resultSets"]:
        info = result_set["info"]
        counted = info["returnedGranularity"] != "boolean"
        table.add_row(result_set["id"] + (" (this node)" if info["local"] else ""), info["country"],
                      str(info["beaconId"] or ""), "yes" if result_set["exists"] else "no",
                      str(result_set["resultsCount"]) if counted else "-", info["returnedGranularity"],
                      f"{info['latencyMs']:.1f}")
    console.print(table)
    unreachable = body["info"]["unreachable"]
    if unreachable:
        failed = Table("node", "country", "url", "status", "detail", title="peers that did not answer")
        for peer in unreachable:
            failed.add_row(peer["node"], peer["country"], peer["url"], peer["status"], peer["detail"])
        console.print(failed)
    federation_info = body["info"]["federation"]
    total = f", {summary['numTotalResults']} result(s)" if "numTotalResults" in summary else ""
    console.print(f"exists: {'yes' if summary['exists'] else 'no'}{total}; "
                  f"{federation_info['nodesAnswered']} of {federation_info['nodesAsked']} nodes answered "
                  f"in {federation_info['elapsedMs']:.0f} ms", highlight=False)
