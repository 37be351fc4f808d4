"""Gene panels: PanelApp panels in their API JSON, and the ACMG secondary-findings list, versioned.

A clinical indication is analysed against a virtual gene panel, and the report must name the panel
*and its version*: PanelApp panels change every few weeks (genes promoted from amber to green,
demoted, added), so reanalysing a case means knowing which version it was filtered with and
being able to load that version again. :class:`PanelLibrary` keeps every loaded version of every
panel; :meth:`PanelLibrary.get` returns the newest unless a version is asked for, and says which
versions exist when the one asked for does not.

PanelApp rates each gene: confidence 3 = green (diagnostic-grade evidence), 2 = amber, 1 = red,
0 = not rated (e.g. a gene kept for history). Only green genes are used for diagnostic filtering
by default. The ACMG secondary-findings list (genes in which a pathogenic variant is reported
without being looked for, if the patient consented) is loaded as one more panel, all green.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

from genomed.annotate.releases import KnowledgeRelease, make_release, read_lines
from genomed.errors import DuplicateError, InputError, NotFoundError

ACMG_SF_PANEL_ID = "ACMG-SF"
_ACMG_COLUMNS = ("hgnc_id", "gene_symbol", "inheritance", "sf_list_version")


class Confidence(IntEnum):
    """PanelApp's gene rating (its ``confidence_level``)."""

    NOT_RATED = 0
    RED = 1
    AMBER = 2
    GREEN = 3

    @property
    def colour(self) -> str:
        """The colour PanelApp shows ("grey" for not rated).

        >>> Confidence(3).colour, Confidence.NOT_RATED.colour
        ('green', 'grey')
        """
        return ("grey", "red", "amber", "green")[self.value]


class Inheritance(Enum):
    """A gene's mode of inheritance, in the few classes segregation analysis distinguishes."""

    MONOALLELIC = "AD"            # autosomal dominant, incl. imprinted
    BIALLELIC = "AR"              # autosomal recessive
    BOTH = "AD/AR"
    X_LINKED_RECESSIVE = "XLR"    # hemizygous males, biallelic females
    X_LINKED_DOMINANT = "XLD"     # hemizygous males, monoallelic females
    X_LINKED = "XL"               # X-linked, females not specified
    MITOCHONDRIAL = "MT"
    UNKNOWN = "?"


def inheritance_of(text: str | None) -> Inheritance:
    """The inheritance class of PanelApp's ``mode_of_inheritance`` text or an ACMG code (AD, AR, XL).

    >>> inheritance_of("BIALLELIC, autosomal or pseudoautosomal")
    <Inheritance.BIALLELIC: 'AR'>
    >>> inheritance_of("X-LINKED: hemizygous mutation in males, biallelic mutations in females").name
    'X_LINKED_RECESSIVE'
    >>> inheritance_of("X-LINKED: hemizygous mutation in males, monoallelic mutations in females may cause "
    ...                "disease (may be less severe, later onset than males)").name
    'X_LINKED_DOMINANT'
    >>> [inheritance_of(t).name for t in ("AD ", "XL", "BOTH monoallelic and biallelic (but BIALLELIC mutations "
    ...  "cause a more SEVERE disease form), autosomal or pseudoautosomal", "", "Unknown")]
    ['MONOALLELIC', 'X_LINKED', 'BOTH', 'UNKNOWN', 'UNKNOWN']
    """
    words = (text or "").strip().upper()
    if not words or words.startswith("UNKNOWN") or words.startswith("OTHER"):
        return Inheritance.UNKNOWN
    for code in Inheritance:
        if words == code.value:
            return code
    if words.startswith("X-LINKED") or words.startswith("X LINKED"):
        if "BIALLELIC MUTATIONS IN FEMALES" in words:
            return Inheritance.X_LINKED_RECESSIVE
        if "MONOALLELIC MUTATIONS IN FEMALES" in words:
            return Inheritance.X_LINKED_DOMINANT
        return Inheritance.X_LINKED
    if words.startswith("BOTH"):
        return Inheritance.BOTH
    if words.startswith("MONOALLELIC"):
        return Inheritance.MONOALLELIC
    if words.startswith("BIALLELIC"):
        return Inheritance.BIALLELIC
    if words.startswith("MITOCHONDRIAL"):
        return Inheritance.MITOCHONDRIAL
    return Inheritance.UNKNOWN


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """A sort key that orders PanelApp versions numerically ("0.99" < "0.116" < "1.0").

    >>> sorted(["0.116", "1.0", "0.99", "0.9"], key=version_key)
    ['0.9', '0.99', '0.116', '1.0']
    """
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.\-]", version))


@dataclass(frozen=True, slots=True)
class PanelGene:
    """One gene of a panel, as the panel rates it."""

    symbol: str
    hgnc_id: str | None
    confidence: Confidence
    mode_of_inheritance: str          # the panel's own words
    inheritance: Inheritance
    phenotypes: tuple[str, ...] = ()
    note: str | None = None           # ACMG: which variants to report ("P and LP (2 variants)", ...)

    @property
    def green(self) -> bool:
        return self.confidence is Confidence.GREEN


