"""``genomed match …``: Matchmaker Exchange cases of this node, queries to peers, tokens and the benchmark."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node

match = typer.Typer(help="Matchmaker Exchange: offer cases, query peers, manage peer tokens.", no_args_is_help=True)
tokens = typer.Typer(help="The X-Auth-Token of each peer (only its hash is stored for incoming ones).",
                     no_args_is_help=True)
match.add_typer(tokens, name="token")


@match.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="MME JSON: a list of patients, {'patients': [...]} or one patient.")],
) -> None:
    """Import MME patients as match cases (importing states that their consent to matchmaking was given)."""
    from genomed.share.matching.store import import_patients, read_patients_file

    documents = read_patients_file(file)
    with opened_node() as ctx:
        outcome = import_patients(ctx, STATE.actor(), documents, origin=file.name)
    for note in outcome.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(f"imported {len(outcome.added)} new and {len(outcome.updated)} updated match case(s) from {file}",
                  markup=False, highlight=False)


@match.command("publish")
def publish(
    case: Annotated[str, typer.Option("--case", help="Catalog case (prescription) reference.")],
    gene: Annotated[list[str] | None, typer.Option("--gene", help="Publish this candidate gene (repeat); "
                                                                  "default: the top candidates.")] = None,
    top: Annotated[int, typer.Option(help="How many top candidates of the latest interpretation.")] = 3,
    contact_name: Annotated[str, typer.Option(help="Contact name (default: you).")] = "",
    contact_href: Annotated[str, typer.Option(help="Contact URL or mailto: (default: sharing.toml contact_url).")]
        = "",
) -> None:
    """Offer a catalog case to matchmaking (refused without the patient's case-matching consent)."""
    from genomed.share.matching.publish import Contact, publish_case
    from genomed.share.settings import load_sharing

    with opened_node() as ctx:
        published = publish_case(ctx, STATE.actor(), load_sharing(ctx.config.home), case_reference=case,
                                 genes=gene or None, top=top, contact=Contact(contact_name, contact_href))
    genes = ", ".join(dict.fromkeys(f.gene.id for f in published.genomicFeatures)) or "none"
    console.print(f"published case {case} as match case {published.id}: {len(published.features)} feature(s), "
                  f"genes {genes}", markup=False, highlight=False)


@match.command("withdraw")
def withdraw(
    case_id: Annotated[str, typer.Argument(help="Match case id (the MME patient id).")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
) -> None:
    """Stop offering a match case, from now on."""
    from genomed.share.matching.store import withdraw_case

    with opened_node() as ctx:
        row = withdraw_case(ctx, STATE.actor(), case_id, reason=reason)
    console.print(f"match case {row.case_id} withdrawn", markup=False, highlight=False)


@match.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Also list withdrawn and unconsented cases.")] = False,
) -> None:
    """The match cases of this node and whether each may be matched now."""
    from genomed.share.matching.store import list_cases

    with opened_node() as ctx:
        cases = list_cases(ctx, STATE.actor())
    table = Table("case", "source", "label", "genes", "features", "matchable")
    shown = [c for c in cases if all_ or c.matchable]
    for c in shown:
        table.add_row(c.case_id, c.source, c.label, ", ".join(c.genes), str(c.features),
                      "yes" if c.matchable else ("withdrawn" if c.withdrawn_at else "no consent"))
    console.print(table)
    console.print(f"{sum(c.matchable for c in cases)} of {len(cases)} match case(s) matchable now",
                  markup=False, highlight=False)


@match.command("query")
def query(
    peer: Annotated[str, typer.Option("--peer", help="Peer name in sharing.toml.")],
    case: Annotated[str, typer.Option("--case", help="Our match case id to send.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the peer.")] = 30.0,
) -> None:
    """Ask a peer matchmaker for patients like one of our match cases."""
    from genomed.share.matching.outgoing import query_peer_with_case
    from genomed.share.settings import load_sharing

    with opened_node() as ctx:
        answer = query_peer_with_case(ctx, STATE.actor(), load_sharing(ctx.config.home), peer_name=peer,
                                      case_id=case, timeout=timeout)
    table = Table("score", "patient", "label", "genes", "disorders", "contact")
    for result in answer.results:
        p = result.patient
        table.add_row(f"{result.score:.3f}", p.id, p.label or "",
                      ", ".join(dict.fromkeys(f.gene.id for f in p.genomicFeatures)),
                      ", ".join(d.id for d in p.disorders), f"{p.contact.name} <{p.contact.href}>")
    console.print(table)
    for problem in answer.problems:
        console.print(f"skipped: {problem}", markup=False, highlight=False)
    console.print(f"{len(answer.results)} result(s) from {answer.peer}", markup=False, highlight=False)


@match.command("benchmark")
def benchmark(
    file: Annotated[Path | None, typer.Option(help="MME patients with disorders (default: the MME benchmark "
                                                   "patients of the reference data).")] = None,
) -> None:
    """Match each benchmark patient against the others; report same-disorder hits in the top 1 and top 5."""
    from genomed.data import data_file
    from genomed.share.matching.benchmark import BENCHMARK_FILE, evaluate, in_memory_search
    from genomed.share.matching.store import parse_all, read_patients_file

    source = file or data_file(BENCHMARK_FILE)
    patients, _ = parse_all(read_patients_file(source), source.name)
    outcome = evaluate(patients, in_memory_search(patients))
    console.print(f"{outcome.patients} patients, {outcome.with_partner} with a same-disorder partner", markup=False,
                  highlight=False)
    console.print(f"mme_same_disorder_top1 {outcome.top1}/{outcome.patients} = {outcome.top1_fraction:.3f}",
                  markup=False, highlight=False)
    console.print(f"mme_same_disorder_top5 {outcome.top5}/{outcome.patients} = {outcome.top5_fraction:.3f}",
                  markup=False, highlight=False)


@tokens.command("issue")
def issue(peer: Annotated[str, typer.Argument(help="Peer name in sharing.toml.")]) -> None:
    """Create the token PEER will query us with; printed once, only its SHA-256 is stored."""
    from genomed.share.matching.tokens import issue_token

    with opened_node() as ctx:
        token = issue_token(ctx, STATE.actor(), peer)
    console.print(f"X-Auth-Token for peer {peer} (shown once; give it to its operator):", markup=False,
                  highlight=False)
    print(token)


@tokens.command("store")
def store(
    peer: Annotated[str, typer.Argument(help="Peer name in sharing.toml.")],
    token_file: Annotated[Path | None, typer.Option(help="Read the token from this file (default: standard "
                                                         "input), never from the command line.")] = None,
) -> None:
    """Keep the token PEER issued us (sent as our X-Auth-Token to its /match)."""
    from genomed.share.matching.tokens import store_outgoing_token

    token = token_file.read_text() if token_file is not None else sys.stdin.readline()
    with opened_node() as ctx:
        store_outgoing_token(ctx, STATE.actor(), peer, token)
    console.print(f"stored the token peer {peer} issued us", markup=False, highlight=False)


__all__ = ["match", "tokens"]
