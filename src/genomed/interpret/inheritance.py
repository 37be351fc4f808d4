"""Which modes of inheritance a gene's variants fit, given who in the family carries them.

For each gene, the proband's candidate variants are tested against five modes: autosomal dominant
(one heterozygous variant, de novo or from an affected parent), autosomal recessive homozygous,
autosomal recessive compound heterozygous (two variants *in trans*: one from each parent, or
unphased when parents were not sequenced), X-linked recessive (hemizygous male, or a female with two
alleles) and X-linked dominant. A variant is de novo when both parents were called homozygous
reference there.

Evidence that contradicts a mode excludes it: an unaffected parent homozygous for a recessive
variant, two heterozygous variants both inherited from the same parent (in cis), a hemizygous
variant also carried by an unaffected father. Missing parents only make a mode less certain, never
excluded, and the explanation says what could not be checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from genomed.genome.builds import in_par
from genomed.interpret.case_data import HET, HOM, NOT_CALLED, REF, CaseCalls


class Mode(StrEnum):
    """Modes of inheritance, with the abbreviations HPO, PanelApp and clinicians use."""

    AUTOSOMAL_DOMINANT = "AD"
    AUTOSOMAL_RECESSIVE = "AR"
    X_LINKED_RECESSIVE = "XLR"
    X_LINKED_DOMINANT = "XLD"
    MITOCHONDRIAL = "MT"

    @property
    def words(self) -> str:
        """The mode in words for a report."""
        return {"AD": "autosomal dominant", "AR": "autosomal recessive", "XLR": "X-linked recessive",
                "XLD": "X-linked dominant", "MT": "mitochondrial"}[self.value]


# HPO / PanelApp mode labels -> our modes ("XL" without a qualifier admits both X-linked modes).
MODE_LABELS: dict[str, frozenset[Mode]] = {
    "AD": frozenset({Mode.AUTOSOMAL_DOMINANT}),
    "AR": frozenset({Mode.AUTOSOMAL_RECESSIVE}),
    "XL": frozenset({Mode.X_LINKED_RECESSIVE, Mode.X_LINKED_DOMINANT}),
    "XLR": frozenset({Mode.X_LINKED_RECESSIVE}),
    "XLD": frozenset({Mode.X_LINKED_DOMINANT}),
    "MT": frozenset({Mode.MITOCHONDRIAL}),
    "SD": frozenset({Mode.AUTOSOMAL_DOMINANT, Mode.AUTOSOMAL_RECESSIVE}),  # semidominant: one or two copies
    "PAD": frozenset({Mode.AUTOSOMAL_DOMINANT}),
    "PAR": frozenset({Mode.AUTOSOMAL_RECESSIVE}),
    "DE_NOVO": frozenset({Mode.AUTOSOMAL_DOMINANT}),
    "SPORADIC": frozenset({Mode.AUTOSOMAL_DOMINANT}),
    "SOMATIC_MOSAICISM": frozenset({Mode.AUTOSOMAL_DOMINANT}),
}


def modes_from_labels(labels: Iterable[str]) -> frozenset[Mode]:
    """Our modes for HPO/PanelApp labels (unknown labels are ignored)."""
    out: set[Mode] = set()
    for label in labels:
        out |= MODE_LABELS.get(label.upper(), frozenset())
    return frozenset(out)



@dataclass(frozen=True)
class InheritanceMatch:
    """One way a gene's variants fit a mode: the rows involved and why it fits."""

    mode: Mode
    rows: tuple[int, ...]
    de_novo: bool
    in_trans: bool | None  # compound heterozygous: True with parental phase, None when unphased
    explanation: str
    certainty: float  # 1.0 fully checked against both parents; lower when relatives were missing


def _x_haploid(calls: CaseCalls, row: int, build: str) -> bool:
    return calls.chrom[row] in ("chrX", "X") and not in_par(build, calls.chrom[row], int(calls.pos[row]))


def _parent_state(calls: CaseCalls, row: int, role: str) -> tuple[int | None, bool | None]:
    col = calls.member_index(role)  # type: ignore[arg-type]
    if col is None:
        return None, None
    code = int(calls.genotype[row, col])
    return (None if code == NOT_CALLED else code), calls.members[col].affected


def _describe(calls: CaseCalls, row: int) -> str:
    return calls.variant(row).name