@dataclass(frozen=True, slots=True)
class GenePanel:
    """One version of one panel."""

    id: str
    name: str
    version: str
    genes: tuple[PanelGene, ...]
    release: KnowledgeRelease

    def gene(self, symbol_or_hgnc: str) -> PanelGene | None:
        """The panel's entry for a gene symbol or HGNC id, or None."""
        return next((g for g in self.genes if symbol_or_hgnc in (g.symbol, g.hgnc_id)), None)

    def symbols(self, min_confidence: Confidence = Confidence.GREEN) -> frozenset[str]:
        """Gene symbols rated at least ``min_confidence`` (green by default: the diagnostic set)."""
        return frozenset(g.symbol for g in self.genes if g.confidence >= min_confidence)

    def hgnc_ids(self, min_confidence: Confidence = Confidence.GREEN) -> frozenset[str]:
        """HGNC ids rated at least ``min_confidence`` (stable across gene renames, unlike symbols)."""
        return frozenset(g.hgnc_id for g in self.genes if g.confidence >= min_confidence and g.hgnc_id)

    def __contains__(self, symbol: object) -> bool:
        """Whether a gene symbol (or HGNC id) is a *green* gene of the panel."""
        entry = self.gene(symbol) if isinstance(symbol, str) else None
        return entry is not None and entry.green

    @property
    def label(self) -> str:
        """``name (id) v<version>``, as the report names the panel."""
        return f"{self.name} ({self.id}) v{self.version}"


# ----------------------------------------------------------------------------------------- loaders

def load_panelapp(path: Path) -> list[GenePanel]:
    """PanelApp panels in the API's JSON, one panel per line (JSONL), or a single panel object per file."""
    text_lines = [(n, line) for n, line in read_lines(path, "PanelApp panel JSON") if line.strip()]
    if not text_lines:
        raise InputError(f"{path}: empty; expected PanelApp panels (API JSON)")
    records: list[tuple[int, Any]] = []
    try:
        records = [(n, json.loads(line)) for n, line in text_lines]
    except json.JSONDecodeError:
        try:  # a pretty-printed single panel
            records = [(1, json.loads("\n".join(line for _, line in text_lines)))]
        except json.JSONDecodeError as exc:
            bad = next(n for n, line in text_lines if not _is_json(line))
            raise InputError(f"{path} line {bad}: not JSON; is this a PanelApp panel file?") from exc
    panels = [_panel(path, number, record) for number, record in records]
    return panels


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _panel(path: Path, number: int, record: Any) -> GenePanel:
    where = f"{path} line {number}"
    if not isinstance(record, dict):
        raise InputError(f"{where}: not a PanelApp panel (a JSON object with id, name, version and genes)")
    missing = [key for key in ("id", "name", "version", "genes") if key not in record]
    if missing:
        raise InputError(f"{where}: not a PanelApp panel: no {', '.join(repr(k) for k in missing)}")
    genes: list[PanelGene] = []
    for entry in record["genes"]:
        if not isinstance(entry, dict) or entry.get("entity_type", "gene") != "gene":
            continue
        data = entry.get("gene_data") or {}
        symbol = data.get("gene_symbol") or data.get("hgnc_symbol") or entry.get("entity_name")
        if not symbol:
            raise InputError(f"{where}: a gene of panel {record['id']} has no gene symbol")
        if "confidence_level" not in entry:
            raise InputError(f"{where}: gene {symbol} of panel {record['id']} has no confidence_level")
        try:
            confidence = Confidence(int(entry["confidence_level"]))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: gene {symbol} has confidence_level {entry['confidence_level']!r}; "
                             "expected 0-3") from exc
        moi = str(entry.get("mode_of_inheritance") or "")
        genes.append(PanelGene(symbol=str(symbol), hgnc_id=data.get("hgnc_id"), confidence=confidence,
                               mode_of_inheritance=moi, inheritance=inheritance_of(moi),
                               phenotypes=tuple(str(p) for p in entry.get("phenotypes") or ())))
    panel_id, name, version = str(record["id"]), str(record["name"]), str(record["version"])
    release = make_release(f"PanelApp {panel_id} {name}", path, version=version, version_from="file",
                           records=len(genes))
    return GenePanel(id=panel_id, name=name, version=version, genes=tuple(genes), release=release)


