"""The fast path for single-sample gVCFs: htslib extracts the columns, Arrow parses them a block at a time.

Why a second path: a gVCF is mostly reference blocks, millions of short lines with one sample each.
Through cyvcf2 every line costs a Python object and a handful of numpy arrays (about 10 µs, ten
times ``bcftools view``), so a node ingesting a hundred genomes would spend its day there. Instead
``bcftools query`` — htslib's own parser, run in-process from the copy pysam bundles — writes the
few columns ingestion needs as tab-separated text, and :mod:`pyarrow.csv` reads that text back into
columns a block at a time. Everything about blocks is then vectorised, and so are the plain
biallelic SNVs the sample carries (most variant lines: their keys need no normalisation); only the
other lines with a real ALT allele go through the same per-record logic as the multi-sample reader.
Its output is identical to the cyvcf2 path's (the tests compare the two on simulated and
hand-written gVCFs). The query holds the GIL while it runs, so a batch of gVCFs is read in one
process per core (:func:`genomed.store.ingestion.read_gvcfs`), not in threads.

The query runs to completion before anything is handed out; if it fails (a malformed or truncated
file, an unusual header), the caller reads the file through cyvcf2 instead, which reports the
damage with its line number. The extracted text is written next to the input (the node's private
staging folder, never the shared temporary directory) and deleted at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.errors import MalformedVCFError, WrongBuildError
from genomed.genome.builds import canonical_name
from genomed.ingest.chunks import NormalisationCounts
from genomed.ingest.decode import (
    GVCF_SYMBOLIC,
    WHERE,
    BlockRows,
    Decoded,
    LocatedError,
    Pending,
    ReaderConfig,
    SnvRecords,
    primary_ucsc,
)
from genomed.store.keys import ALLELE_BITS, MAX_POSITION, POSITION_BITS, allele_code, contig_code

_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_BLOCK_ALTS = sorted(GVCF_SYMBOLIC | {"."})
_BASES = "ACGT"
_SNV_REF = "^[ACGTacgt]$"
_SNV_ALT = "^[ACGTacgt](," + "|,".join(re.escape(a) for a in sorted(GVCF_SYMBOLIC)) + ")?$"
_AD = r"^(\d+|\.)(,(\d+|\.))*$"
# The allele part of the key of each SNV (ref, alt), as genomed.store.keys computes it.
_SNV_CODES = np.array([[allele_code(r, a) if r != a else 0 for a in _BASES] for r in _BASES], dtype=np.int64)
_FIELDS = ("GT", "GQ", "DP", "MIN_DP", "AD")


def extract(path: Path, format_types: dict[str, str]) -> Path | None:
    """Run ``bcftools query`` on the gVCF into a text file beside it; None if it cannot (then use cyvcf2)."""
    if "GT" not in format_types:
        return None
    declared = [name for name in _FIELDS if name in format_types]
    columns = "\t".join(f"%{name}" for name in declared)
    out = path.parent / f".genomed-{uuid.uuid4().hex}.gvcf.tsv"
    try:
        from pysam import bcftools

        bcftools.query("-f", f"%CHROM\t%POS\t%END\t%REF\t%ALT\t%FILTER\t[{columns}]\n", "-o", str(out), str(path),
                       catch_stdout=False)
    except Exception:  # pysam.SamtoolsError, OSError (read-only folder), ImportError: fall back to cyvcf2
        with contextlib.suppress(OSError):
            out.unlink()
        return None
    return out


def read_extracted(text: Path, config: ReaderConfig, format_types: dict[str, str]) -> Generator[Decoded, None, None]:
    """:class:`Decoded` batches from the extracted columns, as the cyvcf2 path would give them."""
    import pyarrow as pa
    from pyarrow import csv

    declared = [name for name in _FIELDS if name in format_types]
    names = ["chrom", "pos", "end", "ref", "alt", "filter", *[name.lower() for name in declared]]
    types = {"chrom": pa.string(), "pos": pa.int64(), "end": pa.int64(), "ref": pa.string(), "alt": pa.string(),
             "filter": pa.string(), "gt": pa.string(), "ad": pa.string(),
             "gq": pa.int64(), "dp": pa.int64(), "min_dp": pa.int64()}
    # One thread: a gVCF batch already reads its files in one process per core, and Arrow's threads
    # would only contend with them (the parse is a small part of the work).
    reader = csv.open_csv(
        text, read_options=csv.ReadOptions(column_names=names, block_size=8 << 20, use_threads=False),
        parse_options=csv.ParseOptions(delimiter="\t", quote_char=False, double_quote=False, escape_char=False),
        convert_options=csv.ConvertOptions(column_types={n: types[n] for n in names}, null_values=["."],
                                           strings_can_be_null=False, quoted_strings_can_be_null=False))
    decoder = _Decoder(config)
    try:
        for batch in reader:
            yield decoder.decode({name: batch.column(name) for name in names})
    finally:
        reader.close()
        with contextlib.suppress(OSError):
            os.unlink(text)


class _Decoder:
    def __init__(self, config: ReaderConfig) -> None:
        self.config = config
        self.rows = 0                                   # lines decoded so far: the record ordinal
        self._contigs: dict[str, tuple[str | None, int]] = {}
        self._genotypes: dict[str, tuple[bool, bool, int, int, int, bool]] = {}

    def _contig(self, name: str) -> tuple[str | None, int]:
        known = self._contigs.get(name)
        if known is None:
            chrom = primary_ucsc(name)
            length = self.config.contig_lengths.get(canonical_name(chrom), MAX_POSITION) if chrom else 0
            known = self._contigs[name] = (chrom, length)
        return known

    def _genotype(self, text: str) -> tuple[bool, bool, int, int, int, bool]:
        """(called, hom-ref, ploidy, allele 1, allele 2 or -1, half-call) of a GT string, cached: gVCFs
        use a handful of distinct ones."""
        known = self._genotypes.get(text)
        if known is None:
            copies = text.replace("|", "/").split("/")
            if len(copies) > 2 or any(c not in (".", "") and not c.isdigit() for c in copies):
                raise ValueError(text)
            alleles = [-1 if c in (".", "") else int(c) for c in copies]
            called = all(a >= 0 for a in alleles)
            known = (called, called and all(a == 0 for a in alleles), len(alleles), alleles[0],
                     alleles[1] if len(alleles) > 1 else -1, not called and any(a >= 0 for a in alleles))
            self._genotypes[text] = known
        return known

    def decode(self, columns: dict[str, Any]) -> Decoded:
        import pyarrow.compute as pc

        first_row = self.rows
        n = len(columns["pos"])
        self.rows += n
        counts = NormalisationCounts(records_read=n)
        notes: Counter[str] = Counter()
        chrom_codes = columns["chrom"].dictionary_encode()
        contigs = [self._contig(name) for name in chrom_codes.dictionary.to_pylist()]
        chrom_index = chrom_codes.indices.to_numpy(zero_copy_only=False)
        ucsc = np.array([c for c, _ in contigs] + [None], dtype=object)[chrom_index]
        primary = np.array([c is not None for c, _ in contigs], dtype=bool)[chrom_index]
        length = np.array([length for _, length in contigs], dtype=np.int64)[chrom_index]
        pos = columns["pos"].to_numpy(zero_copy_only=False)
        end = columns["end"].to_numpy(zero_copy_only=False)
        counts.skipped_other_contigs = int((~primary).sum())
        bad = np.flatnonzero(primary & ((pos < 1) | (pos > length)))
        if len(bad):
            self._bad_position(int(bad[0]), first_row, columns, ucsc, length)
        valid_ref = pc.ascii_is_alpha(columns["ref"]).to_numpy(zero_copy_only=False)   # ^[A-Za-z]+$
        if not valid_ref[primary].all():
            row = int(np.flatnonzero(primary & ~valid_ref)[0])
            raise LocatedError(first_row + row, MalformedVCFError,
                               f"{WHERE}: {columns['chrom'][row]}:{pos[row]} has an invalid REF "
                               f"{columns['ref'][row].as_py()!r}")
        gt_codes = columns["gt"].dictionary_encode()
        try:
            table = [self._genotype(t) for t in gt_codes.dictionary.to_pylist()]
        except ValueError as exc:
            row = int(np.flatnonzero(np.asarray(columns["gt"].to_pylist(), dtype=object) == exc.args[0])[0])
            raise LocatedError(first_row + row, MalformedVCFError,
                               f"{WHERE}: cannot read the genotype {exc.args[0]!r}") from exc
        gt_index = gt_codes.indices.to_numpy(zero_copy_only=False)
        called, homref, ploidy, allele_1, allele_2, half = (np.array(column)[gt_index]
                                                           for column in zip(*table, strict=True))
        n_half = int((primary & half).sum())
        if n_half:
            notes["half-missing genotypes (such as 0/.) read as no-calls"] += n_half
        block_alt = pc.is_in(columns["alt"], value_set=_pa_strings(_BLOCK_ALTS)).to_numpy(zero_copy_only=False)

        def number(name: str) -> npt.NDArray[np.int64]:
            if name not in columns:
                return np.full(n, -1, dtype=np.int64)
            column = columns[name].fill_null(-1) if columns[name].null_count else columns[name]
            values: npt.NDArray[np.int64] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)
            return values

        gq, dp, min_dp = number("gq"), number("dp"), number("min_dp")
        decoded = Decoded([], counts, notes, [], [], np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int32), ())
        self._observe_ploidy(decoded, [c for c, _ in contigs], chrom_index, pos, called, ploidy, allele_1, allele_2)

        # reference blocks: every line at which the sample is called hom-ref
        is_block = primary & homref
        rows = np.flatnonzero(is_block)
        depth = np.where(min_dp[rows] >= 0, min_dp[rows], dp[rows])
        if len(rows):
            decoded.blocks = BlockRows(ucsc[rows], pos[rows], end[rows], depth, gq[rows])
        no_call_blocks = int((primary & block_alt & ~called).sum())
        if no_call_blocks:
            notes["gVCF reference blocks skipped: no-call (./.) blocks cover nothing"] += no_call_blocks

        # variant lines: the few that carry a real ALT; plain SNVs at once, the others one by one
        candidates = np.flatnonzero(primary & ~homref & ~block_alt)
        if len(candidates):
            snv = self._simple_snvs(candidates, columns, called, ploidy, allele_1, allele_2)
            out_rows = self._variants(decoded, candidates[~snv].tolist(), first_row, columns, ucsc, pos, end, called,
                                      ploidy, allele_1, allele_2, gq, dp)
            if snv.any():
                self._add_snvs(decoded, candidates[snv], out_rows, first_row, columns, ucsc, pos, ploidy, allele_1,
                               allele_2, gq, dp)
        return decoded

    def _bad_position(self, row: int, first_row: int, columns: dict[str, Any], ucsc: npt.NDArray[Any],
                      length: npt.NDArray[np.int64]) -> None:
        name, pos = columns["chrom"][row].as_py(), int(columns["pos"][row].as_py())
        if pos < 1:
            raise LocatedError(first_row + row, MalformedVCFError,
                               f"{WHERE}: {name} position {pos} is not a 1-based position")
        build = self.config.build
        raise LocatedError(first_row + row, WrongBuildError,
                           f"{WHERE}: {name}:{pos} lies beyond the end of {ucsc[row]} in {build} "
                           f"({int(length[row]):,} bp); the file was not called on {build}")

    def _variants(self, decoded: Decoded, rows: list[int], first_row: int, columns: dict[str, Any],
                  ucsc: npt.NDArray[Any], pos: npt.NDArray[np.int64], end: npt.NDArray[np.int64],
                  called: npt.NDArray[np.bool_], ploidy: npt.NDArray[np.int64], allele_1: npt.NDArray[np.int64],
                  allele_2: npt.NDArray[np.int64], gq: npt.NDArray[np.int64],
                  dp: npt.NDArray[np.int64]) -> list[int]:
        """Variant lines one by one, into ``decoded``; the line (row) of each output, in order."""
        out_rows: list[int] = []
        if not rows:
            return out_rows
        refs = columns["ref"].take(rows).to_pylist()
        alts = columns["alt"].take(rows).to_pylist()
        filters = columns["filter"].take(rows).to_pylist()
        ads: list[str] = columns["ad"].take(rows).to_pylist() if "ad" in columns else [""] * len(rows)
        gt_rows: list[tuple[int, int, int, int, int, int, int]] = []
        an: list[int] = []
        skipped = 0
        for k, row in enumerate(rows):
            alt_list = alts[k].split(",")
            kept: list[tuple[int, str]] = []
            dropped = 0
            for index, alt in enumerate(alt_list, start=1):
                if alt in GVCF_SYMBOLIC:
                    continue
                if _ALLELE.match(alt):
                    kept.append((index, alt.upper()))
                elif alt == "*" or alt.startswith("<") or "[" in alt or "]" in alt:
                    dropped += 1
                else:
                    raise LocatedError(first_row + row, MalformedVCFError,
                                       f"{WHERE}: {columns['chrom'][row].as_py()}:{pos[row]} has an invalid ALT "
                                       f"allele {alt!r}")
            if dropped and kept:
                decoded.notes["symbolic or spanning-deletion ALT alleles dropped beside sequence ALTs (their "
                              "carriers still count as called at the other alleles)"] += dropped
            copies = (int(allele_1[row]),) if ploidy[row] == 1 else (int(allele_1[row]), int(allele_2[row]))
            depths = [int(v) if v not in (".", "") else -1 for v in ads[k].split(",")] if ads[k] else []
            carried = [(index, alt) for index, alt in kept if called[row] and index in copies]
            skipped += len(kept) - len(carried)
            if len(kept) > 1:
                decoded.counts.multiallelic_split += 1
            if not carried:
                continue
            pending = Pending(first_row + row, str(ucsc[row]), int(pos[row]), refs[k].upper(), carried,
                              filters[k] in ("PASS", "."), int(end[row]))
            for index, _alt in carried:
                out_rows.append(row)
                decoded.src.append(len(decoded.pending))
                decoded.which.append(index)
                an.append(int(ploidy[row]))
                gt_rows.append((len(an) - 1, copies.count(index), int(ploidy[row]), min(int(gq[row]), 32767),
                                int(dp[row]), depths[0] if depths else -1,
                                depths[index] if len(depths) > index else -1))
            decoded.pending.append(pending)
        if skipped:
            decoded.notes["gVCF records skipped: the sample is not called there, or carries only <NON_REF>"] += skipped
        if not gt_rows:
            return out_rows
        table = np.array(gt_rows, dtype=np.int64)
        decoded.keep = np.ones(len(decoded.src), dtype=bool)
        decoded.an = np.array(an, dtype=np.int32)
        decoded.gt = (table[:, 0].astype(np.int32), np.zeros(len(table), dtype=np.int32),
                      table[:, 1].astype(np.int8), table[:, 2].astype(np.int8), table[:, 3].astype(np.int16),
                      table[:, 4].astype(np.int32), table[:, 5].astype(np.int32), table[:, 6].astype(np.int32))
        return out_rows

    def _simple_snvs(self, rows: npt.NDArray[np.int64], columns: dict[str, Any], called: npt.NDArray[np.bool_],
                     ploidy: npt.NDArray[np.int64], allele_1: npt.NDArray[np.int64],
                     allele_2: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which variant lines are plain biallelic SNVs the sample carries, with allele depths that are numbers.

        Most variant lines of a gVCF are; they are decoded at once (:meth:`_add_snvs`), the others one by one.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        take = pa.array(rows)
        ref, alt = columns["ref"].take(take), columns["alt"].take(take)
        a1, a2, haploid = allele_1[rows], allele_2[rows], ploidy[rows] == 1
        simple: npt.NDArray[np.bool_] = (
            called[rows] & ((a1 == 0) | (a1 == 1)) & (haploid | (a2 == 0) | (a2 == 1))
            & ((a1 == 1) | (~haploid & (a2 == 1)))
            & pc.match_substring_regex(ref, _SNV_REF).to_numpy(zero_copy_only=False)
            & pc.match_substring_regex(alt, _SNV_ALT).to_numpy(zero_copy_only=False)
            & pc.not_equal(pc.utf8_upper(ref), pc.utf8_upper(pc.utf8_slice_codeunits(alt, 0, 1))).to_numpy(
                zero_copy_only=False))
        if "ad" in columns:
            simple &= pc.match_substring_regex(columns["ad"].take(take), _AD).to_numpy(zero_copy_only=False)
        return simple

    def _add_snvs(self, decoded: Decoded, rows: npt.NDArray[np.int64], out_rows: list[int], first_row: int,
                  columns: dict[str, Any], ucsc: npt.NDArray[Any], pos: npt.NDArray[np.int64],
                  ploidy: npt.NDArray[np.int64], allele_1: npt.NDArray[np.int64], allele_2: npt.NDArray[np.int64],
                  gq: npt.NDArray[np.int64], dp: npt.NDArray[np.int64]) -> None:
        """Plain SNV lines decoded at once, their outputs merged in line order with those :meth:`_variants` made.

        They give exactly what :meth:`_variants` and the reader's per-record step would (one output each, its
        key computed here since an SNV needs no normalisation); their outputs have no :class:`Pending`.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        take = pa.array(rows)
        ref = pc.utf8_upper(columns["ref"].take(take))
        alt = pc.utf8_upper(pc.utf8_slice_codeunits(columns["alt"].take(take), 0, 1))
        ref_base = pc.index_in(ref, value_set=_pa_strings(list(_BASES))).to_numpy(zero_copy_only=False)
        alt_base = pc.index_in(alt, value_set=_pa_strings(list(_BASES))).to_numpy(zero_copy_only=False)
        chrom = ucsc[rows]
        names, inverse = np.unique(chrom.astype(str), return_inverse=True)
        contig = np.array([contig_code(str(name)) for name in names], dtype=np.int64)[inverse]
        at = pos[rows].astype(np.int64)
        key = (contig << (POSITION_BITS + ALLELE_BITS)) | (at << ALLELE_BITS) | _SNV_CODES[ref_base, alt_base]
        filter_pass = pc.is_in(columns["filter"].take(take), value_set=_pa_strings(["PASS", "."])).to_numpy(
            zero_copy_only=False)
        p, a1, a2 = ploidy[rows], allele_1[rows], allele_2[rows]
        alt_count = (a1 == 1).astype(np.int8) + ((p == 2) & (a2 == 1)).astype(np.int8)
        if "ad" in columns:
            depths = pc.split_pattern(columns["ad"].take(take), ",")
            lengths = pc.list_value_length(depths).to_numpy(zero_copy_only=False)
            ad_ref = _depths(pc.list_element(depths, 0))
            second = pc.list_element(pc.list_slice(depths, 0, 2, return_fixed_size_list=False).filter(
                pa.array(lengths > 1)), 1)
            ad_alt = np.full(len(rows), -1, dtype=np.int64)
            ad_alt[lengths > 1] = _depths(second)
        else:
            ad_ref = ad_alt = np.full(len(rows), -1, dtype=np.int64)
        fast = (p.astype(np.int32), alt_count, p.astype(np.int8), np.minimum(gq[rows], 32767).astype(np.int16),
                dp[rows].astype(np.int32), ad_ref.astype(np.int32), ad_alt.astype(np.int32))

        n_slow, n_fast = len(out_rows), len(rows)
        order = np.argsort(np.concatenate([np.asarray(out_rows, dtype=np.int64), rows]), kind="stable")
        position = np.empty(n_slow + n_fast, dtype=np.int64)   # new place of each output (slow ones first)
        position[order] = np.arange(n_slow + n_fast)
        decoded.src = np.concatenate([np.asarray(decoded.src, dtype=np.int64),
                                      np.full(n_fast, -1, dtype=np.int64)])[order].tolist()
        decoded.which = np.concatenate([np.asarray(decoded.which, dtype=np.int64),
                                        np.ones(n_fast, dtype=np.int64)])[order].tolist()
        decoded.keep = np.ones(n_slow + n_fast, dtype=bool)
        decoded.an = np.concatenate([decoded.an if n_slow else np.zeros(0, dtype=np.int32), fast[0]])[order]
        if n_slow:
            slow_output, slow_columns = decoded.gt[0], decoded.gt[2:]
        else:
            slow_output, slow_columns = np.zeros(0, dtype=np.int32), tuple(column[:0] for column in fast[1:])
        output = np.concatenate([position[slow_output], position[n_slow:]]).astype(np.int32)
        rank = np.argsort(output, kind="stable")
        decoded.gt = (output[rank], np.zeros(len(output), dtype=np.int32),
                      *(np.concatenate([old, new])[rank] for old, new in zip(slow_columns, fast[1:], strict=True)))
        decoded.snvs = SnvRecords(chrom, at, np.asarray(ref.to_pylist(), dtype=object),
                                  np.asarray(alt.to_pylist(), dtype=object), key, filter_pass.astype(bool),
                                  first_row + rows)

    def _observe_ploidy(self, decoded: Decoded, names: list[str | None], chrom_index: npt.NDArray[Any],
                        pos: npt.NDArray[np.int64], called: npt.NDArray[np.bool_], ploidy: npt.NDArray[np.int64],
                        allele_1: npt.NDArray[np.int64], allele_2: npt.NDArray[np.int64]) -> None:
        """Haploid and diploid calls on chrX outside the PARs, and chrY evidence (``names``: the UCSC name of
        each contig spelling of the batch, which ``chrom_index`` numbers)."""
        for chrom in ("chrX", "chrY"):
            spellings = [i for i, name in enumerate(names) if name == chrom]
            if not spellings:
                continue
            on = np.isin(chrom_index, spellings)
            for start, stop in self.config.par.get(chrom, ()):
                on &= ~((pos >= start) & (pos <= stop))
            if chrom == "chrX":
                decoded.x_haploid = np.array([int((on & called & (ploidy == 1)).sum())], dtype=np.int64)
                decoded.x_diploid = np.array([int((on & called & (ploidy == 2)).sum())], dtype=np.int64)
            else:
                nonref = (allele_1 > 0) | (allele_2 > 0)
                decoded.y_evidence = np.array([int((on & called & ((ploidy == 1) | nonref)).sum())], dtype=np.int64)


def _depths(values: Any) -> npt.NDArray[np.int64]:
    """Allele depths as numbers: "." (or nothing) is -1."""
    import pyarrow as pa
    import pyarrow.compute as pc

    known = pc.if_else(pc.is_in(values, value_set=_pa_strings([".", ""])), None, values)
    result: npt.NDArray[np.int64] = pc.cast(known, pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
    return result


def _pa_strings(values: list[str]) -> Any:
    import pyarrow as pa

    return pa.array(values, type=pa.string())

