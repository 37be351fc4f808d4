"""Reading the variant store: one variant, its carriers, a region, a sample, a sub-cohort.

Point queries are the hot path (a Beacon answers thousands a second), so :class:`VariantStore`
keeps a compact in-memory index of every batch's site counts, built from the same Parquet files,
and answers with two binary searches. Region, sample and sub-cohort queries go to DuckDB over the
Parquet files named by the manifest.

Consent is applied at read time: every query takes the set of catalog sample ids to leave out
(withdrawn consent), and the counts are corrected on the fly from those samples' own genotypes
and coverage; nothing stored is rewritten.

Allele numbers are honest. A batch from a multi-sample VCF tells who was called at the sites it
lists and nothing about other positions; a gVCF batch tells, through reference blocks, who was
covered anywhere. So a site's AN sums the called alleles of the VCF batches that list it and the
covered alleles of every gVCF batch; ``batches_unknown`` counts the VCF batches that could not say.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple, overload

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from genomed.errors import InputError, StateError
from genomed.store.keys import contig_code, contig_name, is_exact, position_range, variant_key
from genomed.store.layout import BIN_SIZE, BatchEntry, Manifest, read_manifest
from genomed.store.ploidy import PAR_X, expected_ploidy

_CARRIER_COLUMNS = ("key", "sample", "alt_count", "ploidy", "gq", "dp", "ad_ref", "ad_alt")
_SITE_COLUMNS = ["key", "ref", "alt", "batch", "ac", "an", "n_het", "n_hom_alt", "n_hemi_alt", "n_missing"]


@dataclass(frozen=True)
class AlleleCounts:
    """What the cohort knows of one variant, after consent exclusions."""

    chrom: str
    pos: int
    ref: str
    alt: str
    ac: int
    an: int
    n_het: int
    n_hom_alt: int
    n_hemi_alt: int
    batches_observed: int
    batches_unknown: int

    @property
    def af(self) -> float | None:
        return self.ac / self.an if self.an else None

    @property
    def found(self) -> bool:
        return self.ac > 0


class Carrier(NamedTuple):
    """One carrier of a variant (a tuple: a common variant has thousands, built in a hot loop)."""

    sample: int
    alt_count: int
    ploidy: int
    gq: int
    dp: int
    ad_ref: int
    ad_alt: int


class Carriers(Sequence[Carrier]):
    """The carriers of one variant, held as columns; a :class:`Carrier` is built only when read.

    A common variant in a national cohort has thousands of carriers: building a Python tuple for
    each costs more than finding them, and most callers want a count, the sample ids or a page.
    So the columns stay numpy arrays (read-only: they may share memory with the store's cache),
    indexing and iteration build the tuples, and ``samples`` or :meth:`column` give arrays.
    A ``Carriers`` equals any sequence holding the same tuples in the same order.
    """

    __slots__ = ("_columns",)

    def __init__(self, columns: Sequence[npt.NDArray[Any]]) -> None:
        if len(columns) != len(Carrier._fields) or len({len(c) for c in columns}) > 1:
            raise StateError(f"carriers need {len(Carrier._fields)} columns of one length")
        for column in columns:
            column.flags.writeable = False
        self._columns = tuple(columns)

    @classmethod
    def empty(cls) -> Carriers:
        return cls([np.zeros(0, dtype=np.int64) for _ in Carrier._fields])

    @property
    def samples(self) -> npt.NDArray[Any]:
        """The carriers' catalog sample ids, in order."""
        return self._columns[0]

    def column(self, name: str) -> npt.NDArray[Any]:
        """One field of every carrier (a name of :class:`Carrier`), as an array."""
        if name not in Carrier._fields:
            raise InputError(f"a carrier has no field {name!r}; fields: {', '.join(Carrier._fields)}")
        return self._columns[Carrier._fields.index(name)]

    def __len__(self) -> int:
        return len(self._columns[0])

    @overload
    def __getitem__(self, item: int) -> Carrier: ...

    @overload
    def __getitem__(self, item: slice) -> Carriers: ...

    def __getitem__(self, item: int | slice) -> Carrier | Carriers:
        if isinstance(item, slice):
            return Carriers([c[item] for c in self._columns])
        return Carrier._make(c[item].item() for c in self._columns)

    def __iter__(self) -> Iterator[Carrier]:
        # tuple.__new__ over zipped lists builds each named tuple in C, without a Python call per row.
        return map(tuple.__new__, repeat(Carrier), zip(*(c.tolist() for c in self._columns), strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Carriers):
            return len(self) == len(other) and all(
                np.array_equal(a, b) for a, b in zip(self._columns, other._columns, strict=True))
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(repr(c) for c in self[:3])
        more = f", ... ({len(self)} carriers)" if len(self) > 3 else ""
        return f"Carriers([{shown}{more}])"


@dataclass
class _SampleInfo:
    batch: int
    source: str
    x_ploidy: int
    y_ploidy: int


@dataclass
class _Coverage:
    """A gVCF batch's reference coverage on one contig: per sample, sorted block starts and ends."""

    starts: dict[int, npt.NDArray[np.int32]]
    ends: dict[int, npt.NDArray[np.int32]]


class _Index:
    """Every batch's site counts, sorted by key, in numpy arrays."""

    def __init__(self, root: Path, manifest: Manifest) -> None:
        self.manifest = manifest
        self.batches: list[BatchEntry] = list(manifest.batches)
        number_of = {entry.batch_id: number for number, entry in enumerate(self.batches)}
        keys, batch, refs, alts, counts = [], [], [], [], []
        for relative in manifest.files("sites"):
            table = pq.read_table(root / relative, columns=_SITE_COLUMNS)
            keys.append(table.column("key").to_numpy())
            batch.append(np.array([number_of[b] for b in table.column("batch").to_pylist()], dtype=np.int16))
            refs.extend(table.column("ref").to_pylist())
            alts.extend(table.column("alt").to_pylist())
            counts.append(np.column_stack([table.column(c).to_numpy() for c in _SITE_COLUMNS[4:]]))
        if keys:
            all_keys = np.concatenate(keys)
            order = np.argsort(all_keys, kind="stable")
            self.keys = all_keys[order]
            self.batch = np.concatenate(batch)[order]
            self.counts = np.concatenate(counts)[order].astype(np.int64)
            self.refs = [refs[i] for i in order]
            self.alts = [alts[i] for i in order]
        else:
            self.keys = np.zeros(0, dtype=np.int64)
            self.batch = np.zeros(0, dtype=np.int16)
            self.counts = np.zeros((0, 6), dtype=np.int64)
            self.refs, self.alts = [], []
        self.samples: dict[int, _SampleInfo] = {}
        for number, entry in enumerate(self.batches):
            table = pq.read_table(root / entry.samples_file)
            for sample, x, y in zip(table.column("sample").to_pylist(), table.column("x_ploidy").to_pylist(),
                                    table.column("y_ploidy").to_pylist(), strict=True):
                self.samples[sample] = _SampleInfo(number, entry.source, x, y)
        self.gvcf_batches = [n for n, e in enumerate(self.batches) if e.source == "gvcf"]
        self.vcf_batches = [n for n, e in enumerate(self.batches) if e.source == "vcf"]
        self._coverage: dict[str, _Coverage] = {}
        self._row_groups: dict[str, tuple[pq.ParquetFile, npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        self._root = root
        self._lock = threading.Lock()
        # Per-batch coverage totals by ploidy class, for AN at positions a gVCF batch has no site.
        self._class_of: dict[int, dict[tuple[int, int], list[int]]] = {}
        for number in self.gvcf_batches:
            classes: dict[tuple[int, int], list[int]] = {}
            for sample, info in self.samples.items():
                if info.batch == number:
                    classes.setdefault((info.x_ploidy, info.y_ploidy), []).append(sample)
            self._class_of[number] = classes

    def row_groups(self, relative: str) -> tuple[pq.ParquetFile, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """A genotype file opened once, with the key range of each of its row groups."""
        cached = self._row_groups.get(relative)
        if cached is None:
            parquet = pq.ParquetFile(self._root / relative)
            metadata = parquet.metadata
            lows, highs = [], []
            for group in range(metadata.num_row_groups):
                stats = metadata.row_group(group).column(0).statistics
                has = stats is not None and stats.has_min_max
                lows.append(stats.min if has else np.iinfo(np.int64).min)
                highs.append(stats.max if has else np.iinfo(np.int64).max)
            cached = (parquet, np.array(lows, dtype=np.int64), np.array(highs, dtype=np.int64))
            self._row_groups[relative] = cached
        return cached

    def genotype_rows(self, parquet: pq.ParquetFile, group: int, key: int) -> list[npt.NDArray[Any]]:
        """The carrier columns (sample first, key left out) of one key's rows in one row group.

        No decoded row group is kept: measured on a 10,000-sample store, an LRU of decoded groups
        (even 8 MB of them) made the p99 of cold lookups worse (5 → 7-14 ms) through the memory it
        holds, and random lookups seldom hit it.
        """
        table = parquet.read_row_group(group, columns=list(_CARRIER_COLUMNS))
        keys = table.column("key").to_numpy()
        lo, hi = int(np.searchsorted(keys, key, "left")), int(np.searchsorted(keys, key, "right"))
        rows = table.slice(lo, hi - lo)
        return [rows.column(c).to_numpy() for c in _CARRIER_COLUMNS[1:]]

    def coverage(self, chrom: str) -> _Coverage:
        """Every gVCF sample's blocks on one contig (loaded once, on first use)."""
        cached = self._coverage.get(chrom)
        if cached is not None:
            return cached
        with self._lock:
            files = [self._root / p for p in self.manifest.files("blocks") if f"/chrom={chrom}/" in p]
            starts: dict[int, list[npt.NDArray[np.int32]]] = {}
            ends: dict[int, list[npt.NDArray[np.int32]]] = {}
            for path in files:
                table = pq.read_table(path, columns=["sample", "start", "end"])
                samples = table.column("sample").to_numpy()
                s, e = table.column("start").to_numpy(), table.column("end").to_numpy()
                for sample in np.unique(samples):
                    mask = samples == sample
                    starts.setdefault(int(sample), []).append(s[mask])
                    ends.setdefault(int(sample), []).append(e[mask])
            coverage = _Coverage(
                starts={k: np.sort(np.concatenate(v)) for k, v in starts.items()},
                ends={k: np.sort(np.concatenate(v)) for k, v in ends.items()},
            )
            self._coverage[chrom] = coverage
        return coverage

    def covered(self, chrom: str, pos: int, sample: int) -> bool:
        coverage = self.coverage(chrom)
        starts = coverage.starts.get(sample)
        if starts is None:
            return False
        ends = coverage.ends[sample]
        return bool(np.searchsorted(starts, pos, side="right") - np.searchsorted(ends, pos, side="left"))

    def covered_alleles(self, batch: int, chrom: str, pos: int, build: str) -> int:
        total = 0
        for (x_ploidy, y_ploidy), samples in self._class_of[batch].items():
            ploidy = expected_ploidy(build, chrom, pos, x_ploidy, y_ploidy)
            if ploidy:
                total += ploidy * sum(self.covered(chrom, pos, s) for s in samples)
        return total


class VariantStore:
    """Queries over the store at ``root``; reloads its index when a new manifest is published."""

    def __init__(self, root: Path, genome_build: str = "GRCh38") -> None:
        self.root = root
        self.genome_build = genome_build
        self._index: _Index | None = None
        self._manifest_mtime: float = -1.0
        self._excluded_genotypes: dict[int, dict[int, tuple[int, int]]] = {}
        self._lock = threading.Lock()

    # -- index -----------------------------------------------------------------------------------

    def index(self) -> _Index:
        """The in-memory index, rebuilt when the manifest changed since it was built."""
        path = self.root / "manifest.json"
        mtime = path.stat().st_mtime_ns if path.exists() else -1
        if self._index is None or mtime != self._manifest_mtime:
            with self._lock:
                if self._index is None or mtime != self._manifest_mtime:
                    index = _Index(self.root, read_manifest(self.root))
                    # Open every genotype file's footer now, so no carrier lookup pays for it later.
                    for relative in index.manifest.files("genotypes"):
                        index.row_groups(relative)
                    self._index = index
                    self._manifest_mtime = mtime
                    self._excluded_genotypes.clear()
        return self._index

    @property
    def manifest(self) -> Manifest:
        return self.index().manifest

    def sample_ids(self) -> set[int]:
        return set(self.index().samples)

    # -- consent exclusions ------------------------------------------------------------------------

    def _genotypes_of(self, samples: Iterable[int]) -> None:
        """Load (once) the genotypes of samples to exclude: key -> (alt_count, ploidy)."""
        wanted = [s for s in samples if s not in self._excluded_genotypes]
        if not wanted:
            return
        files = [str(self.root / p) for p in self.index().manifest.files("genotypes")]
        found: dict[int, dict[int, tuple[int, int]]] = {s: {} for s in wanted}
        if files:
            with duckdb.connect() as con:
                con.register("wanted", pa.table({"sample": pa.array(wanted, pa.int32())}))
                rows = con.execute(
                    "SELECT sample, key, alt_count, ploidy FROM read_parquet(?) WHERE sample IN "
                    "(SELECT sample FROM wanted)", [files]).fetchall()
            for sample, key, alt_count, ploidy in rows:
                found[sample][key] = (alt_count, ploidy)
        self._excluded_genotypes.update(found)

    def _exclusion_delta(self, key: int, chrom: str, pos: int, observed_batches: set[int],
                         exclude: Collection[int]) -> npt.NDArray[np.int64]:
        """What the excluded samples contribute to (ac, an, n_het, n_hom_alt, n_hemi_alt, n_missing)."""
        index = self.index()
        delta = np.zeros(6, dtype=np.int64)
        present = [s for s in exclude if s in index.samples]
        if not present:
            return delta
        self._genotypes_of(present)
        for sample in present:
            info = index.samples[sample]
            call = self._excluded_genotypes[sample].get(key)
            if info.source == "vcf":
                if info.batch not in observed_batches:
                    continue
                if call is None:  # called, homozygous reference for this allele
                    delta[1] += expected_ploidy(self.genome_build, chrom, pos, info.x_ploidy, info.y_ploidy)
                    continue
            elif call is None:
                if index.covered(chrom, pos, sample):
                    delta[1] += expected_ploidy(self.genome_build, chrom, pos, info.x_ploidy, info.y_ploidy)
                continue
            alt_count, ploidy = call
            if alt_count < 0:
                delta[5] += 1
                continue
            delta[0] += alt_count
            delta[1] += ploidy
            delta[2] += int(alt_count == 1 and ploidy == 2)
            delta[3] += int(alt_count == 2)
            delta[4] += int(alt_count == 1 and ploidy == 1)
        return delta

    # -- point queries -------------------------------------------------------------------------------

    def variant(self, chrom: str, pos: int, ref: str, alt: str, exclude: Collection[int] = ()) -> AlleleCounts:
        """AC, AN, AF, homozygotes and hemizygotes of one normalised variant."""
        ref, alt = ref.upper(), alt.upper()
        key = variant_key(chrom, pos, ref, alt)
        chrom = contig_name(contig_code(chrom))
        index = self.index()
        lo = int(np.searchsorted(index.keys, key, side="left"))
        hi = int(np.searchsorted(index.keys, key, side="right"))
        matching = list(range(lo, hi))
        if not is_exact(key):  # a hashed key may be shared: compare the alleles themselves
            matching = [i for i in matching if index.refs[i] == ref and index.alts[i] == alt]
        totals = index.counts[matching].sum(axis=0) if matching else np.zeros(6, dtype=np.int64)
        observed = {int(index.batch[i]) for i in matching}
        an_extra = sum(index.covered_alleles(b, chrom, pos, self.genome_build)
                       for b in index.gvcf_batches if b not in observed)
        totals = totals.copy()
        totals[1] += an_extra
        if exclude:
            gvcf_unobserved = set(index.gvcf_batches) - observed
            totals -= self._exclusion_delta(key, chrom, pos, observed | gvcf_unobserved, exclude)
        unknown = sum(1 for b in index.vcf_batches if b not in observed)
        return AlleleCounts(chrom=chrom, pos=pos, ref=ref, alt=alt, ac=int(totals[0]), an=int(totals[1]),
                            n_het=int(totals[2]), n_hom_alt=int(totals[3]), n_hemi_alt=int(totals[4]),
                            batches_observed=len(observed), batches_unknown=unknown)

    def carriers(self, chrom: str, pos: int, ref: str, alt: str, exclude: Collection[int] = ()) -> Carriers:
        """The samples carrying a variant, with their genotype quality, sorted by sample.

        A common variant has thousands of carriers, so the answer stays in columns (one numpy
        array per field) and a :class:`Carrier` tuple is built only for the rows a caller reads.
        """
        key = variant_key(chrom, pos, ref.upper(), alt.upper())
        chrom = contig_name(contig_code(chrom))
        index = self.index()
        parts: list[list[npt.NDArray[Any]]] = []
        for relative in index.manifest.files("genotypes"):
            if not _in_bin(relative, chrom, pos):
                continue
            parquet, lows, highs = index.row_groups(relative)
            for group in np.flatnonzero((lows <= key) & (highs >= key)):
                columns = index.genotype_rows(parquet, int(group), key)
                if len(columns[0]):
                    parts.append(columns)
        if not parts:
            return Carriers.empty()
        columns = [np.concatenate([part[i] for part in parts]) for i in range(len(Carrier._fields))] \
            if len(parts) > 1 else parts[0]
        keep = columns[1] > 0
        if len(exclude):
            keep &= ~np.isin(columns[0], np.fromiter(set(exclude), dtype=np.int64))
        if not keep.all():
            columns = [c[keep] for c in columns]
        # One file's rows come sorted by (key, sample); only rows from several files need sorting.
        if len(parts) > 1:
            order = np.argsort(columns[0], kind="stable")
            columns = [c[order] for c in columns]
        return Carriers(columns)

    # -- DuckDB queries ------------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect()

    def region(self, chrom: str, start: int, end: int, exclude: Collection[int] = ()) -> list[AlleleCounts]:
        """Every variant starting in ``chrom:start-end`` (1-based, inclusive), with counts."""
        if end < start:
            raise InputError(f"region end {end} is before its start {start}")
        chrom = contig_name(contig_code(chrom))
        low, high = position_range(chrom, start, end)
        index = self.index()
        lo, hi = int(np.searchsorted(index.keys, low)), int(np.searchsorted(index.keys, high))
        seen: dict[tuple[int, str, str], None] = {}
        for i in range(lo, hi):
            seen[(int(index.keys[i]), index.refs[i], index.alts[i])] = None
        results = []
        for key, ref, alt in seen:
            pos = int((key >> 30) & ((1 << 28) - 1))
            results.append(self.variant(chrom, pos, ref, alt, exclude))
        return results

    def sample_variants(self, sample: int) -> pa.Table:
        """Every non-reference call of one sample: key, chrom, pos, ref, alt, alt_count, ploidy, gq, dp."""
        manifest = self.index().manifest
        genotypes = [str(self.root / p) for p in manifest.files("genotypes")]
        sites = [str(self.root / p) for p in manifest.files("sites")]
        if not genotypes:
            return pa.table({"key": pa.array([], pa.int64())})
        with self._connect() as con:
            return con.sql(
                "SELECT DISTINCT g.key, s.chrom, s.pos, s.ref, s.alt, g.alt_count, g.ploidy, g.gq, g.dp "
                "FROM read_parquet(?) g JOIN read_parquet(?) s USING (key) "
                "WHERE g.sample = ? AND g.alt_count > 0 ORDER BY g.key",
                params=[genotypes, sites, sample]).to_arrow_table()

    def subcohort_frequencies(self, samples: Collection[int]) -> pa.Table:
        """AC, AN, AF, homozygotes and hemizygotes of every site, over a subset of samples.

        The allele numbers follow the same rules as :meth:`variant`; this is the vectorised form, in
        DuckDB, for recomputing a whole sub-cohort (one indication, one sex) at once.
        """
        index = self.index()
        manifest = index.manifest
        subset = sorted({s for s in samples if s in index.samples})
        sub = pa.table({
            "sample": pa.array(subset, pa.int32()),
            "batch": pa.array([manifest.batches[index.samples[s].batch].batch_id for s in subset], pa.string()),
            "source": pa.array([index.samples[s].source for s in subset], pa.string()),
            "x_ploidy": pa.array([index.samples[s].x_ploidy for s in subset], pa.int32()),
            "y_ploidy": pa.array([index.samples[s].y_ploidy for s in subset], pa.int32()),
        })
        sites = [str(self.root / p) for p in manifest.files("sites")]
        genotypes = [str(self.root / p) for p in manifest.files("genotypes")]
        blocks = [str(self.root / p) for p in manifest.files("blocks")]
        nonpar = _nonpar_sql(self.genome_build)
        (p1s, p1e), (p2s, p2e) = PAR_X[self.genome_build]
        nonpar_g = f"((key >> 58) = 23 AND NOT (pos BETWEEN {p1s} AND {p1e} OR pos BETWEEN {p2s} AND {p2e}))"
        with self._connect() as con:
            con.register("sub", sub)
            con.execute("CREATE TEMP TABLE s AS SELECT key, chrom, pos, ref, alt, batch FROM read_parquet(?)", [sites])
            con.execute("CREATE TEMP TABLE d AS SELECT key, any_value(chrom) chrom, any_value(pos) pos, "
                        "any_value(ref) ref, any_value(alt) alt FROM s GROUP BY key")
            con.execute("CREATE TEMP TABLE base AS SELECT batch, count(*) n, sum(x_ploidy) sx, sum(y_ploidy) sy "
                        "FROM sub WHERE source = 'vcf' GROUP BY batch")
            vcf_an_sql = (
                "CREATE TEMP TABLE vcf_an AS SELECT s.key, sum(CASE "  # noqa: S608 - only integer PAR bounds go in
                f"WHEN {nonpar('s')} THEN base.sx "
                "WHEN s.chrom = 'chrY' THEN base.sy WHEN s.chrom = 'chrM' THEN base.n ELSE 2 * base.n END) an "
                "FROM s JOIN base USING (batch) GROUP BY s.key")
            con.execute(vcf_an_sql)
            if genotypes:
                g_sql = (
                    "CREATE TEMP TABLE g AS SELECT key, "  # noqa: S608 - only integer PAR bounds go in
                    "coalesce(sum(alt_count) FILTER (WHERE alt_count > 0), 0) ac, "
                    "count(*) FILTER (WHERE alt_count = 2) hom, "
                    "count(*) FILTER (WHERE alt_count = 1 AND ploidy = 1) hemi, "
                    "count(*) FILTER (WHERE alt_count = 1 AND ploidy = 2) het, "
                    # A no-call takes away the alleles the sample would have had: its expected ploidy
                    # there (a woman's no-call on chrY takes away nothing).
                    f"coalesce(sum(CASE WHEN {nonpar_g} THEN sub.x_ploidy WHEN (key >> 58) = 24 THEN sub.y_ploidy "
                    "WHEN (key >> 58) = 25 THEN 1 ELSE 2 END) FILTER (WHERE alt_count < 0 AND sub.source = 'vcf'), 0) "
                    "missing_alleles FROM read_parquet(?) JOIN sub USING (sample) GROUP BY key")
                con.execute(g_sql, [genotypes])
            else:
                con.execute("CREATE TEMP TABLE g (key BIGINT, ac BIGINT, hom BIGINT, hemi BIGINT, het BIGINT, "
                            "missing_alleles BIGINT)")
            if blocks:
                gv_sql = (
                    "CREATE TEMP TABLE gv AS SELECT d.key, sum(CASE "  # noqa: S608 - only integer PAR bounds go in
                    f"WHEN {nonpar('d')} THEN sub.x_ploidy "
                    "WHEN d.chrom = 'chrY' THEN sub.y_ploidy WHEN d.chrom = 'chrM' THEN 1 ELSE 2 END) an "
                    "FROM d JOIN read_parquet(?) b ON b.chrom = d.chrom AND d.pos BETWEEN b.start AND b.\"end\" "
                    "JOIN sub ON sub.sample = b.sample GROUP BY d.key")
                con.execute(gv_sql, [blocks])
            else:
                con.execute("CREATE TEMP TABLE gv (key BIGINT, an BIGINT)")
            return con.sql(
                "SELECT d.key, d.chrom, d.pos, d.ref, d.alt, coalesce(g.ac, 0)::BIGINT ac, "
                "(coalesce(vcf_an.an, 0) - coalesce(g.missing_alleles, 0) + coalesce(gv.an, 0))::BIGINT an, "
                "coalesce(g.het, 0)::BIGINT n_het, coalesce(g.hom, 0)::BIGINT n_hom_alt, "
                "coalesce(g.hemi, 0)::BIGINT n_hemi_alt "
                "FROM d LEFT JOIN g USING (key) LEFT JOIN vcf_an USING (key) LEFT JOIN gv USING (key) "
                "ORDER BY d.key").to_arrow_table()


def _nonpar_sql(build: str) -> Callable[[str], str]:
    """A SQL condition, for a table alias, true on chrX outside the pseudo-autosomal regions."""
    (p1s, p1e), (p2s, p2e) = PAR_X[build]

    def condition(alias: str) -> str:
        pos = f"{alias}.pos"
        return (f"({alias}.chrom = 'chrX' AND NOT ({pos} BETWEEN {p1s} AND {p1e} OR {pos} BETWEEN {p2s} AND {p2e}))")

    return condition


def _in_bin(relative: str, chrom: str, pos: int) -> bool:
    return f"/chrom={chrom}/bin={pos // BIN_SIZE:04d}/" in relative


def counts_as_dict(counts: AlleleCounts) -> dict[str, Any]:
    """A JSON-ready view of :class:`AlleleCounts`."""
    return {"chrom": counts.chrom, "pos": counts.pos, "ref": counts.ref, "alt": counts.alt, "ac": counts.ac,
            "an": counts.an, "af": counts.af, "n_het": counts.n_het, "n_hom_alt": counts.n_hom_alt,
            "n_hemi_alt": counts.n_hemi_alt, "batches_observed": counts.batches_observed,
            "batches_unknown": counts.batches_unknown}