def load_acmg_sf(path: Path, *, version: str | None = None) -> GenePanel:
    """The ACMG secondary-findings gene list (tab-separated, as varfish-db-downloader publishes it).

    Its version is the highest ``sf_list_version`` a gene carries (each gene says in which list
    version it was added), unless the caller names one.
    """
    rows = read_lines(path, "the ACMG secondary-findings TSV")
    first = next(rows, None)
    if first is None:
        raise InputError(f"{path}: empty; expected the ACMG secondary-findings TSV")
    header = first[1].split("\t")
    missing = [column for column in _ACMG_COLUMNS if column not in header]
    if missing:
        raise InputError(f"{path} line 1: not the ACMG secondary-findings TSV: no column "
                         f"{', '.join(missing)} (columns: {', '.join(header[:12])})")
    genes: list[PanelGene] = []
    list_versions: list[str] = []
    for number, line in rows:
        if not line.strip():
            continue
        values = next(csv.reader([line], delimiter="\t"))
        if len(values) != len(header):
            raise InputError(f"{path} line {number}: {len(values)} columns, the header has {len(header)}")
        row = dict(zip(header, (v.strip() for v in values), strict=True))
        if not row["gene_symbol"]:
            raise InputError(f"{path} line {number}: no gene_symbol")
        list_versions.append(row["sf_list_version"])
        phenotype = row.get("disease_phenotype")
        genes.append(PanelGene(symbol=row["gene_symbol"], hgnc_id=row["hgnc_id"] or None, confidence=Confidence.GREEN,
                               mode_of_inheritance=row["inheritance"], inheritance=inheritance_of(row["inheritance"]),
                               phenotypes=(phenotype,) if phenotype else (),
                               note=row.get("variants_to_report") or None))
    if not genes:
        raise InputError(f"{path}: no genes after the header line")
    file_version = max(list_versions, key=version_key)
    chosen = version or file_version
    release = make_release("ACMG SF", path, version=chosen, version_from="caller" if version else "file",
                           records=len(genes))
    return GenePanel(id=ACMG_SF_PANEL_ID, name="ACMG secondary findings", version=chosen, genes=tuple(genes),
                     release=release)


# ----------------------------------------------------------------------------------------- library

class PanelLibrary:
    """Every loaded version of every panel; the newest answers unless a version is asked for."""

    def __init__(self, panels: Iterable[GenePanel] = ()) -> None:
        self._panels: dict[str, dict[str, GenePanel]] = {}
        for panel in panels:
            self.add(panel)

    @classmethod
    def from_files(cls, panelapp: Iterable[Path] = (), acmg_sf: Path | None = None) -> PanelLibrary:
        """A library of the PanelApp files given (each may hold many panels/versions) and the ACMG SF list."""
        library = cls()
        for path in panelapp:
            for panel in load_panelapp(path):
                library.add(panel)
        if acmg_sf is not None:
            library.add(load_acmg_sf(acmg_sf))
        return library

    def add(self, panel: GenePanel) -> None:
        """Add one version; the same version loaded twice must have the same genes."""
        versions = self._panels.setdefault(panel.id, {})
        known = versions.get(panel.version)
        if known is not None and _content(known) != _content(panel):
            raise DuplicateError(f"panel {panel.id} ({panel.name}) version {panel.version} loaded twice with "
                                 f"different genes ({known.release.source} and {panel.release.source})")
        versions.setdefault(panel.version, panel)

    def get(self, panel_id: str | int, version: str | None = None) -> GenePanel:
        """A panel by PanelApp id (or exact name), the newest version unless ``version`` is given."""
        key = self._resolve(str(panel_id))
        versions = self._panels[key]
        if version is None:
            return versions[max(versions, key=version_key)]
        if version not in versions:
            newest = versions[max(versions, key=version_key)]
            raise NotFoundError(f"panel {key} ({newest.name}) has no version {version}; versions loaded: "
                                f"{', '.join(self.versions(key))}")
        return versions[version]

    def versions(self, panel_id: str | int) -> list[str]:
        """The versions loaded of a panel, oldest first."""
        return sorted(self._panels[self._resolve(str(panel_id))], key=version_key)

    def panels(self) -> list[GenePanel]:
        """The newest version of each panel, by id."""
        return [self.get(key) for key in sorted(self._panels, key=version_key)]

    def panels_with_gene(self, symbol: str, min_confidence: Confidence = Confidence.GREEN) -> list[GenePanel]:
        """The panels (newest versions) that rate a gene at least ``min_confidence``."""
        return [panel for panel in self.panels() if symbol in panel.symbols(min_confidence)]

    def __iter__(self) -> Iterator[GenePanel]:
        return iter(self.panels())

    def __len__(self) -> int:
        return len(self._panels)

    def _resolve(self, panel_id: str) -> str:
        if panel_id in self._panels:
            return panel_id
        by_name = [key for key, versions in self._panels.items()
                   if any(p.name.lower() == panel_id.lower() for p in versions.values())]
        if len(by_name) == 1:
            return by_name[0]
        known = "; ".join(f"{key} {self.get(key).name}" for key in sorted(self._panels, key=version_key))
        raise NotFoundError(f"no panel {panel_id!r} in the library (loaded: {known or 'none'})")


def _content(panel: GenePanel) -> tuple[str, tuple[PanelGene, ...]]:
    return panel.name, panel.genes
