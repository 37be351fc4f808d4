"""Interpretation: from a case's genotypes and phenotype to a short, explained list of candidates.

Rare disease: HPO phenotype similarity, inheritance modes (de novo, recessive, compound heterozygous,
X-linked, dominant), gene panels, ACMG/AMP classification and ranking; reanalysis when knowledge
changes. Each module has one job; :mod:`genomed.interpret.prioritise` puts them together.
"""
