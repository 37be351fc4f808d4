"""Ingestion: read a VCF or gVCF, check it, normalise its variants, measure its quality.

One module per concept:

* :mod:`.chunks`    -- what ingestion hands to the variant store (the fixed contract);
* :mod:`.vcfheader` -- checks made before any record is read: format, genome build, samples, integrity;
* :mod:`.reader`    -- :func:`~.reader.read_vcf`, the stream of normalised chunks;
* :mod:`.decode`    -- records read with htslib (cyvcf2) and decoded, vectorised over samples;
* :mod:`.bgzf`      -- cutting a bgzipped file into segments parsed in parallel;
* :mod:`.gvcf`      -- the fast path for single-sample gVCFs (``bcftools query`` and Arrow);
* :mod:`.normalise` -- splitting multi-allelic records, trimming, left-alignment, the REF check;
* :mod:`.qc`        -- per-sample QC accumulated from the same chunks, with pass/warn/fail;
* :mod:`.qc_report` -- the QC report as JSON and as a self-contained HTML page.
"""