@dataclass(frozen=True)
class _Origin:
    """Where a heterozygous variant came from, as far as the parents tell."""

    father: int | None
    mother: int | None
    father_affected: bool | None
    mother_affected: bool | None

    @property
    def de_novo(self) -> bool:
        return self.father == REF and self.mother == REF

    @property
    def checked(self) -> int:
        return (self.father is not None) + (self.mother is not None)

    def carried_by_unaffected(self) -> list[str]:
        out = []
        if self.father in (HET, HOM) and self.father_affected is False:
            out.append("father")
        if self.mother in (HET, HOM) and self.mother_affected is False:
            out.append("mother")
        return out


def _origin(calls: CaseCalls, row: int) -> _Origin:
    father, father_affected = _parent_state(calls, row, "father")
    mother, mother_affected = _parent_state(calls, row, "mother")
    return _Origin(father, mother, father_affected, mother_affected)


def _unaffected_siblings_hom(calls: CaseCalls, rows: Sequence[int]) -> bool:
    """An unaffected sibling carries the same recessive genotype: the mode is contradicted."""
    for col, member in enumerate(calls.members):
        if member.role != "sibling" or member.affected is not False:
            continue
        if all(int(calls.genotype[r, col]) == HOM for r in rows):
            return True
    return False


def _dominant(calls: CaseCalls, rows: Sequence[int], mode: Mode) -> list[InheritanceMatch]:
    matches = []
    for row in rows:
        if int(calls.genotype[row, 0]) not in (HET, HOM):
            continue
        origin = _origin(calls, row)
        unaffected = origin.carried_by_unaffected()
        if unaffected:
            continue  # a dominant variant carried by an unaffected parent: not the cause (full penetrance)
        if origin.de_novo:
            text = f"{_describe(calls, row)} is de novo: absent from both parents"
            matches.append(InheritanceMatch(mode, (row,), True, None, text, 1.0))
            continue
        carriers = [p for p, code, aff in (("father", origin.father, origin.father_affected),
                                            ("mother", origin.mother, origin.mother_affected))
                    if code in (HET, HOM) and aff]
        if carriers:
            text = f"{_describe(calls, row)} inherited from the affected {carriers[0]}"
            certainty = 1.0
        elif origin.checked == 0:
            text = f"{_describe(calls, row)} {calls.zygosity(row)}; parents not sequenced, inheritance unknown"
            certainty = 0.8
        else:
            text = (f"{_describe(calls, row)} {calls.zygosity(row)}; absent from the parent(s) tested, "
                    "the other was not")
            certainty = 0.9
        matches.append(InheritanceMatch(mode, (row,), False, None, text, certainty))
    return matches


def _homozygous(calls: CaseCalls, rows: Sequence[int], mode: Mode, build: str) -> list[InheritanceMatch]:
    matches = []
    for row in rows:
        if int(calls.genotype[row, 0]) != HOM:
            continue
        if mode is Mode.AUTOSOMAL_RECESSIVE and _x_haploid(calls, row, build):
            continue
        origin = _origin(calls, row)
        if (origin.father == HOM and origin.father_affected is False) or \
                (origin.mother == HOM and origin.mother_affected is False):
            continue
        if _unaffected_siblings_hom(calls, [row]):
            continue
        hemizygous = mode is Mode.X_LINKED_RECESSIVE and calls.proband.sex == "male"
        if hemizygous:
            if origin.father in (HET, HOM) and origin.father_affected is False:
                continue  # a father passes his X to daughters only
            state = "hemizygous"
            parents = "from the mother" if origin.mother == HET else (
                "de novo" if origin.mother == REF else "maternal origin not tested")
        else:
            state = "homozygous"
            both = origin.father == HET and origin.mother == HET
            parents = "both parents heterozygous carriers" if both else (
                "parents not sequenced" if origin.checked == 0 else "parental carrier status incomplete")
        certainty = 1.0 if origin.checked == 2 else (0.9 if origin.checked == 1 else 0.8)
        de_novo = hemizygous and origin.mother == REF
        matches.append(InheritanceMatch(mode, (row,), de_novo, None,
                                        f"{_describe(calls, row)} {state}; {parents}", certainty))
    return matches


