"""Population frequencies: gnomAD sites files, and the node's own cohort, as :class:`PopulationFrequency`.

A rare-disease filter and the ACMG frequency criteria (BA1, BS1, PM2) need, per variant, its allele
count and number, homozygote and hemizygote counts and the highest continental frequency. gnomAD
publishes these in sites VCFs whose INFO names changed between releases:

============  ==============  =====================  ==============  ==========================
release       popmax AF       popmax FAF95           hemizygotes     (chrX/Y outside the PARs)
============  ==============  =====================  ==============  ==========================
v2.1          ``AF_popmax``   max of ``faf95_<grp>`` ``AC_male``
v3.1          ``AF_popmax``   ``faf95_popmax``       ``AC_XY``
v4.0          ``AF_grpmax``   ``fafmax_faf95_max``   ``AC_XY``
============  ==============  =====================  ==============  ==========================

(an ``nhemi`` field, where a file has one, wins). The mapping is chosen from the INFO fields the
header declares, not from the file name, so a renamed file still reads correctly. Hemizygotes are
counted as gnomAD's browser counts them: the XY allele count outside the pseudo-autosomal regions.

gnomAD files are large (a v4 exomes chromosome is several GB), so :class:`GnomadSites` never reads
one whole when it is bgzipped and tabix-indexed: each lookup is a tabix query (pysam). A small or
unindexed file is read into memory once. Records with several ALT alleles are split, and every
allele is trimmed (and left-aligned when a reference is given) like our stored variants.

:class:`CohortFrequencies` answers the same question from the node's own variant store, through
the permission-checked, consent-aware and audited :func:`genomed.store.service.query_variant`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import pysam

from genomed.access.purpose import Purpose
from genomed.annotate.model import PopulationFrequency, Variant
from genomed.annotate.releases import KnowledgeRelease, VersionFrom, file_sha256, make_release, read_lines
from genomed.context import NodeContext
from genomed.errors import InputError, WrongBuildError
from genomed.genome.builds import BUILDS, GRCH38, canonical_name, detect_build, in_par, ucsc_name
from genomed.genome.reference import ReferenceGenome
from genomed.ingest.normalise import normalise
from genomed.ingest.vcfheader import check_bgzf_eof, is_bgzf
from genomed.store.service import VariantSpec, query_variant

log = logging.getLogger(__name__)

_REQUIRED = ("AC", "AN", "nhomalt")
_V2_FAF_GROUPS = ("faf95_afr", "faf95_amr", "faf95_eas", "faf95_nfe", "faf95_sas")
_VERSION_IN_NAME = re.compile(r"(?:^|[._-])[vr](\d+(?:\.\d+)+)(?=[._-]|$)")
_DATASET_IN_NAME = re.compile(r"(?:^|[._-])(exomes|genomes|joint)(?=[._-]|$)")
_ALLELE = re.compile(r"^[ACGTN]+$")
# A file this large is not read whole without a warning: index it (bgzip + tabix) instead.
_LARGE = 256 * 1024 * 1024


@runtime_checkable
class FrequencySource(Protocol):
    """A population resource: one frequency per variant, and the release it came from."""

    def lookup(self, variant: Variant) -> PopulationFrequency | None: ...

    @property
    def release(self) -> KnowledgeRelease: ...


@dataclass(frozen=True, slots=True)
class GnomadRecord:
    """One allele of a gnomAD sites record, with what :class:`PopulationFrequency` leaves out.

    ``faf95`` is the filtering allele frequency over all samples and ``faf95_max`` the highest
    group FAF (the figure BA1/BS1 thresholds are meant for, Whiffin et al. 2017); ``filters`` the
    FILTER column (empty when PASS).
    """

    variant: Variant
    source: str
    ac: int
    an: int
    homozygotes: int
    hemizygotes: int
    popmax_af: float | None
    popmax_group: str | None
    faf95: float | None
    faf95_max: float | None
    filters: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether gnomAD's own QC passed the site (FILTER PASS)."""
        return not self.filters

    def frequency(self) -> PopulationFrequency:
        """The shared-vocabulary view used by interpretation and reports."""
        return PopulationFrequency(source=self.source, ac=self.ac, an=self.an, homozygotes=self.homozygotes,
                                   hemizygotes=self.hemizygotes, popmax_af=self.popmax_af)


