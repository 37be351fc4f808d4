"""Sharing across nodes and nations: the Beacon v2 API, access tiers and passports, the privacy guard,
federation between nodes, Matchmaker Exchange case matching and researcher access requests."""
