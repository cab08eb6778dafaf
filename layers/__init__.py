"""Our catalog: which layers exist, their data (data/*.yaml) and the region profiles built from them."""

from .records import DataError
from .store import Catalog

__all__ = ["Catalog", "DataError"]