@dataclass(frozen=True, slots=True)
class _Schema:
    """Which INFO fields of this file hold each figure (see the module table)."""

    popmax_af: str | None
    popmax_group: str | None
    faf95_max: str | None
    faf95_groups: tuple[str, ...]
    hemi: str | None
    inferred_version: str | None

    @staticmethod
    def of(info_ids: set[str], path: Path) -> _Schema:
        missing = [key for key in _REQUIRED if key not in info_ids]
        if missing:
            raise InputError(f"{path}: not a gnomAD sites VCF: INFO {', '.join(missing)} not declared in the header")
        if "AF_grpmax" in info_ids:
            inferred = "4"
        elif "AC_XY" in info_ids:
            inferred = "3"
        elif "AC_male" in info_ids:
            inferred = "2"
        else:
            inferred = None
        return _Schema(
            popmax_af=next((k for k in ("AF_grpmax", "AF_popmax") if k in info_ids), None),
            popmax_group=next((k for k in ("grpmax", "popmax") if k in info_ids), None),
            faf95_max=next((k for k in ("fafmax_faf95_max", "faf95_popmax", "faf95_max") if k in info_ids), None),
            faf95_groups=tuple(k for k in _V2_FAF_GROUPS if k in info_ids),
            hemi=next((k for k in ("nhemi", "AC_XY", "AC_male") if k in info_ids), None),
            inferred_version=inferred)


@dataclass(frozen=True, slots=True)
class _Header:
    info_ids: set[str]
    contigs: dict[str, int]
    lines: int


def _parse_header(lines: Iterable[tuple[int, str]], path: Path) -> _Header:
    info_ids: set[str] = set()
    contigs: dict[str, int] = {}
    for number, line in lines:
        if number == 1 and not line.startswith("##fileformat=VCF"):
            raise InputError(f"{path} line 1: not a VCF (expected ##fileformat=VCF..., got {line[:40]!r}); "
                             "is this a gnomAD sites VCF?")
        if line.startswith("##INFO=<"):
            found = re.search(r"[<,]ID=([^,>]+)", line)
            if found:
                info_ids.add(found.group(1))
        elif line.startswith("##contig=<"):
            name = re.search(r"[<,]ID=([^,>]+)", line)
            length = re.search(r"[<,]length=(\d+)", line)
            if name and length:
                contigs[name.group(1)] = int(length.group(1))
        elif line.startswith("#CHROM"):
            return _Header(info_ids, contigs, number)
        elif not line.startswith("##"):
            raise InputError(f"{path} line {number}: a record before the #CHROM header line; not a VCF")
    raise InputError(f"{path}: no #CHROM header line; not a gnomAD sites VCF")


def _number(value: str | None, path: Path, line: int, key: str, kind: type[int] | type[float]) -> float | None:
    if value is None or value in (".", ""):
        return None
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"{path} line {line}: INFO {key}={value!r} is not a number") from None


def release_from_name(name: str) -> tuple[str | None, str | None]:
    """(dataset, version) as gnomAD names its files; None where the name does not say.

    >>> release_from_name("gnomad.exomes.v4.0.sites.chr1.vcf.bgz")
    ('exomes', '4.0')
    >>> release_from_name("gnomad.genomes.r2.1.1.sites.vcf.bgz")
    ('genomes', '2.1.1')
    >>> release_from_name("gnomad-genomes-grch38-v3.1.vcf"), release_from_name("sites.vcf")
    (('genomes', '3.1'), (None, None))
    """
    version = _VERSION_IN_NAME.search(name)
    dataset = _DATASET_IN_NAME.search(name)
    return (dataset.group(1) if dataset else None), (version.group(1) if version else None)


def _info_fields(info: str, keys: Iterable[str]) -> dict[str, str]:
    """The values of only ``keys`` in a VCF INFO column (a gnomAD v4 row has ~900 fields; we need ~10).

    >>> _info_fields("AC=3;AN=10;AC_XY=1;nhomalt=0;lcr", ["AC", "AN", "nhomalt", "AF"])
    {'AC': '3', 'AN': '10', 'nhomalt': '0'}
    """
    padded = ";" + info
    found: dict[str, str] = {}
    for key in keys:
        at = padded.find(f";{key}=")
        if at < 0:
            continue
        start = at + len(key) + 2
        end = padded.find(";", start)
        found[key] = padded[start:] if end < 0 else padded[start:end]
    return found


