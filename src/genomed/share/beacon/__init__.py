"""The GA4GH Beacon v2 API of a node: framework endpoints, entry types, filters and granularity.

Modules, each with one job: :mod:`.model` (the entry types this beacon serves), :mod:`.documents`
(loading Beacon v2 documents into the node database), :mod:`.index` and :mod:`.terms` (the
in-memory index queries filter on), :mod:`.filters` and :mod:`.requests` (reading a GET or POST
request), :mod:`.variants` and :mod:`.genes` (genomic variant queries and their coordinates),
:mod:`.granularity` (what a requester may see of each dataset), :mod:`.ledger` (budget charges and
audit entries, committed in groups), :mod:`.responses` (the response documents), :mod:`.service`
(answering a request) and :mod:`.router` (the HTTP face).
"""
