"""PED parsing and writing (genomed.catalog.pedigree): values, round trips and every kind of broken file.

Each broken file must raise InputError naming the file and the line a prescriber has to fix.
"""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genomed.catalog import pedigree
from genomed.catalog.pedigree import HEADER, Affected, PedRecord, Sex, format_ped, founders, parse_ped, trios
from genomed.errors import GenomedError, InputError

TRIO = """\
# family with an affected daughter
FAM1\tkid\tdad\tmum\t2\t2
FAM1 dad 0 0 1 1

FAM1   mum   0   0   2   1
"""


def _fails(text: str, line: int | None, *fragments: str) -> str:
    """Parse ``text`` as family.ped, expect InputError at ``line`` containing every fragment."""
    with pytest.raises(InputError) as excinfo:
        parse_ped(text, "family.ped")
    message = str(excinfo.value)
    prefix = "family.ped: " if line is None else f"family.ped line {line}: "
    assert message.startswith(prefix), message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- values -----------------------------------------------------------------------------------------


def test_parse_trio_with_tabs_spaces_comments_and_blank_lines() -> None:
    assert parse_ped(TRIO) == [
        PedRecord("FAM1", "kid", "dad", "mum", "female", "affected"),
        PedRecord("FAM1", "dad", None, None, "male", "unaffected"),
        PedRecord("FAM1", "mum", None, None, "female", "unaffected"),
    ]


@pytest.mark.parametrize(("code", "expected"), [("1", "male"), ("2", "female"), ("0", "unknown")])
def test_sex_codes(code: str, expected: str) -> None:
    assert parse_ped(f"F P 0 0 {code} 1")[0].sex == expected


@pytest.mark.parametrize(
    ("code", "expected"), [("1", "unaffected"), ("2", "affected"), ("0", "unknown"), ("-9", "unknown")]
)
def test_phenotype_codes(code: str, expected: str) -> None:
    assert parse_ped(f"F P 0 0 1 {code}")[0].affected == expected


def test_single_known_parent_is_allowed() -> None:
    records = parse_ped("F kid 0 mum 1 2\nF mum 0 0 2 1")
    assert records[0].father is None and records[0].mother == "mum"


def test_parents_may_follow_their_children_in_the_file() -> None:
    assert len(parse_ped("F kid dad mum 1 2\nF mum 0 0 2 1\nF dad 0 0 1 1")) == 3


def test_same_individual_code_in_two_families_is_two_people() -> None:
    records = parse_ped("F1 P1 0 0 1 2\nF2 P1 0 0 2 1")
    assert [r.key for r in records] == [("F1", "P1"), ("F2", "P1")]


def test_windows_line_endings_and_byte_order_mark() -> None:
    text = "\ufeff" + TRIO.replace("\n", "\r\n")
    assert parse_ped(text) == parse_ped(TRIO)


def test_header_written_by_format_is_skipped_as_a_comment() -> None:
    assert parse_ped(HEADER + "\nF P 0 0 1 2\n") == [PedRecord("F", "P", None, None, "male", "affected")]


# --- round trip ---------------------------------------------------------------------------------------


def test_format_ped_is_tab_separated_with_header() -> None:
    text = format_ped(parse_ped(TRIO))
    assert text == (
        "#family\tindividual\tfather\tmother\tsex\tphenotype\n"
        "FAM1\tkid\tdad\tmum\t2\t2\n"
        "FAM1\tdad\t0\t0\t1\t1\n"
        "FAM1\tmum\t0\t0\t2\t1\n"
    )


def test_round_trip() -> None:
    records = parse_ped(TRIO)
    text = format_ped(records)
    assert parse_ped(text) == records
    assert format_ped(parse_ped(text)) == text