class GnomadSites:
    """A gnomAD sites VCF (v2.1, v3.1, v4.x): tabix lookups when indexed, else read once into memory.

    ``dataset`` ("exomes", "genomes", "joint") and ``version`` are read from the file name as gnomAD
    names its files when not given; the header carries neither, so when the name does not say
    either, the version is inferred from the INFO fields (major release only) and marked so.
    """

    def __init__(self, path: Path, *, build: str = GRCH38, dataset: str | None = None, version: str | None = None,
                 reference: ReferenceGenome | None = None, pass_only: bool = False) -> None:
        if build not in BUILDS:
            raise InputError(f"unknown genome build {build!r}; expected one of {', '.join(BUILDS)}")
        self.path, self.build, self.reference, self.pass_only = path, build, reference, pass_only
        if not path.is_file():
            raise InputError(f"{path}: no such file (expected a gnomAD sites VCF)")
        self._tabix: pysam.TabixFile | None = None
        self._memory: dict[Variant, GnomadRecord] | None = None
        self._contigs: frozenset[str] = frozenset()
        index = next((Path(f"{path}{ext}") for ext in (".tbi", ".csi") if Path(f"{path}{ext}").is_file()), None)
        if is_bgzf(path):
            check_bgzf_eof(path)
        if index is not None and is_bgzf(path):
            try:
                self._tabix = pysam.TabixFile(str(path), index=str(index))
                header_lines: Iterable[tuple[int, str]] = enumerate(self._tabix.header, start=1)
            except (OSError, ValueError) as exc:
                raise InputError(f"{path}: cannot open with its index {index.name}: {exc}") from exc
            self._header = _parse_header(header_lines, path)
            self._contigs = frozenset(self._tabix.contigs)
        else:
            self._header = _parse_header(read_lines(path, "a gnomAD sites VCF"), path)
        self._schema = _Schema.of(self._header.info_ids, path)
        schema = self._schema
        self._keys = tuple(k for k in ("AC", "AN", "nhomalt", "faf95", schema.popmax_af, schema.popmax_group,
                                       schema.faf95_max, schema.hemi, *schema.faf95_groups) if k)
        self._lock = threading.Lock()
        declared = detect_build(self._header.contigs) if self._header.contigs else None
        if declared is not None and declared != build:
            raise WrongBuildError(f"{path}: a gnomAD file on {declared} (its ##contig lengths); this node is {build}")
        name_dataset, name_version = release_from_name(path.name)
        version_from: VersionFrom
        if version:
            version_from = "caller"
        elif name_version:
            version, version_from = name_version, "file name"
        elif self._schema.inferred_version:
            version, version_from = self._schema.inferred_version, "inferred"
        else:
            version_from = "unknown"
        self.dataset = dataset or name_dataset
        self._version, self._version_from = version, version_from
        words = ["gnomAD", *([self.dataset] if self.dataset else []), *([f"v{version}"] if version else [])]
        self.source = " ".join(words)
        self._release: KnowledgeRelease | None = None

    # -- release ----------------------------------------------------------------------------------

    @property
    def release(self) -> KnowledgeRelease:
        """The release (hashing the file on first use: minutes for a whole gnomAD chromosome, once per run)."""
        if self._release is None:
            name = " ".join(["gnomAD", *([self.dataset] if self.dataset else [])])
            self._release = make_release(name, self.path, version=self._version, version_from=self._version_from,
                                         build=self.build)
        return self._release

    @property
    def indexed(self) -> bool:
        """Whether lookups go through tabix (the file is bgzipped with a .tbi/.csi index)."""
        return self._tabix is not None

    # -- lookups ----------------------------------------------------------------------------------

    def record(self, variant: Variant) -> GnomadRecord | None:
        """gnomAD's record for exactly this normalised variant, or None if gnomAD does not list it."""
        if self._tabix is None:
            return self._all().get(variant)
        for found in self._fetch(variant.chrom, variant.pos - 1, variant.end):
            if found.variant == variant:
                return found
        return None

    def lookup(self, variant: Variant) -> PopulationFrequency | None:
        """The variant's frequency, or None if gnomAD does not list it (or, with ``pass_only``, filtered it)."""
        found = self.record(variant)
        return found.frequency() if found is not None else None

    def load_region(self, chrom: str, start: int, end: int) -> dict[Variant, GnomadRecord]:
        """Every allele whose record overlaps ``chrom:start-end`` (1-based inclusive), for bulk annotation."""
        if self._tabix is None:
            name = ucsc_name(chrom)
            return {v: r for v, r in self._all().items() if v.chrom == name and v.pos <= end and v.end >= start}
        return {r.variant: r for r in self._fetch(chrom, start - 1, end)}

    def load_variants(self, variants: Iterable[Variant]) -> dict[Variant, GnomadRecord]:
        """The records of many variants at once (one tabix query per distinct position; one pass if unindexed)."""
        wanted = set(variants)
        if self._tabix is None:
            every = self._all()
            return {v: every[v] for v in wanted if v in every}
        found: dict[Variant, GnomadRecord] = {}
        for chrom, pos, end in sorted({(v.chrom, v.pos, v.end) for v in wanted}):
            for record in self._fetch(chrom, pos - 1, end):
                if record.variant in wanted:
                    found[record.variant] = record
        return found

    def __iter__(self) -> Iterator[GnomadRecord]:
        """Every allele in file order (streams the file; for a whole release, prefer region queries)."""
        if self._tabix is not None:
            for number, line in enumerate(self._tabix.fetch(multiple_iterators=True), start=self._header.lines + 1):
                yield from self._parse(line, number)
            return
        for number, line in read_lines(self.path, "a gnomAD sites VCF"):
            if number > self._header.lines and line.strip():
                yield from self._parse(line, number)

    def close(self) -> None:
        if self._tabix is not None:
            self._tabix.close()
            self._tabix = None

    # -- internals --------------------------------------------------------------------------------

    def _all(self) -> dict[Variant, GnomadRecord]:
        if self._memory is None:
            size = self.path.stat().st_size
            if size > _LARGE:
                log.warning("%s: reading %d MB into memory; bgzip and tabix-index it for lookups without a full "
                            "read", self.path, size // (1 << 20))
            self._memory = {record.variant: record for record in self}
        return self._memory

    def _fetch(self, chrom: str, start0: int, end0: int) -> Iterator[GnomadRecord]:
        assert self._tabix is not None  # noqa: S101 - callers check; narrows the type
        name = next((c for c in (ucsc_name(chrom), canonical_name(chrom), chrom) if c in self._contigs), None)
        if name is None:
            return
        try:
            with self._lock:  # one htslib file handle: one query at a time
                lines = list(self._tabix.fetch(name, max(0, start0), end0))
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.path}: cannot read {chrom}:{start0 + 1}-{end0} ({exc}); "
                             "is the file or its index damaged?") from exc
        for line in lines:
            yield from self._parse(line, None)

    def _parse(self, line: str, number: int | None) -> Iterator[GnomadRecord]:
        where = f"line {number}" if number is not None else "record"
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) < 8:
            raise InputError(f"{self.path} {where}: {len(fields)} columns, a VCF record has 8 "
                             "(CHROM POS ID REF ALT QUAL FILTER INFO)")
        chrom, pos_text, _, ref, alt_text, _, filter_text, info_text = fields[:8]
        if not pos_text.isdigit():
            raise InputError(f"{self.path} {where}: POS {pos_text!r} is not a position")
        filters = () if filter_text in ("PASS", ".") else tuple(filter_text.split(";"))
        if self.pass_only and filters:
            return
        info = _info_fields(info_text, self._keys)
        for key in ("AC", "AN"):
            if key not in info:
                raise InputError(f"{self.path} {where}: INFO has no {key}")
        alts = alt_text.split(",")
        pos, ref = int(pos_text), ref.upper()
        path, line_no = self.path, number or 0
        an = int(_number(info["AN"], path, line_no, "AN", int) or 0)
        name = ucsc_name(chrom)
        haploid_x = canonical_name(chrom) in ("X", "Y") and not in_par(self.build, chrom, pos)
        schema = self._schema
        per_allele = {key: info.get(key, "").split(",") if key else [] for key in
                      ("AC", "nhomalt", schema.popmax_af, schema.popmax_group, "faf95", schema.faf95_max, schema.hemi,
                       *schema.faf95_groups) if key}
        for key, values in per_allele.items():
            if key in info and len(values) != len(alts):
                raise InputError(f"{self.path} {where}: INFO {key} has {len(values)} values for "
                                 f"{len(alts)} ALT alleles")

        def figure(key: str | None, index: int, kind: type[int] | type[float]) -> float | None:
            if key is None or key not in info:
                return None
            return _number(per_allele[key][index], path, line_no, key, kind)

        for index, alt in enumerate(alts):
            alt = alt.upper()
            if not _ALLELE.match(alt) or not _ALLELE.match(ref) or alt == ref:
                continue  # "*" (a spanning deletion) or a symbolic allele: not a sequence variant
            normal = normalise(name, pos, ref, alt, self.reference)
            variant = Variant(name, normal.pos, normal.ref, normal.alt)
            hemi = 0
            if schema.hemi == "nhemi" or haploid_x:
                hemi = int(figure(schema.hemi, index, int) or 0)
            faf_max = figure(schema.faf95_max, index, float)
            if faf_max is None and schema.faf95_groups:
                group_fafs = [f for f in (figure(k, index, float) for k in schema.faf95_groups) if f is not None]
                faf_max = max(group_fafs) if group_fafs else None
            group = per_allele[schema.popmax_group][index] if schema.popmax_group in info else None
            yield GnomadRecord(
                variant=variant, source=self.source, ac=int(figure("AC", index, int) or 0), an=an,
                homozygotes=int(figure("nhomalt", index, int) or 0), hemizygotes=hemi,
                popmax_af=figure(schema.popmax_af, index, float),
                popmax_group=group if group not in (None, ".", "") else None,
                faf95=figure("faf95", index, float), faf95_max=faf_max, filters=filters)

    @staticmethod
    def index_file(path: Path, destination: Path | None = None, *, min_shift: int = 10) -> Path:
        """bgzip and index a plain or gzipped VCF (the one-off preparation of a gnomAD file); returns the .gz.

        The source is left untouched; the result is ``destination`` (default ``path`` + ``.gz``) with
        a CSI index beside it whose smallest bin is ``2**min_shift`` bases. Why not tabix's default
        (.tbi, 16 kb windows): a lookup reads every record from the start of its window, and gnomAD
        has a variant every few bases with rows of ~10-20 kB, so a 16 kb window is megabytes of text
        per lookup; 1 kb bins cut that sixteen-fold. ``min_shift=0`` writes a plain .tbi.
        """
        target = destination or Path(f"{path}.gz")
        try:
            if is_bgzf(path):
                if path != target:
                    target.write_bytes(path.read_bytes())
            else:
                pysam.tabix_compress(str(path), str(target), force=True)
            if min_shift > 0:
                pysam.tabix_index(str(target), preset="vcf", force=True, csi=True, min_shift=min_shift)
            else:
                pysam.tabix_index(str(target), preset="vcf", force=True)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot bgzip and index it as a VCF: {exc}") from exc
        return target


