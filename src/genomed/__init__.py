"""genomed: the software a national genomic medicine programme runs at each of its nodes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("genomed")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
