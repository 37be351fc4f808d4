"""One symbol per gene: HPO's and the published cases' HGNC symbols mapped onto the gene model's.

Annotation names a gene as the node's gene model (MANE) does; HGNC renames a few dozen genes a year
(C1orf127 is now CIROZ, CENPJ is CPAP) and HPO and newly published cases use the new symbol at
once. Matched by symbol alone, such a gene would lose its phenotype, its modes of inheritance and
its published patients. Both sides carry the NCBI Gene id, which never changes with a rename, so
the id ties an HPO symbol to the model's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

from genomed.annotate.mane import Transcript
from genomed.errors import ConfigurationError
from genomed.interpret.hpo import HpoRelease

_NCBI_GENE = re.compile(r"^(?:GeneID:)?(\d+)$")


def model_symbols(release: HpoRelease, transcripts: Iterable[Transcript]) -> dict[str, str]:
    """HPO symbol -> gene-model symbol, for the genes whose symbols differ but whose NCBI Gene ids agree.

    >>> from genomed.interpret.hpo import HpoRelease
    >>> release = HpoRelease("v", "lib", {}, {}, {}, {}, {}, {}, {"CIROZ": "148345", "FBN1": "2200"})
    >>> class T:  # the two fields a transcript needs here
    ...     def __init__(self, symbol, gene): self.gene_symbol, self.ncbi_gene = symbol, gene
    >>> model_symbols(release, [T("C1orf127", "GeneID:148345"), T("FBN1", "GeneID:2200")])
    {'CIROZ': 'C1orf127'}
    """
    by_id: dict[str, str] = {}
    symbols = set()
    for transcript in transcripts:
        symbols.add(transcript.gene_symbol)
        found = _NCBI_GENE.match(transcript.ncbi_gene or "")
        if found is not None:
            by_id.setdefault(found.group(1), transcript.gene_symbol)
    return {symbol: by_id[gene_id] for symbol, gene_id in sorted(release.gene_ids.items())
            if symbol not in symbols and gene_id in by_id}


@cache
def default_model_symbols() -> Mapping[str, str]:
    """The node's renames (HPO symbol -> MANE symbol); empty where the reference data has no MANE file."""
    from genomed.annotate.mane import load_mane
    from genomed.interpret.hpo import load_release

    try:
        transcripts = load_mane(select_only=True)
    except ConfigurationError:
        return {}
    return model_symbols(load_release(), transcripts)