class CohortFrequencies:
    """The node's own cohort as a population resource, through the audited, consent-aware store query.

    Each lookup is authorised and recorded in the audit trail as a ``variant.query`` by ``actor``;
    samples whose consent does not cover ``purpose`` are left out of the counts. A variant at a
    position where the store knows no called allele (AN 0) has no frequency: None, not 0/0.
    """

    def __init__(self, ctx: NodeContext, actor: str, purpose: Purpose = Purpose.CARE) -> None:
        self.ctx, self.actor, self.purpose = ctx, actor, purpose
        self.source = f"genomed cohort {ctx.config.node_name}"

    @property
    def release(self) -> KnowledgeRelease:
        """The store as it is now: its manifest version (changes with every batch) and the manifest's digest."""
        manifest = Path(self.ctx.store.root) / "manifest.json"
        version = self.ctx.store.manifest.version if manifest.exists() else 0
        release = KnowledgeRelease(
            name=self.source, version=f"store v{version}", source=str(self.ctx.store.root),
            sha256=file_sha256(manifest) if manifest.exists() else "", loaded_at=datetime.now(UTC),
            version_from="file", build=self.ctx.store.genome_build, records=None)
        return release

    def lookup(self, variant: Variant) -> PopulationFrequency | None:
        counts = query_variant(self.ctx, self.actor, VariantSpec(variant.chrom, variant.pos, variant.ref, variant.alt),
                               self.purpose)
        if counts.an == 0:
            return None
        return PopulationFrequency(source=self.source, ac=counts.ac, an=counts.an, homozygotes=counts.n_hom_alt,
                                   hemizygotes=counts.n_hemi_alt, popmax_af=None)
