"""The Gaia-X data-space connector: Dataspace Protocol 2025-1 control plane, data plane and management API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gaiax-connector")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
