"""Reading and writing pedigrees in the PED format, as pure functions (no database).

A PED file has one line per individual and six whitespace-separated columns (tabs or spaces)::

    family  individual  father  mother  sex  phenotype

``father`` and ``mother`` are ``0`` when the parent is not in the file; ``sex`` is ``1`` (male),
``2`` (female) or ``0`` (unknown); ``phenotype`` is ``1`` (unaffected), ``2`` (affected) or ``0`` /
``-9`` (unknown). Blank lines and lines starting with ``#`` are ignored.

Why strict: a pedigree decides which samples are analysed as a trio, which parent a de novo call is
checked against, and which sex the QC sex check expects. The classic PED description reads "other =
unknown" for sex and lets PLINK put quantitative traits in the phenotype column; here an unexpected
code (``M``, ``F``, ``3``, ``1.5``) is refused instead, because silently reading a typo as "unknown"
would hide a sex mismatch or an affected relative. Every error names the file and the line, so a
prescriber can fix it without reading code.

Individuals are identified by (family, individual), the key of the PED format itself: the same
individual code may appear in two families, and parents are always looked up in the child's own
family.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from genomed.errors import InputError

__all__ = ["Affected", "PedRecord", "Sex", "format_ped", "founders", "parse_ped", "trios"]

Sex = Literal["male", "female", "unknown"]
Affected = Literal["affected", "unaffected", "unknown"]

HEADER: Final = "#family\tindividual\tfather\tmother\tsex\tphenotype"
"""The comment line :func:`format_ped` writes first; :func:`parse_ped` skips it like any comment."""

_MISSING_PARENT: Final = "0"
_N_COLUMNS: Final = 6

_SEX_FROM_CODE: Final[dict[str, Sex]] = {"1": "male", "2": "female", "0": "unknown"}
_SEX_TO_CODE: Final[dict[Sex, str]] = {"male": "1", "female": "2", "unknown": "0"}
_AFFECTED_FROM_CODE: Final[dict[str, Affected]] = {
    "1": "unaffected",
    "2": "affected",
    "0": "unknown",
    "-9": "unknown",
}
_AFFECTED_TO_CODE: Final[dict[Affected, str]] = {"unaffected": "1", "affected": "2", "unknown": "0"}


@dataclass(frozen=True)
class PedRecord:
    """One line of a PED file: an individual, their parents (``None`` when absent) and phenotype."""

    family: str
    individual: str
    father: str | None
    mother: str | None
    sex: Sex
    affected: Affected

    @property
    def key(self) -> tuple[str, str]:
        """``(family, individual)``: what identifies an individual in a PED file."""
        return (self.family, self.individual)


def parse_ped(text: str, source: str = "<ped>") -> list[PedRecord]:
    r"""Parse and validate the text of a PED file; records come back in file order.

    ``source`` names the file in error messages (``"family.ped line 4: ..."``). Raises
    :class:`~genomed.errors.InputError` for a wrong number of columns, an invalid sex or phenotype
    code, a duplicate individual, a parent missing from the child's family, a father recorded as
    female or a mother as male, an individual who is their own parent or ancestor, or a file
    without any individual.

    >>> text = "# a trio\nF1 kid dad mum 2 2\nF1 dad 0 0 1 1\nF1 mum 0 0 2 1\n"
    >>> records = parse_ped(text, "trio.ped")
    >>> records[0]
    PedRecord(family='F1', individual='kid', father='dad', mother='mum', sex='female', affected='affected')
    >>> format_ped(records).splitlines()[:2]
    ['#family\tindividual\tfather\tmother\tsex\tphenotype', 'F1\tkid\tdad\tmum\t2\t2']
    >>> parse_ped(format_ped(records)) == records
    True
    >>> parse_ped("F1 kid dad 0 1 2", "trio.ped")
    Traceback (most recent call last):
    ...
    genomed.errors.InputError: trio.ped line 1: father 'dad' of 'kid' is not an individual of family 'F1'
    """
    records: list[PedRecord] = []
    line_of: dict[tuple[str, str], int] = {}
    # A byte-order mark from a spreadsheet export would otherwise become part of the first family code.
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        record = _parse_line(stripped, source, number)
        if record.key in line_of:
            raise InputError(
                f"{source} line {number}: duplicate individual {record.individual!r} of family "
                f"{record.family!r} (first on line {line_of[record.key]})"
            )
        line_of[record.key] = number
        records.append(record)
    if not records:
        raise InputError(f"{source}: empty pedigree, no individual lines (only blank lines or comments)")
    _check_parents(records, line_of, source)
    _check_no_cycle(records, line_of, source)
    return records


def format_ped(records: Iterable[PedRecord]) -> str:
    r"""Write records as a tab-separated PED text, after a :data:`HEADER` comment line.

    The output parses back with :func:`parse_ped` to the same records when they form a valid
    pedigree (this function checks only that each value can be written, not the family structure).
    A value that cannot survive the round trip raises :class:`~genomed.errors.InputError`: an empty
    code, one containing whitespace, a family code starting with ``#`` (the line would read as a
    comment), or an individual or parent literally named ``0`` (it would read as "no parent").

    >>> format_ped([PedRecord("F", "P1", None, None, "unknown", "unknown")])
    '#family\tindividual\tfather\tmother\tsex\tphenotype\nF\tP1\t0\t0\t0\t0\n'
    """
    lines = [HEADER]
    for record in records:
        _check_writable(record)
        lines.append(
            "\t".join(
                (
                    record.family,
                    record.individual,
                    record.father if record.father is not None else _MISSING_PARENT,
                    record.mother if record.mother is not None else _MISSING_PARENT,
                    _SEX_TO_CODE[record.sex],
                    _AFFECTED_TO_CODE[record.affected],
                )
            )
        )
    return "\n".join(lines) + "\n"


def founders(records: Iterable[PedRecord]) -> list[PedRecord]:
    r"""The individuals with neither parent in the pedigree, in input order.

    An individual with a single known parent is not a founder: one of their parents is in the file.

    >>> recs = parse_ped("F c d 0 1 2\nF d 0 0 1 1")
    >>> [r.individual for r in founders(recs)]
    ['d']
    """
    return [r for r in records if r.father is None and r.mother is None]


def trios(records: Iterable[PedRecord]) -> list[tuple[PedRecord, PedRecord, PedRecord]]:
    r"""``(child, father, mother)`` for every individual whose two parents are both among ``records``.

    Parents are looked up in the child's own family. Records that did not come from
    :func:`parse_ped` are not validated here: a child whose named parent is absent is simply not
    part of a trio.

    >>> recs = parse_ped("F kid dad mum 1 2\nF dad 0 0 1 1\nF mum 0 0 2 1\nF sib dad 0 2 1")
    >>> [(c.individual, f.individual, m.individual) for c, f, m in trios(recs)]
    [('kid', 'dad', 'mum')]
    """
    materialised = list(records)
    by_key = {r.key: r for r in materialised}
    result: list[tuple[PedRecord, PedRecord, PedRecord]] = []
    for child in materialised:
        if child.father is None or child.mother is None:
            continue
        father = by_key.get((child.family, child.father))
        mother = by_key.get((child.family, child.mother))
        if father is not None and mother is not None:
            result.append((child, father, mother))
    return result


def _parse_line(line: str, source: str, number: int) -> PedRecord:
    where = f"{source} line {number}"
    fields = line.split()
    if len(fields) != _N_COLUMNS:
        raise InputError(
            f"{where}: expected {_N_COLUMNS} columns (family, individual, father, mother, sex, phenotype), "
            f"found {len(fields)}"
        )
    family, individual, father_code, mother_code, sex_code, phenotype_code = fields
    if individual == _MISSING_PARENT:
        raise InputError(f"{where}: individual code '0' is reserved for a missing parent")
    sex = _SEX_FROM_CODE.get(sex_code)
    if sex is None:
        raise InputError(f"{where}: invalid sex code {sex_code!r} for {individual!r} (expected 1, 2 or 0)")
    affected = _AFFECTED_FROM_CODE.get(phenotype_code)
    if affected is None:
        raise InputError(
            f"{where}: invalid phenotype code {phenotype_code!r} for {individual!r} (expected 1, 2, 0 or -9)"
        )
    father = None if father_code == _MISSING_PARENT else father_code
    mother = None if mother_code == _MISSING_PARENT else mother_code
    if individual in (father, mother):
        role = "father" if individual == father else "mother"
        raise InputError(f"{where}: {individual!r} is recorded as their own {role}")
    return PedRecord(family, individual, father, mother, sex, affected)


def _check_parents(records: list[PedRecord], line_of: dict[tuple[str, str], int], source: str) -> None:
    """Every named parent is in the child's family, with a sex that fits the role it is named in."""
    by_key = {r.key: r for r in records}
    families_of: dict[str, list[str]] = {}
    for r in records:
        families_of.setdefault(r.individual, []).append(r.family)
    # The first line naming each individual as a father / as a mother, to catch one named as both.
    role_line: dict[tuple[str, str, str], int] = {}
    for child in records:
        where = f"{source} line {line_of[child.key]}"
        for role, parent_id in (("father", child.father), ("mother", child.mother)):
            if parent_id is None:
                continue
            parent = by_key.get((child.family, parent_id))
            if parent is None:
                elsewhere = families_of.get(parent_id)
                hint = f" (it is in family {', '.join(map(repr, elsewhere))})" if elsewhere else ""
                raise InputError(
                    f"{where}: {role} {parent_id!r} of {child.individual!r} is not an individual of "
                    f"family {child.family!r}{hint}"
                )
            if (role, parent.sex) in (("father", "female"), ("mother", "male")):
                raise InputError(
                    f"{where}: {role} {parent_id!r} of {child.individual!r} is recorded as {parent.sex} "
                    f"(line {line_of[parent.key]})"
                )
            other_role = "mother" if role == "father" else "father"
            other_line = role_line.get((child.family, parent_id, other_role))
            if other_line is not None:
                raise InputError(
                    f"{where}: {parent_id!r} is named as {role} of {child.individual!r} but as {other_role} "
                    f"on line {other_line}"
                )
            role_line.setdefault((child.family, parent_id, role), line_of[child.key])