def test_unknown_phenotype_minus_nine_is_written_as_zero() -> None:
    assert format_ped(parse_ped("F P 0 0 0 -9")).splitlines()[1] == "F\tP\t0\t0\t0\t0"


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        (PedRecord("F 1", "P", None, None, "male", "affected"), "whitespace"),
        (PedRecord("F", "", None, None, "male", "affected"), "empty"),
        (PedRecord("F", "P", "da\td", None, "male", "affected"), "whitespace"),
        (PedRecord("#F", "P", None, None, "male", "affected"), "comment"),
        (PedRecord("F", "0", None, None, "male", "affected"), "missing parent"),
        (PedRecord("F", "P", None, "0", "male", "affected"), "missing parent"),
    ],
)
def test_format_refuses_values_that_would_not_read_back(record: PedRecord, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        format_ped([record])


# --- founders and trios -------------------------------------------------------------------------------


def test_founders_and_trios() -> None:
    text = TRIO + "FAM1 sib dad 0 1 1\nFAM2 solo 0 0 0 2\n"
    records = parse_ped(text)
    assert [r.individual for r in founders(records)] == ["dad", "mum", "solo"]
    got = [(c.individual, f.individual, m.individual) for c, f, m in trios(records)]
    assert got == [("kid", "dad", "mum")]


def test_trios_in_a_three_generation_family() -> None:
    text = "F gf 0 0 1 1\nF gm 0 0 2 1\nF dad gf gm 1 1\nF mum 0 0 2 1\nF kid dad mum 2 2"
    got = [(c.individual, f.individual, m.individual) for c, f, m in trios(parse_ped(text))]
    assert got == [("dad", "gf", "gm"), ("kid", "dad", "mum")]


def test_trios_look_parents_up_in_the_child_family_only() -> None:
    # Records built by hand (not parsed): the parents exist, but in another family.
    records = [
        PedRecord("F1", "kid", "dad", "mum", "male", "affected"),
        PedRecord("F2", "dad", None, None, "male", "unaffected"),
        PedRecord("F2", "mum", None, None, "female", "unaffected"),
    ]
    assert trios(records) == []


def test_trios_need_both_parents_among_the_records() -> None:
    # A subset of a family, as a caller might pass after filtering to the sequenced members.
    records = [
        PedRecord("F", "kid", "dad", "mum", "male", "affected"),
        PedRecord("F", "dad", None, None, "male", "unaffected"),
    ]
    assert trios(records) == []
    assert trios(list(reversed(records))) == []


def test_founders_and_trios_accept_any_iterable() -> None:
    records = parse_ped(TRIO)
    assert trios(iter(records)) == trios(records)
    assert founders(iter(records)) == founders(records)


# --- errors: every kind of broken file, with its line -------------------------------------------------


@pytest.mark.parametrize("line", ["F P 0 0 1", "F P 0 0 1 2 A A", "F\tP\t0\t0\t1\t\t"])
def test_wrong_number_of_columns(line: str) -> None:
    _fails(f"# header\n\n{line}\n", 3, "columns")


def test_duplicate_individual() -> None:
    message = _fails("F P1 0 0 1 1\nF P2 0 0 2 1\nF P1 0 0 1 2\n", 3, "duplicate", "'P1'")
    assert "line 1" in message  # where the first one is


def test_parent_missing_from_file() -> None:
    _fails("F kid dad 0 1 2\nF mum 0 0 2 1\n", 1, "father 'dad'", "'kid'", "family 'F'")


def test_mother_missing_from_file() -> None:
    _fails("F dad 0 0 1 1\n# child\nF kid dad mum 1 2\n", 3, "mother 'mum'")


def test_parent_in_another_family() -> None:
    text = "F1 dad 0 0 1 1\nF2 kid dad 0 1 2\n"
    message = _fails(text, 2, "father 'dad'", "not an individual of family 'F2'")
    assert "'F1'" in message  # says where the parent actually is


def test_father_recorded_as_female() -> None:
    message = _fails("F kid dad mum 1 2\nF dad 0 0 2 1\nF mum 0 0 2 1\n", 1, "father 'dad'", "female")
    assert "line 2" in message  # where the father's sex is recorded


def test_mother_recorded_as_male() -> None:
    _fails("F dad 0 0 1 1\nF mum 0 0 1 1\nF kid dad mum 1 2\n", 3, "mother 'mum'", "male")


def test_parents_of_unknown_sex_are_accepted() -> None:
    assert len(parse_ped("F kid p1 p2 1 2\nF p1 0 0 0 1\nF p2 0 0 0 1")) == 3


def test_same_individual_named_father_and_mother() -> None:
    text = "F p 0 0 0 1\nF a p 0 1 2\nF b 0 p 2 2\n"
    message = _fails(text, 3, "'p'", "mother", "father")
    assert "line 2" in message


def test_same_individual_as_both_parents_of_one_child() -> None:
    _fails("F p 0 0 0 1\nF a p p 1 2\n", 2, "'p'")


@pytest.mark.parametrize(("columns", "role"), [("P P 0", "father"), ("P 0 P", "mother")])
def test_own_parent(columns: str, role: str) -> None:
    _fails(f"F x 0 0 1 1\nF {columns} 1 2\n", 2, "'P'", f"own {role}")


def test_two_generation_cycle() -> None:
    # A is the father of B and B the father of A.
    message = _fails("F A B 0 1 1\nF B A 0 1 1\n", 1, "cycle", "family 'F'")
    assert re.search(r"A -> B -> A|B -> A -> B", message), message


def test_three_generation_cycle() -> None:
    text = "F x 0 0 2 1\nF A C x 1 1\nF B A x 1 1\nF C B x 1 1\n"
    with pytest.raises(InputError, match=r"^family\.ped line [234]: ancestry cycle .*A -> C -> B -> A"):
        parse_ped(text, "family.ped")


def test_cycle_not_reachable_from_first_individual() -> None:
    _fails("F a 0 0 1 1\nF b 0 0 2 1\nF c d 0 1 1\nF d c 0 1 1\n", 3, "cycle", "c -> d -> c")


def test_deep_pedigree_does_not_overflow_the_stack() -> None:
    # A generated file of thousands of generations must not hit Python's recursion limit.
    lines = ["F g0 0 0 1 1"] + [f"F g{i} g{i - 1} 0 1 1" for i in range(1, 5000)]
    assert len(parse_ped("\n".join(lines))) == 5000
    cyclic = ["F g0 g4999 0 1 1", *lines[1:]]
    with pytest.raises(InputError, match="cycle"):
        parse_ped("\n".join(cyclic))


@pytest.mark.parametrize("code", ["M", "F", "3", "-9", "male", "1.0"])
def test_invalid_sex_code(code: str) -> None:
    _fails(f"F a 0 0 1 1\nF b 0 0 {code} 1\n", 2, "sex", repr(code))


@pytest.mark.parametrize("code", ["3", "-1", "1.5", "affected", "NA"])
def test_invalid_phenotype_code(code: str) -> None:
    _fails(f"F a 0 0 1 {code}\n", 1, "phenotype", repr(code))


def test_individual_named_zero() -> None:
    _fails("F 0 0 0 1 1\n", 1, "'0'")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", HEADER + "\n", "  \t \n# x\n"])
def test_empty_file(text: str) -> None:
    _fails(text, None, "empty")


def test_default_source_name() -> None:
    with pytest.raises(InputError, match=r"^<ped> line 1: "):
        parse_ped("F P 0 0 1")


def test_input_error_is_a_genomed_error_not_a_value_error() -> None:
    with pytest.raises(InputError) as excinfo:
        parse_ped("F P 0 0 1")
    assert isinstance(excinfo.value, GenomedError)
    assert not isinstance(excinfo.value, ValueError)


def test_doctests() -> None:
    result = doctest.testmod(pedigree)
    assert result.attempted > 0
    assert result.failed == 0


# --- property: generated valid pedigrees round-trip ---------------------------------------------------

# Any printable code without whitespace; '#' is kept out of codes entirely so that no family starts
# with it, and "0" is reserved for a missing parent.
CODES = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="#"),
    min_size=1,
    max_size=6,
).filter(lambda s: s != "0")
SEXES: st.SearchStrategy[Sex] = st.sampled_from(["male", "female", "unknown"])
AFFECTED: st.SearchStrategy[Affected] = st.sampled_from(["affected", "unaffected", "unknown"])


