"""Matchmaker Exchange case matching: a node's ``/match`` endpoint, its scoring, and queries to other nodes.

A clinician whose patient has an unexplained rare disease can ask other programmes whether they
have seen a patient "like this one" (same candidate gene, same variant, similar phenotype). The
MME search API (``../shared/data/specs/mme-search-api.md``) is the protocol every production
matchmaker speaks; this package implements it:

* :mod:`.documents`: the MME patient document, parsed and checked, errors naming the field;
* :mod:`.media`: the versioned media type and the 406/415 negotiation rules;
* :mod:`.genes`, :mod:`.phenotype`, :mod:`.scoring`: one gene identity for Ensembl, Entrez and
  HGNC ids; HPO similarity between two patients; the combined patient score and the ranking;
* :mod:`.cases`: which cases are offered (consent in force at query time) and how they get there
  (importing MME files, publishing a catalog case, withdrawing);
* :mod:`.api`: the ``/match`` endpoint; :mod:`.client`: querying a peer's ``/match``;
* :mod:`.tokens`: the per-peer ``X-Auth-Token`` (only its SHA-256 is kept); :mod:`.benchmark`:
  the 50 MME benchmark patients matched against each other.
"""
