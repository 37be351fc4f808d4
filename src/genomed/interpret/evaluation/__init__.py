"""Evaluating prioritisation on published cases spiked into simulated genomes (``genomed evaluate``)."""
