"""What annotation produces: the shared vocabulary of ``annotate`` and everything built on it.

Interpretation (ranking, ACMG criteria), reports and exports all read these types, so they are kept
small, immutable and free of any loader's details. Positions are 1-based like VCF and HGVS, because
those are what clinicians and published cases use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import cast


class Impact(IntEnum):
    """How disruptive a consequence is, in the four levels VEP and Exomiser use (higher is worse)."""

    MODIFIER = 0
    LOW = 1
    MODERATE = 2
    HIGH = 3


@dataclass(frozen=True, slots=True, order=True)
class Variant:
    """A normalised, biallelic variant on the node's genome build (1-based ``pos`` as in VCF).

    >>> Variant("chr1", 100, "A", "G").name
    'chr1-100-A-G'
    """

    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def name(self) -> str:
        """The dash-separated identifier used in gnomAD, our CLI and reports."""
        return f"{self.chrom}-{self.pos}-{self.ref}-{self.alt}"

    @property
    def end(self) -> int:
        """Last reference base touched (1-based, inclusive)."""
        return self.pos + len(self.ref) - 1

    @property
    def is_snv(self) -> bool:
        """A single-nucleotide substitution."""
        return len(self.ref) == 1 and len(self.alt) == 1


@dataclass(frozen=True, slots=True)
class TranscriptEffect:
    """The consequence of one variant on one transcript.

    ``consequences`` are Sequence Ontology term names (``missense_variant``, ``stop_gained``…), the
    most severe first. ``exon``/``intron`` are 1-based numbers in transcript order with the total,
    e.g. ``(3, 12)``. ``nmd_escape`` is only set for protein-truncating variants: ``True`` when the
    new stop lies in the last exon or within 50 nucleotides of the last exon–exon junction, so the
    transcript escapes nonsense-mediated decay (the PVS1 decision tree needs it).
    """

    transcript_id: str
    gene_symbol: str
    gene_id: str
    consequences: tuple[str, ...]
    impact: Impact
    mane_select: bool = True
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    exon: tuple[int, int] | None = None
    intron: tuple[int, int] | None = None
    cds_position: int | None = None
    protein_position: int | None = None
    protein_length: int | None = None
    ref_amino_acids: str | None = None
    alt_amino_acids: str | None = None
    nmd_escape: bool | None = None

    @property
    def most_severe(self) -> str:
        """The first (most severe) SO term."""
        return self.consequences[0]


class _TranscriptEffectInPlace:
    """A :class:`TranscriptEffect` built by plain slot stores, then given its class (see :data:`build_effect`).

    Why: a frozen dataclass sets each field through ``object.__setattr__``, about 1.3 µs more per
    effect than plain stores; annotating a genome builds millions. This class has the very same
    slots, so once its ``__init__`` has filled them the object can take ``TranscriptEffect`` as its
    class: it is then a ``TranscriptEffect`` in every way (frozen, equal, hashed and pickled as one).
    """

    __slots__ = TranscriptEffect.__slots__

    def __init__(self, transcript_id: str, gene_symbol: str, gene_id: str, consequences: tuple[str, ...],
                 impact: Impact, mane_select: bool = True, hgvs_c: str | None = None, hgvs_p: str | None = None,
                 exon: tuple[int, int] | None = None, intron: tuple[int, int] | None = None,
                 cds_position: int | None = None, protein_position: int | None = None,
                 protein_length: int | None = None, ref_amino_acids: str | None = None,
                 alt_amino_acids: str | None = None, nmd_escape: bool | None = None) -> None:
        self.transcript_id = transcript_id
        self.gene_symbol = gene_symbol
        self.gene_id = gene_id
        self.consequences = consequences
        self.impact = impact
        self.mane_select = mane_select
        self.hgvs_c = hgvs_c
        self.hgvs_p = hgvs_p
        self.exon = exon
        self.intron = intron
        self.cds_position = cds_position
        self.protein_position = protein_position
        self.protein_length = protein_length
        self.ref_amino_acids = ref_amino_acids
        self.alt_amino_acids = alt_amino_acids
        self.nmd_escape = nmd_escape
        self.__class__ = TranscriptEffect  # type: ignore[assignment]  # same slots: the object becomes one


# ``build_effect(...)`` takes what ``TranscriptEffect(...)`` takes and returns an equal TranscriptEffect,
# four times faster: for code that builds effects by the hundred thousand (annotate_many's batch paths).
build_effect = cast("type[TranscriptEffect]", _TranscriptEffectInPlace)


@dataclass(frozen=True, slots=True)
class VariantAnnotation:
    """All transcript effects of a variant; ``effects`` is empty for an intergenic variant."""

    variant: Variant
    effects: tuple[TranscriptEffect, ...] = field(default_factory=tuple)

    @property
    def worst(self) -> TranscriptEffect | None:
        """The most damaging effect, MANE Select preferred on ties, or None if intergenic."""
        if not self.effects:
            return None
        return max(self.effects, key=lambda e: (e.impact, e.mane_select))

    @property
    def impact(self) -> Impact:
        """The highest impact over all transcripts (MODIFIER when intergenic)."""
        worst = self.worst
        return worst.impact if worst else Impact.MODIFIER

    @property
    def genes(self) -> tuple[str, ...]:
        """Gene symbols the variant touches, without repeats, in effect order."""
        return tuple(dict.fromkeys(e.gene_symbol for e in self.effects))


@dataclass(frozen=True, slots=True)
class ClinVarAssertion:
    """One ClinVar record as interpretation needs it (PS1/PM5/PP5-style evidence and the report).

    ``significance`` is ClinVar's aggregate germline classification text ("Pathogenic",
    "Likely pathogenic", "Benign", "Uncertain significance", "Conflicting classifications of
    pathogenicity"…); ``stars`` is the 0–4 review-status rank. ``hgvs_p`` is the protein change in
    HGVS three-letter form without the accession (``p.Arg27Trp``) when ClinVar gives one, so that
    same-amino-acid-change (PS1) and same-codon (PM5) evidence can be found by gene and position.
    """

    variant: Variant
    accession: str
    significance: str
    review_status: str
    stars: int
    gene_symbol: str | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    protein_position: int | None = None
    conditions: tuple[str, ...] = ()

    @property
    def pathogenic(self) -> bool:
        """Pathogenic or likely pathogenic (not conflicting)."""
        text = self.significance.lower()
        return ("pathogenic" in text and "conflicting" not in text and "benign" not in text)

    @property
    def benign(self) -> bool:
        """Benign or likely benign (not conflicting)."""
        text = self.significance.lower()
        return "benign" in text and "conflicting" not in text and "pathogenic" not in text


@dataclass(frozen=True, slots=True)
class PopulationFrequency:
    """A variant's frequency in one population resource (gnomAD, or the node's own cohort).

    ``popmax_af`` is the highest frequency among continental groups with enough alleles (gnomAD's
    ``AF_grpmax``/``popmax``), the figure BA1/BS1 and rare-disease filters use; ``None`` when the
    source has no breakdown. ``source`` names the resource and release, e.g. ``gnomAD exomes v4.0``.
    """

    source: str
    ac: int
    an: int
    homozygotes: int = 0
    hemizygotes: int = 0
    popmax_af: float | None = None

    @property
    def af(self) -> float:
        """Allele frequency, 0 when no allele was called."""
        return self.ac / self.an if self.an else 0.0

    @property
    def max_af(self) -> float:
        """The larger of the overall and the popmax frequency: what frequency filters compare against."""
        return max(self.af, self.popmax_af or 0.0)
