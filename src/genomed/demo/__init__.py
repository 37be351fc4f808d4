"""The demonstration journey run by ``make demo``."""
