"""``genomed file put|import|get|share|list``"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genomed.access.purpose import Purpose
from genomed.catalog import files as file_service
from genomed.cli.common import STATE, byte_progress, console, opened_node
from genomed.errors import InputError
from genomed.vault.keys import read_public_key

files = typer.Typer(help="Files encrypted at rest in the vault (Crypt4GH).", no_args_is_help=True)


@files.command("put")
def file_put(path: Path, sample: Annotated[str, typer.Option(help="Sample label.")],
             kind: Annotated[str | None, typer.Option(help="vcf, gvcf, bam, cram, fastq, report, other.")] = None
             ) -> None:
    """Encrypt a file into the vault for a sample; prints its file id."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with opened_node() as ctx, byte_progress(f"encrypting {path.name}", path.stat().st_size) as advance:
        stored = file_service.store_file(ctx, STATE.actor(), sample_label=sample, path=path, kind=kind,
                                         progress=advance)
    console.print(f"{stored.vault_id}  {stored.kind}  {stored.plaintext_size} bytes  sha256 {stored.plaintext_sha256}")


@files.command("import")
def file_import(path: Path, sample: Annotated[str, typer.Option(help="Sample label.")],
                kind: Annotated[str | None, typer.Option()] = None) -> None:
    """Take in a file already Crypt4GH-encrypted for this node's public key."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with opened_node() as ctx, byte_progress(f"verifying {path.name}", path.stat().st_size) as advance:
        stored = file_service.import_encrypted_file(ctx, STATE.actor(), sample_label=sample, path=path, kind=kind,
                                                    progress=advance)
    console.print(f"{stored.vault_id}  {stored.kind}  {stored.plaintext_size} bytes  sha256 {stored.plaintext_sha256}")


@files.command("get")
def file_get(file_id: str, output: Annotated[Path, typer.Option("-o", "--output")],
             purpose: Annotated[str, typer.Option(help="care, research or quality.")] = "care") -> None:
    """Decrypt a stored file, verifying its digest."""
    try:
        chosen = Purpose(purpose)
    except ValueError as exc:
        raise InputError(f"unknown purpose {purpose!r}") from exc
    with opened_node() as ctx:
        with ctx.transaction() as session:
            size = file_service.file_by_vault_id(session, file_id).plaintext_size
        with byte_progress(f"decrypting {file_id[:8]}", size) as advance:
            file_service.read_file(ctx, STATE.actor(), vault_id=file_id, destination=output, purpose=chosen,
                                   progress=advance)
    console.print(f"{output} written and verified")


@files.command("share")
def file_share(file_id: str, recipient_pk: Annotated[Path, typer.Option(help="Recipient's Crypt4GH public key.")],
               country: Annotated[str, typer.Option(help="Recipient's country (ISO alpha-2).")],
               output: Annotated[Path, typer.Option("-o", "--output")]) -> None:
    """Re-encrypt a stored file for a recipient's key (header only), if consent allows."""
    key = read_public_key(recipient_pk)
    if output.exists():
        raise InputError(f"{output} already exists; refusing to overwrite it")
    with opened_node() as ctx:
        try:
            with output.open("wb") as destination:
                file_service.share_file(ctx, STATE.actor(), vault_id=file_id, recipient_public_key=key,
                                        recipient_country=country, destination=destination)
        except BaseException:
            output.unlink(missing_ok=True)
            raise
    console.print(f"{output} encrypted for the recipient")


@files.command("list")
def file_list(sample: Annotated[str | None, typer.Option()] = None) -> None:
    """List stored files."""
    with opened_node() as ctx:
        rows = file_service.list_files(ctx, STATE.actor(), sample)
    table = Table("file id", "sample", "kind", "name", "bytes", "stored")
    for f in rows:
        table.add_row(f.vault_id, f.sample.label if f.sample else "", f.kind, f.original_name,
                      str(f.plaintext_size), f.stored_at.isoformat(timespec="seconds"))
    console.print(table)