def _check_no_cycle(records: list[PedRecord], line_of: dict[tuple[str, str], int], source: str) -> None:
    """Nobody is their own ancestor.

    An iterative depth-first search over child -> parent edges (recursion would overflow on a
    pedigree of a few thousand generations, which a malicious or generated file could contain).
    Assumes :func:`_check_parents` passed, so every named parent exists in the same family.
    """
    parents: dict[tuple[str, str], list[tuple[str, str]]] = {
        r.key: [(r.family, p) for p in (r.father, r.mother) if p is not None] for r in records
    }
    done: set[tuple[str, str]] = set()
    for start in parents:
        if start in done:
            continue
        path: list[tuple[str, str]] = [start]
        on_path = {start}
        stack = [iter(parents[start])]
        while stack:
            parent = next(stack[-1], None)
            if parent is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
            elif parent in on_path:
                cycle = [*path[path.index(parent) :], parent]
                chain = " -> ".join(individual for _, individual in cycle)
                raise InputError(
                    f"{source} line {line_of[parent]}: ancestry cycle in family {parent[0]!r} "
                    f"(each is a parent of the previous): {chain}"
                )
            elif parent not in done:
                path.append(parent)
                on_path.add(parent)
                stack.append(iter(parents[parent]))


def _check_writable(record: PedRecord) -> None:
    what = f"cannot write PED record {record.family!r}/{record.individual!r}"
    for column, value in (
        ("family", record.family),
        ("individual", record.individual),
        ("father", record.father),
        ("mother", record.mother),
    ):
        if value is None:
            continue
        if not value or any(c.isspace() for c in value):
            raise InputError(f"{what}: {column} code {value!r} is empty or contains whitespace")
        if value == _MISSING_PARENT:
            raise InputError(f"{what}: {column} code '0' means a missing parent in PED")
    if record.family.startswith("#"):
        raise InputError(f"{what}: a family code starting with '#' would be read back as a comment")
    if record.sex not in _SEX_TO_CODE:
        raise InputError(f"{what}: unknown sex {record.sex!r}")
    if record.affected not in _AFFECTED_TO_CODE:
        raise InputError(f"{what}: unknown affected status {record.affected!r}")
