"""The entry types this beacon serves, as the Beacon v2 default model defines them.

One table drives the configuration, the map, the routes and the document loader, so that an entry
type cannot be served without being declared (or declared without being served). Names follow
``beacon-v2-default-model/beaconConfiguration.json``: an entry type has an id (``individual``), an
endpoint path (``individuals``), a default schema and an ontology term for itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomed.errors import NotFoundError

API_VERSION = "v2.0.0"
SPECIFICATION = "Beacon v2.0.0"
SCHEMA_VERSION = "v2.0.0"
GRANULARITIES = ("boolean", "count", "record")


@dataclass(frozen=True)
class EntryType:
    """One entry type: its Beacon id, endpoint path, schema and the related lookups it offers."""

    id: str                 # Beacon entry type id, also ``beacon_documents.entry_type``
    path: str               # endpoint path segment
    name: str
    file: str               # the JSON array a documents directory holds for it
    schema: str             # default schema id
    term: tuple[str, str]   # ontology term for the type (id, label)
    description: str
    lookups: tuple[str, ...] = ()     # paths of related entry types: /{path}/{id}/{lookup}
    collection_of: str | None = None  # for collections (datasets, cohorts): the entry type collected

    @property
    def is_collection(self) -> bool:
        return self.collection_of is not None

    def returned_schema(self) -> dict[str, str]:
        return {"entityType": self.id, "schema": self.schema}


ENTRY_TYPES: tuple[EntryType, ...] = (
    EntryType("analysis", "analyses", "Bioinformatics analysis", "analyses.json", "ga4gh-beacon-analysis-v2.0.0",
              ("edam:operation_2945", "Analysis"), "Apply analytical methods to existing data of a specific type.",
              lookups=("g_variants",)),
    EntryType("biosample", "biosamples", "Biological Sample", "biosamples.json", "ga4gh-beacon-biosample-v2.0.0",
              ("NCIT:C70699", "Biospecimen"), "Any material sample taken from a biological entity.",
              lookups=("analyses", "g_variants", "runs")),
    EntryType("cohort", "cohorts", "Cohort", "cohorts.json", "ga4gh-beacon-cohort-v2.0.0",
              ("NCIT:C61512", "Cohort"), "A group of individuals, identified by a common characteristic.",
              lookups=("individuals",), collection_of="individual"),
    EntryType("dataset", "datasets", "Dataset", "datasets.json", "ga4gh-beacon-dataset-v2.0.0",
              ("NCIT:C47824", "Data set"), "A collection of related sets of information, e.g. genomic variations "
              "together with associated procedural and biological metadata.",
              lookups=("biosamples", "g_variants", "individuals"), collection_of="genomicVariant"),
    EntryType("genomicVariant", "g_variants", "Genomic Variants", "genomicVariations.json",
              "ga4gh-beacon-variant-v2.0.0", ("ENSGLOSSARY:0000092", "Variant"), "The location of a sequence.",
              lookups=("biosamples", "individuals")),
    EntryType("individual", "individuals", "Individual", "individuals.json", "ga4gh-beacon-individual-v2.0.0",
              ("NCIT:C25190", "Person"), "A human being: a patient, a tissue donor, a participant.",
              lookups=("biosamples", "g_variants")),
    EntryType("run", "runs", "Sequencing run", "runs.json", "ga4gh-beacon-run-v2.0.0",
              ("NCIT:C148088", "Sequencing run"), "The valid and completed operation of a high-throughput "
              "sequencing instrument for a single sequencing process.", lookups=("analyses", "g_variants")),
)

BY_PATH = {entry.path: entry for entry in ENTRY_TYPES}
BY_ID = {entry.id: entry for entry in ENTRY_TYPES}
# Names a filter's ``scope`` may use for an entry type: its id, its path, and the plural of its id.
SCOPE_NAMES = {
    **{entry.id.lower(): entry.id for entry in ENTRY_TYPES},
    **{entry.path.lower(): entry.id for entry in ENTRY_TYPES},
    **{f"{entry.id.lower()}s": entry.id for entry in ENTRY_TYPES},
    "genomicvariation": "genomicVariant", "genomicvariations": "genomicVariant",
}
VARIANTS = BY_ID["genomicVariant"]
DATASETS = BY_ID["dataset"]
COHORTS = BY_ID["cohort"]
INDIVIDUALS = BY_ID["individual"]
BIOSAMPLES = BY_ID["biosample"]


def entry_by_path(path: str) -> EntryType:
    """The entry type served at ``/{path}``; :class:`NotFoundError` for any other path."""
    entry = BY_PATH.get(path)
    if entry is None:
        raise NotFoundError(f"this beacon serves no entry type at /{path}; see /entry_types")
    return entry