def _compound(calls: CaseCalls, rows: Sequence[int], mode: Mode) -> list[InheritanceMatch]:
    hets = [r for r in rows if int(calls.genotype[r, 0]) == HET]
    matches = []
    for i, a in enumerate(hets):
        for b in hets[i + 1:]:
            oa, ob = _origin(calls, a), _origin(calls, b)
            # An unaffected parent carrying both variants: they would be affected if the pair were in trans.
            if any(o_a == o_b and o_a in (HET, HOM) and aff is False for o_a, o_b, aff in (
                    (oa.father, ob.father, oa.father_affected), (oa.mother, ob.mother, oa.mother_affected))):
                continue
            from_father = {r for r, o in ((a, oa), (b, ob)) if o.father in (HET, HOM) and o.mother == REF}
            from_mother = {r for r, o in ((a, oa), (b, ob)) if o.mother in (HET, HOM) and o.father == REF}
            de_novo = {r for r, o in ((a, oa), (b, ob)) if o.de_novo}
            if len(from_father) == 2 or len(from_mother) == 2:
                continue  # both from the same parent: in cis
            if _unaffected_siblings_comphet(calls, a, b):
                continue
            pair = f"{_describe(calls, a)} and {_describe(calls, b)}"
            if (from_father and from_mother) or (de_novo and (from_father or from_mother)):
                text = f"{pair} in trans (one from each parent{', one de novo' if de_novo else ''})"
                matches.append(InheritanceMatch(mode, (a, b), bool(de_novo), True, text, 1.0))
            elif oa.checked == 0 and ob.checked == 0:
                matches.append(InheritanceMatch(mode, (a, b), False, None,
                                                f"{pair} heterozygous; phase unknown (parents not sequenced)", 0.75))
            else:
                matches.append(InheritanceMatch(mode, (a, b), bool(de_novo), None,
                                                f"{pair} heterozygous; phase not fully resolved by the parents", 0.85))
    return matches


def _unaffected_siblings_comphet(calls: CaseCalls, a: int, b: int) -> bool:
    for col, member in enumerate(calls.members):
        if member.role == "sibling" and member.affected is False and \
                int(calls.genotype[a, col]) in (HET, HOM) and int(calls.genotype[b, col]) in (HET, HOM):
            return True
    return False


def gene_matches(calls: CaseCalls, rows: Sequence[int], modes: frozenset[Mode], build: str) -> list[InheritanceMatch]:
    """Every way the gene's candidate ``rows`` fit one of ``modes`` (all five when ``modes`` is empty)."""
    wanted = modes or frozenset(Mode)
    on_x = [r for r in rows if _x_haploid(calls, r, build)]
    on_mt = [r for r in rows if calls.chrom[r] in ("chrM", "MT")]
    autosomal = [r for r in rows if r not in set(on_x) | set(on_mt)]
    female = calls.proband.sex == "female"
    out: list[InheritanceMatch] = []
    if Mode.AUTOSOMAL_DOMINANT in wanted:
        out += _dominant(calls, autosomal, Mode.AUTOSOMAL_DOMINANT)
    if Mode.AUTOSOMAL_RECESSIVE in wanted:
        out += _homozygous(calls, autosomal, Mode.AUTOSOMAL_RECESSIVE, build)
        out += _compound(calls, autosomal, Mode.AUTOSOMAL_RECESSIVE)
    if Mode.X_LINKED_DOMINANT in wanted:
        out += _dominant(calls, on_x, Mode.X_LINKED_DOMINANT)
    if Mode.X_LINKED_RECESSIVE in wanted:
        out += _homozygous(calls, on_x, Mode.X_LINKED_RECESSIVE, build)
        if female:
            out += _compound(calls, on_x, Mode.X_LINKED_RECESSIVE)
    if Mode.MITOCHONDRIAL in wanted:
        out += [InheritanceMatch(Mode.MITOCHONDRIAL, (r,), False, None,
                                 f"{_describe(calls, r)} on the mitochondrial genome", 0.9)
                for r in on_mt if int(calls.genotype[r, 0]) in (HET, HOM)]
    return out


def de_novo_rows(calls: CaseCalls) -> np.ndarray:
    """Rows where the proband carries the variant and both parents were called reference."""
    father, mother = calls.member_index("father"), calls.member_index("mother")
    if father is None or mother is None:
        return np.zeros(0, dtype=np.int64)
    carried = np.isin(calls.genotype[:, 0], (HET, HOM))
    mask = carried & (calls.genotype[:, father] == REF) & (calls.genotype[:, mother] == REF)
    return np.flatnonzero(mask)
