"""The MME ``patient`` document: parsed, checked, and written back with only the fields the spec defines.

A match request carries one patient (contact, HPO features, candidate genes and variants,
disorders); a response carries matched patients of the same form. We parse both with pydantic
models that follow the MME search API field by field (``../shared/data/specs/mme-search-api.md``),
because the errors must name the field a partner got wrong (``patient.genomicFeatures[1].variant.start:
...``): a matchmaker's integrators fix their exporters from those messages.

What is checked is what the spec makes mandatory or gives a form: ``id`` (≤ 255 characters),
``contact`` with ``name`` and an ``href`` of the form ``scheme:address``, at least one of
``features``/``genomicFeatures``, HPO ids ``HP:#######``, ``observed`` ``yes``/``no``, gene ``id``
present, a variant's ``assembly``/``referenceName``/``start`` (0-based, ≥ 0), bases of A/C/G/T/N,
zygosity 1 or 2, SO ids for the effect type. Whether an HPO term exists in our release is *not* a
parse error: a partner may run a newer HPO, and scoring ignores terms it does not know.

Fields outside the spec (the ``_``-prefixed extensions the spec allows, or anything else) are
dropped on parsing, so a stored or returned document can never carry more than the spec defines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from genomed.errors import InputError

HPO_ID = r"^HP:\d{7}$"
_CHROMOSOME = re.compile(r"^(?:chr)?([1-9]|1\d|2[0-2]|X|Y|MT?)$", re.IGNORECASE)
_ASSEMBLY_FAMILIES = {"NCBI36": "NCBI36", "HG18": "NCBI36", "GRCH37": "GRCh37", "HG19": "GRCh37",
                      "GRCH38": "GRCh38", "HG38": "GRCh38"}

Text255 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
HpoId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=HPO_ID)]
Bases = Annotated[str, StringConstraints(pattern=r"^[ACGTN]+$"),
                  BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v)]


class MmeDocumentError(InputError):
    """An MME request or patient that does not follow the search API; the message names every bad field."""

    def __init__(self, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)


class _Model(BaseModel):
    # ``ignore``: unknown and ``_``-prefixed fields are dropped (see the module docstring).
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class Contact(_Model):
    name: Text255
    href: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")]
    institution: Annotated[str, StringConstraints(max_length=255)] | None = None
    email: str | None = None
    roles: tuple[Literal["clinician", "researcher", "patient"], ...] | None = None


class Disorder(_Model):
    id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*:\S+$")]
    label: str | None = None


class Feature(_Model):
    id: HpoId
    label: str | None = None
    observed: Literal["yes", "no"] = "yes"
    ageOfOnset: str | None = None  # noqa: N815 - the spec's field name


class Gene(_Model):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class VariantLocation(_Model):
    assembly: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    referenceName: str  # noqa: N815
    start: Annotated[int, Field(ge=0, strict=True)]
    end: Annotated[int, Field(ge=0, strict=True)] | None = None
    referenceBases: Bases | None = None  # noqa: N815
    alternateBases: Bases | None = None  # noqa: N815

    @field_validator("referenceName")
    @classmethod
    def _chromosome(cls, value: str) -> str:
        found = _CHROMOSOME.match(value.strip())
        if found is None:
            raise ValueError("must be a chromosome: 1..22, X or Y (MT accepted)")
        name = found.group(1).upper()
        return "MT" if name == "M" else name

    @model_validator(mode="after")
    def _ordered(self) -> VariantLocation:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self

    @property
    def build(self) -> str:
        """The assembly family without its patch (``GRCh37.p13`` → ``GRCh37``; hg19 → GRCh37).

        >>> VariantLocation(assembly="GRCh37.p13", referenceName="chr7", start=1).build
        'GRCh37'
        """
        base = self.assembly.split(".", 1)[0]
        return _ASSEMBLY_FAMILIES.get(base.upper(), base)


class EffectType(_Model):
    id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^SO:\d{7}$")]
    label: str | None = None


class GenomicFeature(_Model):
    gene: Gene
    variant: VariantLocation | None = None
    zygosity: Literal[1, 2] | None = None
    type: EffectType | None = None

    @model_validator(mode="before")
    @classmethod
    def _unplaced_variant(cls, data: Any) -> Any:
        # A variant with no start names no position (e.g. "multi-exon deletion" in the official
        # benchmark file): it cannot match another variant, so the feature is kept as its gene.
        if isinstance(data, Mapping) and isinstance(data.get("variant"), Mapping) and "start" not in data["variant"]:
            return {k: v for k, v in data.items() if k != "variant"}
        return data


class MmePatient(_Model):
    """One MME patient, as the search API defines it (only its fields)."""

    id: Text255
    contact: Contact
    label: Annotated[str, StringConstraints(max_length=255)] | None = None
    species: str | None = None
    sex: Literal["FEMALE", "MALE", "OTHER", "MIXED_SAMPLE", "NOT_APPLICABLE"] | None = None
    ageOfOnset: HpoId | None = None  # noqa: N815
    inheritanceMode: HpoId | None = None  # noqa: N815
    disorders: tuple[Disorder, ...] = ()
    features: tuple[Feature, ...] = ()
    genomicFeatures: tuple[GenomicFeature, ...] = ()  # noqa: N815
    test: bool = False

    @model_validator(mode="after")
    def _something_to_match(self) -> MmePatient:
        if not self.features and not self.genomicFeatures:
            raise ValueError("a patient needs at least one of features, genomicFeatures")
        return self

    @property
    def observed_terms(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.features if f.observed == "yes")

    @property
    def excluded_terms(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.features if f.observed == "no")

    def to_json(self) -> dict[str, Any]:
        """The document as JSON: spec fields only, unset optional fields left out, ``test`` only when true."""
        document = self.model_dump(mode="json", exclude_none=True)
        for empty in ("disorders", "features", "genomicFeatures"):
            if not document.get(empty):
                document.pop(empty, None)
        if not document.get("test"):
            document.pop("test", None)
        return document


class MatchRequest(_Model):
    patient: MmePatient
    disclaimer: str | None = None
    terms: str | None = None


def _location(parts: Sequence[int | str], root: str) -> str:
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or "[" in part:
            continue  # pydantic's names for validator layers and union arms: not fields
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def _error(exc: ValidationError, root: str, what: str) -> MmeDocumentError:
    problems: list[str] = []
    fields: list[str] = []
    for err in exc.errors(include_url=False):
        where = _location(err["loc"], root)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "is mandatory"
        elif err["type"] in ("string_pattern_mismatch", "literal_error", "enum", "int_parsing", "bool_parsing"):
            shown = repr(err.get("input"))
            message += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
        problems.append(f"{where}: {message}")
        fields.append(where)
    return MmeDocumentError(f"invalid MME {what}: " + "; ".join(problems), fields)


def parse_patient(document: object, *, where: str = "patient") -> MmePatient:
    """Parse one MME patient (a JSON object); :class:`MmeDocumentError` names every field that is wrong."""
    if not isinstance(document, Mapping):
        raise MmeDocumentError(f"invalid MME patient: {where} must be a JSON object, got {type(document).__name__}",
                               [where])
    try:
        return MmePatient.model_validate(document)
    except ValidationError as exc:
        raise _error(exc, where, "patient") from exc


def unplaced_variants(document: object) -> list[str]:
    """Genomic features of a raw patient whose variant has no ``start`` (parsed as their gene only)."""
    found: list[str] = []
    features = document.get("genomicFeatures") if isinstance(document, Mapping) else None
    for i, feature in enumerate(features if isinstance(features, list) else []):
        if isinstance(feature, Mapping) and isinstance(feature.get("variant"), Mapping) \
                and "start" not in feature["variant"]:
            gene = feature.get("gene")
            found.append(f"genomicFeatures[{i}] ({gene.get('id') if isinstance(gene, Mapping) else '?'})")
    return found


def parse_request(document: object) -> MatchRequest:
    """Parse a match request body (already decoded from JSON)."""
    if not isinstance(document, Mapping):
        raise MmeDocumentError("invalid MME request: the body must be a JSON object with a 'patient'", ["(body)"])
    try:
        return MatchRequest.model_validate(document)
    except ValidationError as exc:
        raise _error(exc, "", "request") from exc


__all__ = ["Contact", "Disorder", "Feature", "GenomicFeature", "MatchRequest", "MmeDocumentError", "MmePatient",
           "VariantLocation", "parse_patient", "parse_request", "unplaced_variants"]
