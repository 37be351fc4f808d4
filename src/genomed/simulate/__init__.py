"""Realistic synthetic cohorts: population genetics on real gene coordinates, not random noise.

A national programme needs data to build and benchmark on before (and besides) real patients,
and that data has to look like real data where it matters to the code that reads it: most
variants rare (recent population growth), linkage between nearby sites, hemizygous chrX in males,
missing calls, reference blocks with coverage gaps, multi-allelic sites, indels in untidy
representations, families that obey Mendel except for true de novo mutations, and a reference
sequence consistent with the gene models so that annotation gives sensible answers.

One module per job:

* :mod:`.regions`  -- which gene regions of GRCh38 to simulate (MANE exons or whole genes);
* :mod:`.sequence` -- a synthetic reference for those regions that respects the gene models;
* :mod:`.ancestry` -- msprime coalescent with a European-like demography (Tennessen et al. 2012);
* :mod:`.variants` -- alleles for the simulated mutations, indels, multi-allelic sites, messy records;
* :mod:`.coverage` -- read depth, genotype qualities, reference blocks and coverage gaps;
* :mod:`.writers`  -- VCF/gVCF text, rendered vectorised for scale;
* :mod:`.bgzf`     -- BGZF compression on worker threads and the tabix index, written directly;
* :mod:`.family`   -- trios by meiosis with crossovers, plus de novo mutations and their truth;
* :mod:`.cohort`   -- the orchestration: :func:`simulate_cohort` and its manifest.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SimulationManifest", "simulate_cohort", "simulate_trios"]


def __getattr__(name: str) -> Any:
    # Lazy: importing a helper module (regions, sequence) should not pay for importing msprime.
    if name in __all__:
        from genomed.simulate import cohort

        return getattr(cohort, name)
    raise AttributeError(f"module 'genomed.simulate' has no attribute {name!r}")
