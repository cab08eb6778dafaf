"""Where the catalog's boundaries and curated records come from: the `CuratedSource` interface and its embedded
implementation `FileData` (the boundary GeoPackage and the YAML checked against the seeds). The PostGIS one is
`layers.pgdata.PostGISData`; layers/backends.py picks one of the two."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from boundaries.store import Boundaries
from boundaries.store import load as load_boundaries

from . import records
from .records import LayerData, Problems, SeedTexts


class CuratedSource(Protocol):
    """What the catalog is built from."""

    kind: str

    def boundaries(self) -> Boundaries:
        """The province, cities and counties, checked."""
        ...

    def records(self, resolve: Callable[[str], Any]) -> tuple[LayerData, Problems]:
        """The curated records and the problems found in them (`resolve` maps a region name to a place)."""
        ...

    def version(self) -> int:
        """The data version (0 for files: they change only with a restart)."""
        ...

    def bbox_ids(self, layer: str, bbox: tuple[float, float, float, float]) -> list[str] | None:
        """Ids of the regions of a boundary layer meeting `bbox`, when the source answers it faster than the
        frames in memory (a spatial index in a database); None: the catalog filters its frames itself."""
        ...

    def on_change(self, callback: Callable[[int], None]) -> None:
        """Have `callback(version)` called when the data is loaded again (never for files)."""
        ...

    def close(self) -> None:
        """Release what the source holds."""
        ...


class FileData:
    """The embedded data: a boundary GeoPackage (or Boundaries already read) and the YAML folder."""

    kind = "embedded"

    def __init__(
        self, boundaries: Path | Boundaries, layers_dir: Path, seeds_dir: Path, allow_unverified: bool = False
    ) -> None:
        self._boundaries = boundaries
        self.layers_dir = Path(layers_dir)
        self.seeds_dir = Path(seeds_dir)
        self.allow_unverified = allow_unverified

    def boundaries(self) -> Boundaries:
        if isinstance(self._boundaries, Boundaries):
            return self._boundaries
        return load_boundaries(self._boundaries)

    def records(self, resolve: Callable[[str], Any]) -> tuple[LayerData, Problems]:
        return records.read(self.layers_dir, SeedTexts(self.seeds_dir), resolve, self.allow_unverified)

    def version(self) -> int:
        return 0

    def bbox_ids(self, layer: str, bbox: tuple[float, float, float, float]) -> list[str] | None:
        return None

    def on_change(self, callback: Callable[[int], None]) -> None:
        return None

    def close(self) -> None:
        return None


__all__ = ["CuratedSource", "FileData"]