@st.composite
def families(draw: st.DrawFn, family: str) -> list[PedRecord]:
    """A valid family: parents are drawn among earlier members, so there is no cycle by construction."""
    members = draw(st.lists(CODES, min_size=1, max_size=8, unique=True))
    records: list[PedRecord] = []
    role: dict[str, str] = {}  # an unknown-sex parent keeps the one role it was first given
    for individual in members:
        fathers = [r.individual for r in records if r.sex != "female" and role.get(r.individual) != "mother"]
        mothers = [r.individual for r in records if r.sex != "male" and role.get(r.individual) != "father"]
        father = draw(st.none() | st.sampled_from(fathers)) if fathers else None
        if father is not None:
            role[father] = "father"
            mothers = [m for m in mothers if m != father]
        mother = draw(st.none() | st.sampled_from(mothers)) if mothers else None
        if mother is not None:
            role[mother] = "mother"
        records.append(PedRecord(family, individual, father, mother, draw(SEXES), draw(AFFECTED)))
    return records


@st.composite
def pedigrees(draw: st.DrawFn) -> list[PedRecord]:
    names = draw(st.lists(CODES, min_size=1, max_size=3, unique=True))
    records = [r for name in names for r in draw(families(name))]
    return draw(st.permutations(records))  # a PED file may list children before their parents


