"""Per-sample quality control, accumulated from the chunks that ingestion streams to the store.

Why streaming: a cohort VCF is read once. The same :class:`RecordChunk` objects that the store
writes are handed to :meth:`QCAccumulator.add`, which keeps a few counters per sample (numpy
``bincount`` over the sparse genotype rows), so QC costs no second pass over the file and its
memory does not grow with the number of records.

What is measured, and on which genotypes:

* **variant counts by type** (SNV, insertion, deletion, MNV/complex) over the sample's non-reference
  genotypes, after splitting and normalisation (a ``1/2`` genotype counts once per ALT);
* **Ti/Tv**: transitions (A↔G, C↔T) over transversions among non-reference SNV genotypes;
* **het/hom-alt ratio** on the autosomes (so that the chrX of males, hom-alt or hemizygous, does not
  move a threshold meant for both sexes);
* **call rate**: called records / records, for multi-sample VCFs only — a single-sample VCF or
  gVCF lists only its own calls, so it says nothing about the records it does not contain;
* **mean DP and mean GQ over called non-reference genotypes** (the only genotypes a sparse stream
  keeps), with histograms for the report;
* **sex**: chrX heterozygosity (het / called non-reference genotypes on chrX outside the
  pseudo-autosomal regions) and non-reference calls on chrY outside the PARs give ``male``,
  ``female`` or ``unknown``, compared with the sex declared in the catalog;
* **Mendelian errors** for trios whose three members are in the same file: over autosomal records
  where all three are called and at least one carries the ALT (the informative sites), the child's
  genotype must take one allele from each parent. A de novo variant is an error by this rule;
  it is reported as an error and counted separately as well.

In a multi-sample VCF a sample without a genotype row at a record is a *called* homozygous
reference (chunks keep only non-reference and missing calls): this is what makes Mendelian checks
and call rates possible without the dense matrix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from genomed.errors import InputError
from genomed.genome.builds import PAR, canonical_name
from genomed.ingest.chunks import MISSING, BatchSample, BlockChunk, RecordChunk

Status = Literal["pass", "warn", "fail", "n/a"]
_SEVERITY = {"n/a": 0, "pass": 1, "warn": 2, "fail": 3}
VARIANT_TYPES = ("snv", "insertion", "deletion", "mnv_complex")
_TRANSITIONS = frozenset({("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")})
HIST_BINS = 101   # DP and GQ histograms: one bin per value 0..99, the last holds 100 and above
PER_SAMPLE_HISTOGRAMS = 60   # above this many samples, only the cohort's histograms are kept


@dataclass(frozen=True)
class QCThresholds:
    """Limits that turn QC metrics into pass/warn/fail; the defaults suit short-read WGS.

    Ti/Tv of true germline SNVs is about 2.0–2.1 genome-wide and 3.0–3.3 in coding exons, so the
    range depends on the assay (``assay="exome"``); much lower values mean false positives.
    """

    assay: Literal["genome", "exome"] = "genome"
    titv_genome: tuple[float, float] = (1.9, 2.3)
    titv_exome: tuple[float, float] = (2.8, 3.3)
    min_snvs_for_titv: int = 100
    call_rate_warn: float = 0.98
    call_rate_fail: float = 0.95
    het_hom: tuple[float, float] = (1.3, 2.5)
    min_variants_for_het_hom: int = 100
    mendelian_warn: float = 0.01
    mendelian_fail: float = 0.05
    min_informative_sites: int = 50
    # Sex from chrX: males have (almost) no heterozygous calls outside the PARs.
    x_het_male_max: float = 0.10
    x_het_female_min: float = 0.20
    min_x_variants: int = 20
    min_y_calls: int = 5   # chrY non-reference calls that count as evidence of a Y chromosome

    @property
    def titv_range(self) -> tuple[float, float]:
        return self.titv_exome if self.assay == "exome" else self.titv_genome


@dataclass
class Check:
    """One metric judged against its threshold, with the reason in words."""

    metric: str
    value: float | str | None
    status: Status
    reason: str


@dataclass
class SampleQC:
    """Every metric of one sample, its checks, and the worst of their statuses."""

    sample: str
    metrics: dict[str, Any]
    checks: list[Check]
    status: Status


@dataclass
class TrioQC:
    """Mendelian consistency of one trio over its informative autosomal sites."""

    child: str
    father: str
    mother: str
    informative_sites: int
    errors: int
    de_novo: int
    error_rate: float | None
    status: Status
    reason: str


@dataclass
class QCResult:
    """The QC of one ingested file: per-sample results, trios, and the thresholds used."""

    samples: list[SampleQC]
    trios: list[TrioQC]
    thresholds: QCThresholds
    records: int
    status: Status
    histograms: dict[str, dict[str, list[int]]] = field(default_factory=dict, repr=False)

    def to_dict(self, *, histograms: bool = False) -> dict[str, Any]:
        """Plain data for JSON (histograms only on request: they are for plots, not for the catalog)."""
        data = {
            "status": self.status,
            "records": self.records,
            "thresholds": asdict(self.thresholds),
            "samples": [asdict(s) for s in self.samples],
            "trios": [asdict(t) for t in self.trios],
        }
        if histograms:
            data["histograms"] = self.histograms
        return data

    def to_json(self, *, histograms: bool = False, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(histograms=histograms), indent=indent, sort_keys=False)

    def sample(self, name: str) -> SampleQC:
        for result in self.samples:
            if result.sample == name:
                return result
        raise InputError(f"no QC result for sample {name!r}")


def worst(statuses: Sequence[Status]) -> Status:
    """The most severe of several statuses ('n/a' only when nothing was assessed).

    >>> worst(["pass", "warn", "n/a"]), worst(["n/a"]), worst(["pass", "fail", "warn"])
    ('warn', 'n/a', 'fail')
    """
    return max(statuses, key=lambda s: _SEVERITY[s], default="n/a")


def variant_type(ref: str, alt: str) -> int:
    """Index into :data:`VARIANT_TYPES` of a normalised biallelic variant.

    >>> [VARIANT_TYPES[variant_type(r, a)] for r, a in (("A", "G"), ("A", "AT"), ("AT", "A"), ("AC", "GT"))]
    ['snv', 'insertion', 'deletion', 'mnv_complex']
    """
    if len(ref) == 1 and len(alt) == 1:
        return 0
    if len(ref) == 1 and alt[0] == ref:
        return 1
    if len(alt) == 1 and ref[0] == alt:
        return 2
    return 3


def mendelian_consistent(child: npt.NDArray[np.int8], father: npt.NDArray[np.int8],
                         mother: npt.NDArray[np.int8]) -> npt.NDArray[np.bool_]:
    """Whether a child's ALT count (0–2) can take one allele from each parent's genotype.

    >>> c, f, m = (np.array(x, dtype=np.int8) for x in ([1, 1, 2, 0, 2, 1], [0, 1, 1, 2, 0, 2], [0, 0, 1, 0, 2, 2]))
    >>> mendelian_consistent(c, f, m).tolist()   # de novo, ok, ok, father hom-alt, father hom-ref, both hom
    [False, True, True, False, False, False]
    """
    father_ref, father_alt = father <= 1, father >= 1
    mother_ref, mother_alt = mother <= 1, mother >= 1
    result: npt.NDArray[np.bool_] = np.where(
        child == 0, father_ref & mother_ref,
        np.where(child == 1, (father_alt & mother_ref) | (father_ref & mother_alt), father_alt & mother_alt))
    return result


class QCAccumulator:
    """Per-sample QC counters, fed with every chunk of one ingest stream (:meth:`add`), read with :meth:`result`.

    ``multi_sample`` defaults to "more than one sample": only then is a call rate meaningful.
    ``trios`` are (child, father, mother) catalog labels; trios not wholly in the file are
    reported as not assessed.
    """

    def __init__(self, samples: Sequence[BatchSample], build: str, *, catalog_sex: Mapping[str, str] | None = None,
                 trios: Sequence[tuple[str, str, str]] = (), thresholds: QCThresholds | None = None,
                 multi_sample: bool | None = None) -> None:
        self.samples = list(samples)
        self.build = build
        self.catalog_sex = dict(catalog_sex or {})
        self.thresholds = thresholds or QCThresholds()
        self.multi_sample = len(self.samples) > 1 if multi_sample is None else multi_sample
        n = max((s.index for s in self.samples), default=-1) + 1
        self._n = n
        self._index = {s.name: s.index for s in self.samples}
        self.records = 0
        self.by_type = np.zeros((n, len(VARIANT_TYPES)), dtype=np.int64)
        self.ti = np.zeros(n, dtype=np.int64)
        self.tv = np.zeros(n, dtype=np.int64)
        self.het = np.zeros(n, dtype=np.int64)          # autosomal
        self.hom = np.zeros(n, dtype=np.int64)          # autosomal
        self.hemi = np.zeros(n, dtype=np.int64)
        self.missing = np.zeros(n, dtype=np.int64)
        self.dp_sum = np.zeros(n, dtype=np.int64)
        self.dp_n = np.zeros(n, dtype=np.int64)
        self.gq_sum = np.zeros(n, dtype=np.int64)
        self.gq_n = np.zeros(n, dtype=np.int64)
        self.dp_hist = np.zeros((n, HIST_BINS), dtype=np.int64)
        self.gq_hist = np.zeros((n, HIST_BINS), dtype=np.int64)
        self.x_het = np.zeros(n, dtype=np.int64)
        self.x_nonref = np.zeros(n, dtype=np.int64)
        self.y_nonref = np.zeros(n, dtype=np.int64)
        self.block_bases = np.zeros(n, dtype=np.int64)
        self.chr_y_records = 0
        self._par_x = PAR.get(build, {}).get("X", ())
        self._par_y = PAR.get(build, {}).get("Y", ())
        self._trios: list[tuple[str, str, str, tuple[int, int, int] | None]] = []
        for child, father, mother in trios:
            members = tuple(self._index.get(label) for label in (child, father, mother))
            present = None if any(m is None for m in members) else (members[0], members[1], members[2])
            self._trios.append((child, father, mother, present))  # type: ignore[arg-type]
        self._trio_counts = np.zeros((len(self._trios), 3), dtype=np.int64)  # informative, errors, de novo

    # -- accumulation ------------------------------------------------------------------------------

    def add(self, chunk: RecordChunk | BlockChunk) -> None:
        """Count one chunk (block chunks only add covered bases)."""
        if isinstance(chunk, BlockChunk):
            if len(chunk):
                self.block_bases += np.bincount(chunk.sample, weights=(chunk.end - chunk.start + 1),
                                                minlength=self._n).astype(np.int64)
            return
        n_rec = len(chunk)
        if n_rec == 0:
            return
        self.records += n_rec
        n = self._n
        kind = np.fromiter((variant_type(r, a) for r, a in zip(chunk.ref, chunk.alt, strict=True)),
                           dtype=np.int8, count=n_rec)
        transition = np.fromiter(((r, a) in _TRANSITIONS for r, a in zip(chunk.ref, chunk.alt, strict=True)),
                                 dtype=bool, count=n_rec)
        region = self._regions(chunk)      # 0 autosome, 1 chrX non-PAR, 2 chrY non-PAR, 3 other
        self.chr_y_records += int(np.count_nonzero(region == 2))

        rec, sample, alt = chunk.gt_record, chunk.gt_sample, chunk.gt_alt_count
        carried = alt > 0
        missing = alt == MISSING
        self.missing += np.bincount(sample[missing], minlength=n)
        r, s, a, p = rec[carried], sample[carried], alt[carried], chunk.gt_ploidy[carried]
        k = kind[r]
        self.by_type += np.bincount(s * len(VARIANT_TYPES) + k, minlength=n * len(VARIANT_TYPES)).reshape(
            n, len(VARIANT_TYPES))
        snv = k == 0
        self.ti += np.bincount(s[snv & transition[r]], minlength=n)
        self.tv += np.bincount(s[snv & ~transition[r]], minlength=n)
        reg = region[r]
        het = (a == 1) & (p == 2)
        auto = reg == 0
        self.het += np.bincount(s[auto & het], minlength=n)
        self.hom += np.bincount(s[auto & (a == 2)], minlength=n)
        self.hemi += np.bincount(s[(a == 1) & (p == 1)], minlength=n)
        on_x = reg == 1
        self.x_nonref += np.bincount(s[on_x], minlength=n)
        self.x_het += np.bincount(s[on_x & het], minlength=n)
        self.y_nonref += np.bincount(s[reg == 2], minlength=n)
        for values, total, count, hist in ((chunk.gt_dp[carried], self.dp_sum, self.dp_n, self.dp_hist),
                                           (chunk.gt_gq[carried], self.gq_sum, self.gq_n, self.gq_hist)):
            known = values >= 0
            v = values[known].astype(np.int64)
            sk = s[known]
            total += np.bincount(sk, weights=v, minlength=n).astype(np.int64)
            count += np.bincount(sk, minlength=n)
            hist += np.bincount(sk * HIST_BINS + np.minimum(v, HIST_BINS - 1),
                                minlength=n * HIST_BINS).reshape(n, HIST_BINS)
        if self._trios:
            self._mendel(chunk, region)

    def _regions(self, chunk: RecordChunk) -> npt.NDArray[np.int8]:
        names = [canonical_name(c) for c in chunk.chrom]
        region = np.fromiter((0 if c.isdigit() else 1 if c == "X" else 2 if c == "Y" else 3 for c in names),
                             dtype=np.int8, count=len(names))
        for code, intervals in ((1, self._par_x), (2, self._par_y)):
            on = region == code
            if on.any():
                par = np.zeros(len(region), dtype=bool)
                for start, end in intervals:
                    par |= (chunk.pos >= start) & (chunk.pos <= end)
                region[on & par] = 3
        return region

    def _mendel(self, chunk: RecordChunk, region: npt.NDArray[np.int8]) -> None:
        auto = region == 0
        for t, (_c, _f, _m, members) in enumerate(self._trios):
            if members is None:
                continue
            genotypes = []
            for member in members:
                g = np.zeros(len(chunk), dtype=np.int8)     # no row: a called hom-ref genotype
                rows = chunk.gt_sample == member
                g[chunk.gt_record[rows]] = np.where(chunk.gt_ploidy[rows] == 2, chunk.gt_alt_count[rows], MISSING)
                genotypes.append(g)
            child, father, mother = genotypes
            called = auto & (child >= 0) & (father >= 0) & (mother >= 0)
            informative = called & ((child > 0) | (father > 0) | (mother > 0))
            errors = informative & ~mendelian_consistent(child, father, mother)
            de_novo = errors & (child > 0) & (father == 0) & (mother == 0)
            self._trio_counts[t] += (int(informative.sum()), int(errors.sum()), int(de_novo.sum()))

    # -- judgement ---------------------------------------------------------------------------------

    def result(self, samples: Sequence[BatchSample] | None = None) -> QCResult:
        """Metrics and checks of every sample (pass the stream's final ``samples`` for observed ploidy)."""
        final = list(samples) if samples is not None else self.samples
        thresholds = self.thresholds
        trios = [self._trio_result(t) for t in range(len(self._trios))]
        child_trio = {trio.child: trio for trio in trios}
        results = []
        for sample in final:
            i = sample.index
            metrics = self._metrics(i, sample)
            checks = [self._titv(metrics), self._het_hom(metrics), self._call_rate(metrics),
                      self._sex(sample.name, metrics)]
            trio = child_trio.get(sample.name)
            if trio is not None:
                checks.append(Check("mendelian_error_rate", trio.error_rate, trio.status, trio.reason))
            results.append(SampleQC(sample.name, metrics, checks, worst([c.status for c in checks])))
        # DP/GQ histograms for the report: the cohort's, and each sample's when there are few samples
        rows = [s.index for s in final]
        histograms = {"cohort": {"dp": _trimmed(self.dp_hist[rows].sum(axis=0)),
                                 "gq": _trimmed(self.gq_hist[rows].sum(axis=0))}}
        if len(final) <= PER_SAMPLE_HISTOGRAMS:
            for s in final:
                if self.dp_hist[s.index].any() or self.gq_hist[s.index].any():
                    histograms[s.name] = {"dp": _trimmed(self.dp_hist[s.index]), "gq": _trimmed(self.gq_hist[s.index])}
        status = worst([r.status for r in results] + [t.status for t in trios])
        return QCResult(results, trios, thresholds, self.records, status, histograms)

    def _metrics(self, i: int, sample: BatchSample) -> dict[str, Any]:
        by_type = {name: int(self.by_type[i, k]) for k, name in enumerate(VARIANT_TYPES)}
        ti, tv = int(self.ti[i]), int(self.tv[i])
        het, hom = int(self.het[i]), int(self.hom[i])
        x_nonref = int(self.x_nonref[i])
        return {
            "variants": sum(by_type.values()),
            "by_type": by_type,
            "transitions": ti,
            "transversions": tv,
            "ti_tv": _ratio(ti, tv),
            "het_autosomal": het,
            "hom_alt_autosomal": hom,
            "hemizygous": int(self.hemi[i]),
            "het_hom_ratio": _ratio(het, hom),
            "records": self.records,
            "missing": int(self.missing[i]),
            "call_rate": (1 - int(self.missing[i]) / self.records) if self.multi_sample and self.records else None,
            "mean_dp_nonref": _ratio(int(self.dp_sum[i]), int(self.dp_n[i])),
            "mean_gq_nonref": _ratio(int(self.gq_sum[i]), int(self.gq_n[i])),
            "chrx_nonref": x_nonref,
            "chrx_het_rate": _ratio(int(self.x_het[i]), x_nonref),
            "chry_nonref": int(self.y_nonref[i]),
            "x_ploidy": sample.x_ploidy,
            "y_ploidy": sample.y_ploidy,
            "reference_block_bases": int(self.block_bases[i]),
            "inferred_sex": self._infer_sex(i)[0],
        }

    def _titv(self, m: Mapping[str, Any]) -> Check:
        low, high = self.thresholds.titv_range
        snvs = m["transitions"] + m["transversions"]
        value = m["ti_tv"]
        if snvs < self.thresholds.min_snvs_for_titv or value is None:
            return Check("ti_tv", value, "n/a", f"too few SNVs ({snvs}) for a meaningful Ti/Tv")
        if low <= value <= high:
            return Check("ti_tv", value, "pass", f"Ti/Tv {value:.2f} within {low}–{high} ({self.thresholds.assay})")
        side = "below" if value < low else "above"
        hint = " (an excess of false-positive SNVs?)" if value < low else ""
        return Check("ti_tv", value, "warn", f"Ti/Tv {value:.2f} {side} the expected {low}–{high} for a "
                                             f"{self.thresholds.assay}{hint}")

    def _het_hom(self, m: Mapping[str, Any]) -> Check:
        low, high = self.thresholds.het_hom
        value = m["het_hom_ratio"]
        if m["het_autosomal"] + m["hom_alt_autosomal"] < self.thresholds.min_variants_for_het_hom or value is None:
            return Check("het_hom_ratio", value, "n/a", "too few autosomal variant genotypes for a het/hom ratio")
        if low <= value <= high:
            return Check("het_hom_ratio", value, "pass", f"het/hom-alt {value:.2f} within {low}–{high}")
        hint = (" (contamination or a mixed sample?)" if value > high
                else " (consanguinity, or a loss of heterozygous calls?)")
        return Check("het_hom_ratio", value, "warn", f"het/hom-alt {value:.2f} outside {low}–{high}{hint}")

    def _call_rate(self, m: Mapping[str, Any]) -> Check:
        value = m["call_rate"]
        if value is None:
            return Check("call_rate", None, "n/a", "call rate needs a multi-sample VCF (a single-sample file lists "
                                                   "only its own calls)")
        t = self.thresholds
        if value < t.call_rate_fail:
            return Check("call_rate", value, "fail", f"call rate {value:.3f} below {t.call_rate_fail}")
        if value < t.call_rate_warn:
            return Check("call_rate", value, "warn", f"call rate {value:.3f} below {t.call_rate_warn}")
        return Check("call_rate", value, "pass", f"call rate {value:.3f}")

    def _infer_sex(self, i: int) -> tuple[str, str, bool]:
        """Inferred sex, the evidence in words, and whether there was enough data to judge at all."""
        t = self.thresholds
        x_n, y_n = int(self.x_nonref[i]), int(self.y_nonref[i])
        x_rate = self.x_het[i] / x_n if x_n else None
        y_text = f"{y_n} chrY non-reference calls" if self.chr_y_records else "no chrY records in the file"
        if x_rate is None or x_n < t.min_x_variants:
            if y_n >= t.min_y_calls:
                return "male", f"too few chrX variants ({x_n}) to judge X, but {y_text}", True
            return "unknown", f"too few chrX variants ({x_n}) outside the PARs to infer sex", False
        evidence = f"chrX het rate {x_rate:.2f} over {x_n} variants, {y_text}"
        if x_rate <= t.x_het_male_max:
            return "male", evidence, True
        if x_rate >= t.x_het_female_min:
            if y_n >= t.min_y_calls:
                return "unknown", f"{evidence}: a female X with Y calls (XXY, or contamination?)", True
            return "female", evidence, True
        return "unknown", (f"{evidence}: between the male (≤ {t.x_het_male_max}) and female "
                           f"(≥ {t.x_het_female_min}) ranges"), True

    def _sex(self, name: str, m: Mapping[str, Any]) -> Check:
        inferred, evidence, assessable = self._infer_sex(self._index[name])
        declared = self.catalog_sex.get(name, "unknown")
        if inferred == "unknown":
            return Check("sex", inferred, "warn" if assessable else "n/a", f"sex not inferred: {evidence}")
        if declared not in ("male", "female"):
            return Check("sex", inferred, "pass", f"inferred {inferred} ({evidence}); no sex in the catalog")
        if inferred != declared:
            return Check("sex", inferred, "fail", f"inferred {inferred} ({evidence}) but the catalog says {declared}: "
                                                 "a sample swap or a data-entry error?")
        return Check("sex", inferred, "pass", f"inferred {inferred}, as in the catalog ({evidence})")

    def _trio_result(self, t: int) -> TrioQC:
        child, father, mother, members = self._trios[t]
        informative, errors, de_novo = (int(v) for v in self._trio_counts[t])
        th = self.thresholds
        if members is None:
            absent = [label for label in (child, father, mother) if label not in self._index]
            return TrioQC(child, father, mother, 0, 0, 0, None, "n/a",
                          f"not assessed: {', '.join(absent)} not in this file (a Mendelian check needs the trio "
                          "in one multi-sample file)")
        if informative < th.min_informative_sites:
            return TrioQC(child, father, mother, informative, errors, de_novo, None, "n/a",
                          f"too few informative sites ({informative}) for a Mendelian error rate")
        rate = errors / informative
        text = (f"{errors} Mendelian errors ({de_novo} of them apparent de novo) over {informative} informative "
                f"autosomal sites: rate {rate:.4f}")
        status: Status = "fail" if rate > th.mendelian_fail else "warn" if rate > th.mendelian_warn else "pass"
        if status != "pass":
            text += f" above {th.mendelian_fail if status == 'fail' else th.mendelian_warn} (wrong parent or swap?)"
        return TrioQC(child, father, mother, informative, errors, de_novo, rate, status, text)


def _trimmed(counts: npt.NDArray[np.int64]) -> list[int]:
    """A histogram as a list without its trailing empty bins (JSON size)."""
    nonzero = np.flatnonzero(counts)
    return counts[: nonzero[-1] + 1].tolist() if len(nonzero) else []


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
