"""Every change to a user layer in one place: done through the store, then written to the audit log.

The web routes (and the import command) call a `LayerEditor` rather than the store, so no change goes unlogged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .users import UserDirectory
from .userstore import LayerInfo, UserLayerStore

if TYPE_CHECKING:
    import geopandas as gpd


@dataclass
class LayerEditor:
    store: UserLayerStore
    users: UserDirectory

    def save(self, title: str, frame: gpd.GeoDataFrame, *, actor: str, source: str = "") -> LayerInfo:
        """A new user layer (an import); returns it with its new id."""
        info = self.store.save(title, frame, owner=actor, source=source)
        self.users.record(actor, "import", info.id, title=info.title, count=info.count, source=source)
        return info

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, *, actor: str, source: str = "") -> LayerInfo:
        info = self.store.replace(layer_id, frame, owner=actor, source=source)
        self.users.record(actor, "replace", layer_id, version=info.version, count=info.count, source=source)
        return info

    def rename(self, layer_id: str, title: str, *, actor: str) -> LayerInfo:
        before = self.store.info(layer_id).title
        info = self.store.rename(layer_id, title)
        self.users.record(actor, "rename", layer_id, title=info.title, previous=before)
        return info

    def delete(self, layer_id: str, *, actor: str) -> None:
        before = self.store.info(layer_id)
        self.store.delete(layer_id)
        self.users.record(actor, "delete", layer_id, title=before.title, version=before.version)

    def restore(self, layer_id: str, version: int, *, actor: str) -> LayerInfo:
        info = self.store.restore(layer_id, version)
        self.users.record(actor, "restore", layer_id, version=version)
        return info
