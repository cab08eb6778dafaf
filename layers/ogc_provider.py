"""Serve the catalog's layers through OGC API – Features: the catalog seen as a `geo.ogc.CollectionProvider`."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from geopandas import GeoDataFrame

from geo.ogc import CollectionInfo, ItemsPage, frame_bbox, frame_item, frame_page

from .store import Catalog


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


@dataclass
class CatalogProvider:
    """Every catalog layer as a collection: its title, its description with the English title, its metadata.

    `last_modified` defaults to the moment the provider was made (the data is loaded at start-up).
    """

    catalog: Catalog
    last_modified: _dt.datetime = field(default_factory=_now)

    def collections(self) -> Sequence[CollectionInfo]:
        return [self._info(layer_id) for layer_id in self.catalog.ids()]

    def collection(self, collection_id: str) -> CollectionInfo | None:
        return self._info(collection_id) if collection_id in self.catalog.ids() else None

    def queryables(self, collection_id: str) -> Sequence[str]:
        frame = self.catalog.frame(collection_id)
        return [str(c) for c in frame.columns if c != frame.geometry.name]

    def items(
        self,
        collection_id: str,
        *,
        bbox: tuple[float, float, float, float] | None,
        properties: Mapping[str, str],
        limit: int,
        offset: int,
    ) -> ItemsPage:
        frame = self.catalog.frame(collection_id)
        return frame_page(frame, bbox=bbox, properties=properties, limit=limit, offset=offset)

    def item(self, collection_id: str, feature_id: str) -> GeoDataFrame | None:
        return frame_item(self.catalog.frame(collection_id), feature_id)

    def _info(self, layer_id: str) -> CollectionInfo:
        spec = self.catalog.spec(layer_id)
        return CollectionInfo(
            id=layer_id,
            title=spec.title,
            description=" — ".join(x for x in (spec.description, spec.title_en) if x),
            bbox=frame_bbox(self.catalog.frame(layer_id)),
            metadata=self.catalog.metadata(layer_id),
        )