@st.composite
def ped_texts(draw: st.DrawFn) -> tuple[str, list[PedRecord]]:
    """A hand-written-looking PED text of a valid pedigree: mixed separators, comments, blank lines."""
    records = draw(pedigrees())
    sex_code = {"male": "1", "female": "2", "unknown": "0"}
    affected_codes = {"affected": ["2"], "unaffected": ["1"], "unknown": ["0", "-9"]}
    lines: list[str] = []
    for r in records:
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "   ", "# comment", "  #indented comment", "\t"])))
        fields = [
            r.family,
            r.individual,
            r.father or "0",
            r.mother or "0",
            sex_code[r.sex],
            draw(st.sampled_from(affected_codes[r.affected])),
        ]
        indent = draw(st.sampled_from(["", " ", "\t"]))
        seps = [draw(st.sampled_from([" ", "\t", "  ", " \t "])) for _ in fields[1:]]
        trailing = draw(st.sampled_from(["", " ", "\t"]))
        body = fields[0] + "".join(sep + f for sep, f in zip(seps, fields[1:], strict=True))
        lines.append(indent + body + trailing)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline])), records


@settings(max_examples=200, deadline=None)
@given(ped_texts())
def test_property_parse_format_round_trip(case: tuple[str, list[PedRecord]]) -> None:
    text, expected = case
    parsed = parse_ped(text)
    assert parsed == expected
    formatted = format_ped(parsed)
    assert parse_ped(formatted) == parsed
    assert format_ped(parse_ped(formatted)) == formatted


@settings(max_examples=200, deadline=None)
@given(pedigrees())
def test_property_trios_and_founders_partition_consistently(records: list[PedRecord]) -> None:
    parsed = parse_ped(format_ped(records))
    found = founders(parsed)
    assert all(r.father is None and r.mother is None for r in found)
    complete = {c.key for c, _, _ in trios(parsed)}
    assert complete == {r.key for r in parsed if r.father is not None and r.mother is not None}
    assert not complete & {r.key for r in found}
