"""Annotation: gene models, consequences, clinical and population knowledge attached to variants.

This package holds the loaders for real reference releases (gene models first: :mod:`.mane`), so
that everything downstream (consequence prediction, the simulator, reports) reads the same
transcripts from the same versioned file.
"""
