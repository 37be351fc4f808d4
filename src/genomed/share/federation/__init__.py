"""Federation: nodes that know each other ask each other, and answer each other as registered peers.

* :mod:`.signing` — Ed25519 signatures on inter-node HTTP requests, and their verification
  (clock-skew window, replay cache); a verified request makes the sender ``node:<peer>``.
* :mod:`.peers` — adding, listing and removing ``[[peers]]`` in ``sharing.toml``; this node's identity card.
* :mod:`.fanout` — one pooled HTTP client asking every peer's Beacon at once, each under its own deadline.
* :mod:`.merge` — the answers of all nodes as one Beacon v2 resultsets response with per-node provenance.
* :mod:`.query` — a federated variant query: this node's Beacon answer (charged, audited), then the peers'.
* :mod:`.router` — ``/federated/g_variants`` on every node (``genomed federation query`` is its CLI twin).

Federation never moves genotypes: a peer is asked for counts on its standard Beacon endpoint and its
own privacy guard decides what a peer node may learn.
"""
