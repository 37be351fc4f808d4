"""Genome builds and reference sequences.

:mod:`.builds` knows the contig lengths of GRCh37 and GRCh38 (to recognise which build a file was
called on) and :mod:`.reference` puts a FASTA behind the small :class:`ReferenceGenome` interface
that normalisation, annotation and the simulator all read sequence through.
"""
