"""Everything the automated ACMG/AMP criteria look at, gathered for one variant in one case.

The criteria are pure functions of this record: nothing here queries a database, so the same
evidence always gives the same classification, and a stored evidence record reproduces a past
report exactly. Whoever builds it (the annotation pipeline, a curator's form, a test) decides what
is known; every optional field has a meaningful ``None`` = "not known / not looked up", which is
different from "looked up and found nothing" (an empty tuple of population frequencies means the
variant is *absent* from the populations searched, ``None`` means nobody looked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from genomed.annotate.model import ClinVarAssertion, PopulationFrequency, TranscriptEffect, VariantAnnotation
from genomed.errors import InputError

# Modes of inheritance as OMIM/HPO abbreviate them. "XL" is X-linked without a stated dominance.
INHERITANCE_MODES = frozenset({"AD", "AR", "XL", "XLD", "XLR", "MT", "YL"})
DOMINANT_MODES = frozenset({"AD", "XLD", "XL", "YL"})
RECESSIVE_MODES = frozenset({"AR", "XLR", "XL"})
ZYGOSITIES = frozenset({"heterozygous", "homozygous", "hemizygous"})
DE_NOVO = frozenset({"confirmed", "assumed"})
SCORE_RANGES: dict[str, tuple[float, float]] = {"revel": (0.0, 1.0), "spliceai": (0.0, 1.0), "cadd": (0.0, 100.0)}


@dataclass(frozen=True, slots=True)
class GeneFacts:
    """What is known about the gene, whatever the case: how its diseases are inherited and caused.

    ``inheritance`` is empty when unknown. ``lof_mechanism`` is a curated yes/no on "loss of
    function is a known disease mechanism" (ClinGen's haploinsufficiency curation, or biallelic
    LoF variants in a recessive gene); when it is None the classifier infers it from
    ``haploinsufficient`` or from ``pathogenic_lof_variants`` (count of pathogenic/likely pathogenic
    nonsense, frameshift and canonical splice variants in ClinVar). The missense counts feed PP2
    and BP1. ``incomplete_penetrance`` True stops BS2, which assumes full penetrance.
    """

    symbol: str
    inheritance: tuple[str, ...] = ()
    lof_mechanism: bool | None = None
    haploinsufficient: bool | None = None
    pathogenic_lof_variants: int | None = None
    pathogenic_missense_variants: int | None = None
    benign_missense_variants: int | None = None
    incomplete_penetrance: bool | None = None

    def __post_init__(self) -> None:
        if not self.symbol.strip():
            raise InputError("gene facts need a gene symbol")
        modes = tuple(dict.fromkeys(mode.strip().upper() for mode in self.inheritance))
        unknown = [mode for mode in modes if mode not in INHERITANCE_MODES]
        if unknown:
            raise InputError(f"gene {self.symbol}: unknown mode(s) of inheritance {', '.join(unknown)} "
                             f"(use {', '.join(sorted(INHERITANCE_MODES))})")
        object.__setattr__(self, "inheritance", modes)
        for name in ("pathogenic_lof_variants", "pathogenic_missense_variants", "benign_missense_variants"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InputError(f"gene {self.symbol}: {name} cannot be negative ({value})")

    @property
    def dominant(self) -> bool:
        """At least one of the gene's diseases is dominant (or X-linked without stated dominance)."""
        return any(mode in DOMINANT_MODES for mode in self.inheritance)

    @property
    def recessive(self) -> bool:
        """At least one of the gene's diseases is recessive (or X-linked without stated dominance)."""
        return any(mode in RECESSIVE_MODES for mode in self.inheritance)

    @property
    def inheritance_text(self) -> str:
        """The modes for a sentence: ``AD/AR``, or ``unknown inheritance``."""
        return "/".join(self.inheritance) if self.inheritance else "unknown inheritance"


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the case says about the variant: genotype, origin, phase; and healthy carriers known.

    ``de_novo`` is "confirmed" (both parents tested, maternity and paternity confirmed), "assumed"
    (parents negative but relationships not confirmed) or None (not shown de novo).
    ``in_trans_with_pathogenic`` is True when phasing shows the variant on the other allele from a
    pathogenic variant. The healthy-adult counts are carriers the curator knows to be unaffected
    adults (not raw gnomAD counts, whose members are not phenotyped).
    """

    zygosity: str | None = None
    de_novo: str | None = None
    in_trans_with_pathogenic: bool | None = None
    healthy_adult_homozygotes: int | None = None
    healthy_adult_heterozygotes: int | None = None

    def __post_init__(self) -> None:
        if self.zygosity is not None and self.zygosity not in ZYGOSITIES:
            raise InputError(f"unknown zygosity {self.zygosity!r}: use one of {', '.join(sorted(ZYGOSITIES))}")
        if self.de_novo is not None and self.de_novo not in DE_NOVO:
            raise InputError(f"unknown de novo status {self.de_novo!r}: use 'confirmed', 'assumed' or None")
        for name in ("healthy_adult_homozygotes", "healthy_adult_heterozygotes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InputError(f"{name} cannot be negative ({value})")


@dataclass(frozen=True, slots=True)
class ExonSkipping:
    """Predicted effect of a canonical splice variant that makes the transcript skip one exon.

    The PVS1 tree grades canonical ±1/2 splice variants by what skipping does to the protein:
    out of frame with nonsense-mediated decay → PVS1; otherwise by the fraction of the protein
    removed or altered. :func:`genomed.interpret.acmg.pvs1.exon_skipping` derives it from a MANE
    transcript; an RNA study may supply it directly.
    """

    exon: int
    exon_count: int
    coding_bases: int
    in_frame: bool
    nmd_predicted: bool
    removed_fraction: float

    def __post_init__(self) -> None:
        if not 1 <= self.exon <= self.exon_count:
            raise InputError(f"skipped exon {self.exon} is not among the transcript's {self.exon_count} exons")
        if not 0.0 <= self.removed_fraction <= 1.0:
            raise InputError(f"removed fraction {self.removed_fraction} is not between 0 and 1")


@dataclass(frozen=True)
class VariantEvidence:
    """The evidence for classifying one variant in one case.

    ``effect`` (a property) is the transcript effect the criteria read: the MANE Select effect on
    ``gene.symbol`` when there is one, else that gene's most damaging effect, else the variant's
    worst effect. ``population`` is None when frequencies were not looked up and ``()`` when the
    variant is absent from every population searched. ``clinvar`` is the variant's own ClinVar
    record (shown in the report; it is not PP5 evidence). ``clinvar_same_position`` lists ClinVar
    records at the same protein residue of the same gene (PS1/PM5); None when not looked up.
    ``scores`` maps predictor names (``REVEL``, ``SpliceAI`` — the maximum delta score — and
    ``CADD`` PHRED) to values, case-insensitively. ``repeat_region`` flags a repeat or
    low-complexity region (PM4/BP3), ``hotspot`` a mutational hotspot or critical functional domain
    without benign variation (PM1).
    """

    annotation: VariantAnnotation
    gene: GeneFacts | None = None
    case: CaseFacts = field(default_factory=CaseFacts)
    population: Sequence[PopulationFrequency] | None = None
    clinvar: ClinVarAssertion | None = None
    clinvar_same_position: Sequence[ClinVarAssertion] | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    repeat_region: bool | None = None
    hotspot: bool | None = None
    exon_skipping: ExonSkipping | None = None

    def __post_init__(self) -> None:
        variant = self.annotation.variant
        if self.population is not None:
            object.__setattr__(self, "population", tuple(_as_sequence(self.population, "population")))
        if self.clinvar_same_position is not None:
            object.__setattr__(self, "clinvar_same_position",
                               tuple(_as_sequence(self.clinvar_same_position, "clinvar_same_position")))
        if self.clinvar is not None and self.clinvar.variant != variant:
            raise InputError(f"ClinVar record {self.clinvar.accession} is for {self.clinvar.variant.name}, "
                             f"not for the variant classified ({variant.name})")
        scores: dict[str, float] = {}
        for name, value in self.scores.items():
            key = name.strip().lower()
            if key not in SCORE_RANGES:
                raise InputError(f"unknown in-silico score {name!r}: use REVEL, SpliceAI or CADD")
            low, high = SCORE_RANGES[key]
            if not low <= float(value) <= high:
                raise InputError(f"{name} score {value} is outside its range {low}–{high}")
            scores[key] = float(value)
        object.__setattr__(self, "scores", scores)
        if self.gene is not None and self.annotation.effects and not any(
                e.gene_symbol == self.gene.symbol for e in self.annotation.effects):
            raise InputError(f"{variant.name} has no transcript effect on {self.gene.symbol} "
                             f"(it touches {', '.join(self.annotation.genes)})")

    @property
    def effect(self) -> TranscriptEffect | None:
        """The transcript effect the criteria read (see the class docstring); None if intergenic."""
        effects = self.annotation.effects
        if self.gene is not None:
            effects = tuple(e for e in effects if e.gene_symbol == self.gene.symbol)
        if not effects:
            return None
        mane = [e for e in effects if e.mane_select]
        if mane:
            return max(mane, key=lambda e: e.impact)
        return max(effects, key=lambda e: e.impact)

    @property
    def gene_symbol(self) -> str | None:
        """The gene the classification is about."""
        if self.gene is not None:
            return self.gene.symbol
        effect = self.effect
        return effect.gene_symbol if effect else None

    def score(self, name: str) -> float | None:
        """An in-silico score by case-insensitive name, None when not given."""
        return self.scores.get(name.lower())


def _as_sequence(values: Sequence[object], name: str) -> Sequence[object]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InputError(f"{name} must be a list or tuple, not {type(values).__name__}")
    return values
