"""The Catalog: builds every layer from the boundaries and the curated records, checks it, and answers queries."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, Point

from boundaries import reference
from boundaries.gazetteer import Gazetteer
from boundaries.store import Boundaries
from geo.datum import get_transform, transform_geometry
from geo.errors import NotFound
from geo.geojson import feature_collection, to_bytes
from geo.params import check_bbox
from geo.select import select
from geo.shapes import bbox as geom_bbox
from geo.shapes import circle, label_point
from geo.simplify import simplify_coverage, tolerance_for_zoom

from . import records
from .backends import Backends, open_backends
from .catalog import CATALOG, DATA_DATE, GROUPS, PROVINCE, USER_PALETTE, LayerSpec
from .curated import CuratedSource, FileData
from .profiles import Profiles
from .records import DataError
from .styles import LayerStyle
from .userstore import LayerInfo, UserLayerStore

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger(__name__)

SITE_COLUMNS = [
    "id",
    "name",
    "name_en",
    "aliases",
    "kind",
    "county_adcode",
    "county",
    "city",
    "precision",
    "location_note",
    "location_note_en",
    "designation",
    "summary",
    "summary_en",
    "summary_source",
    "summary_source_ref",
    "facts",
    "conflicts",
    "source",
    "sources",
    "schematic",
    "parent",
    "within",
    "role",
    "order",
    "layout",
    "layout_source",
    "layout_source_ref",
    "radius_m",
    "also_in",
]
DEFAULT_RADIUS_M = 1000
DATA_VERSION_SHIFT = 40  # revision() = data version above these bits, the user-layer store's revision below
DATUM_LABEL = "WGS-84 (EPSG:4326)"
# GeoPackage geometry type names (the user-layer store) as the catalog spells them
GEOMETRY_NAMES = {
    "POINT": "Point",
    "MULTIPOINT": "MultiPoint",
    "LINESTRING": "LineString",
    "MULTILINESTRING": "MultiLineString",
    "POLYGON": "Polygon",
    "MULTIPOLYGON": "MultiPolygon",
}


def feature_names(frame: gpd.GeoDataFrame) -> list[str]:
    """A name for every feature of a user layer: its `name` column, else its first text column, else its id."""
    if "name" in frame.columns:
        column: Any = frame["name"]
    else:
        text = [c for c in frame.columns if c != frame.geometry.name and frame[c].dtype == object]
        column = frame[text[0]] if text else None
    ids = [str(i) for i in frame.index]
    if column is None:
        return ids
    return [v if isinstance(v, str) and v else ids[n] for n, v in enumerate(column.tolist())]


FINEST_SIMPLIFIED = 11  # the finest zoom answered simplified (from 12 on, boundaries are sent as they are)


class Catalog:
    """Every layer as a GeoDataFrame (EPSG:4326, index = feature id) plus profiles and search."""

    # read from the data source by _read_data (again by _reload when the data is loaded anew)
    boundaries: Boundaries
    gazetteer: Gazetteer
    data: records.LayerData
    unverified: bool
    _frames: dict[str, gpd.GeoDataFrame]
    _simplified: dict[tuple[str, int], np.ndarray]
    _geojson: dict[tuple[str, int | None, str, str], bytes]
    _trees: dict[str, shapely.STRtree]
    _user_boundaries: dict[tuple[str, int, str], list[str | None]]

    def __init__(
        self,
        boundaries: Path | None,
        layers_dir: Path | None = None,
        seeds_dir: Path | None = None,
        allow_unverified: bool = False,
        user_store: UserLayerStore | None = None,
        *,
        source: CuratedSource | None = None,
    ) -> None:
        """Read the boundaries and the records once: from `source` (the data source layers/backends.py picks),
        else from the GeoPackage `boundaries` and the YAML in `layers_dir`, facts checked against `seeds_dir`.
        User layers come from `user_store` (none without it), read again whenever its revision changes."""
        if source is None:
            if boundaries is None or layers_dir is None or seeds_dir is None:
                raise TypeError("Catalog needs the boundary, layers and seeds paths, or a source")
            source = FileData(boundaries, layers_dir, seeds_dir, allow_unverified)
        self.source = source
        self.specs: dict[str, LayerSpec] = {s.id: s for s in CATALOG}
        self._data_version = source.version()  # read before the data: a load meanwhile is seen as a change
        self.__dict__.update(self._read_data(source))
        self.user_store = user_store
        self._user_lock = threading.Lock()
        self._user_revision = -1
        self._user_infos: dict[str, LayerInfo] = {}
        self._user_specs: dict[str, LayerSpec] = {}
        self._user_frames: dict[tuple[str, int, str], gpd.GeoDataFrame] = {}
        self._user_places: dict[str, list[dict[str, Any]]] | None = None
        self.profiles = Profiles(self)
        self._reload_lock = threading.Lock()
        source.on_change(self._reload)

    def _read_data(self, source: CuratedSource) -> dict[str, Any]:
        """Boundaries, gazetteer, checked records and every curated frame, as attributes of the catalog."""
        boundaries = source.boundaries()
        gazetteer = Gazetteer.of(boundaries)

        def resolve(name: str):
            return gazetteer.resolve(name, province=PROVINCE)

        data, problems = source.records(resolve)
        state: dict[str, Any] = {
            "boundaries": boundaries,
            "gazetteer": gazetteer,
            "data": data,
            "unverified": data.unverified,  # citations not checked against the seed texts: the page says so
        }
        shell = object.__new__(Catalog)  # the building methods read these attributes
        shell.__dict__.update(state)
        shell._check_locations(problems)
        if problems.items:
            raise DataError(problems.items)
        state["_frames"] = {spec.id: shell._build(spec) for spec in CATALOG}
        state["_simplified"] = {}
        state["_geojson"] = {}
        state["_trees"] = {}  # spatial indexes of the region layers, built on first use
        state["_user_boundaries"] = {}  # which user regions are boundary regions (simplified outlines)
        return state

    def _reload(self, version: int) -> None:
        """The data was loaded again (another version in the database): build everything aside, then swap it
        in; answers keep coming from the old data until then, and `revision()` changes with the swap."""
        with self._reload_lock:
            if version <= self._data_version:
                return
            state = self._read_data(self.source)
            shell = object.__new__(Catalog)
            shell.__dict__.update(self.__dict__)
            shell.__dict__.update(state)
            shell._user_places = None
            profiles = Profiles(shell)
            profiles.catalog = self
            with self._user_lock:
                self.__dict__.update(state)
                self.profiles = profiles
                self._user_places = None
                self._data_version = version
            log.info("catalog reloaded: data version %s", version)

    @property
    def data_version(self) -> int:
        """The data version the catalog holds (0 for the embedded files)."""
        return self._data_version

    @classmethod
    def from_settings(cls, settings: Settings, backends: Backends | None = None) -> Catalog:
        """The catalog of the configured data: boundaries, curated layers and user layers from `backends`
        (default: the ones `settings` choose, layers/backends.py); the app (or CLI) that builds it keeps it."""
        backends = backends if backends is not None else open_backends(settings)
        return cls(
            settings.boundaries,
            settings.layers_dir,
            settings.seeds_dir,
            settings.allow_unverified,
            backends.store,
            source=backends.curated,
        )

    # --- building -----------------------------------------------------------------------
    def _check_locations(self, problems: records.Problems) -> None:
        counties = self.boundaries.counties.set_index("adcode")
        province = self._home_province().union_all()
        for site in self.data.sites:
            code, loc = site.get("county_adcode"), site.get("location")
            if not code or not loc:
                continue
            pt = Point(loc)
            if not counties.loc[code].geometry.contains(pt):
                inside = counties[counties.contains(pt)]
                where = f"in {inside.iloc[0]['name']} ({inside.index[0]})" if len(inside) else "outside every county"
                problems.add(
                    f"site {site['id']}", f"location {list(loc)} is not in {site['county']} ({code}) but {where}"
                )
            for vertex in site.get("path") or []:
                if not province.contains(Point(vertex)):
                    problems.add(f"site {site['id']}", f"path point {list(vertex)} lies outside the province")

    def _home_province(self) -> gpd.GeoDataFrame:
        """The province the curated data lies in (PROVINCE), also when the boundaries cover all of China."""
        provinces = self.boundaries.province
        home = provinces[provinces["name"] == PROVINCE]
        return home if len(home) else provinces

    def home(self) -> dict[str, Any]:
        """Where the map opens: the home province and its bbox (all of China's boundaries loaded or one)."""
        return {"name": PROVINCE, "bbox": [round(float(v), 6) for v in self._home_province().total_bounds]}

    def _region_frame(self, layer: str) -> gpd.GeoDataFrame:
        columns = ["adcode", "name", "name_en", "city", "city_en", "level", "province", "city_adcode", "geometry"]
        frame = self.boundaries.layer(layer)[columns].copy()
        pilots = {p["adcode"]: p for p in self.data.pilots}
        if layer == "counties":
            frame["pilot"] = frame["adcode"].isin(list(pilots))
            frame["designations"] = [[pilots[a]["programme"]] if a in pilots else [] for a in frame["adcode"]]
        return frame.set_index(frame["adcode"].rename("id"))

    def _build(self, spec: LayerSpec) -> gpd.GeoDataFrame:
        if spec.id == "pilot-counties":
            counties = self._region_frame("counties")
            rows = {p["adcode"]: p for p in self.data.pilots}
            frame = counties.loc[[a for a in counties.index if a in rows]].copy()
            for key in ("listed_as", "programme", "programme_en", "year", "source", "source_ref"):
                frame[key] = [rows[a].get(key) for a in frame.index]
            return frame
        if spec.kind == "regions":
            return self._region_frame(spec.boundary_layer or spec.id)
        if spec.kind == "reference":
            frame = reference.load()
            return frame.set_index(frame["id"].rename(None).rename("fid"))
        items, geoms = [], []
        for site in self.data.sites:
            if spec.id not in site["layers"]:
                continue
            if spec.geometry_type == "LineString":
                geoms.append(LineString(site["path"]) if site["path"] else Point(site["location"]))
            elif spec.geometry_type == "Polygon":
                lon, lat = site["location"]
                geoms.append(circle(lon, lat, float(site.get("radius_m") or DEFAULT_RADIUS_M)))
            else:
                geoms.append(Point(site["location"]))
            items.append({k: site.get(k) for k in SITE_COLUMNS})
        frame = gpd.GeoDataFrame(items, columns=SITE_COLUMNS, geometry=geoms, crs="EPSG:4326")
        if spec.id == "science-city-zones" and len(frame):
            frame = frame.sort_values(["parent", "order"], kind="stable")
            # Each zone names its layout's parent and the layout's slogan, so labels and legends need no lookup.
            parents = {s["id"]: s for s in self.data.sites}
            for key, column in (("name", "parent_name"), ("name_en", "parent_name_en"), ("layout", "parent_layout")):
                frame[column] = [parents.get(p, {}).get(key) for p in frame["parent"]]
        return frame.set_index(frame["id"].rename(None).rename("fid")) if len(frame) else frame

    # --- user layers --------------------------------------------------------------------
    def revision(self) -> int:
        """Changes with every write to the user-layer store and with every load of the data the catalog holds
        (0 for the embedded files without a store): answers kept by the web layer are keyed on it, so a layer
        saved or a data set loaded on any instance is seen on the next request."""
        user = self.user_store.revision() if self.user_store is not None else 0
        return (self._data_version << DATA_VERSION_SHIFT) + user

    def user_layers(self) -> dict[str, LayerInfo]:
        """The store's layers (oldest first), listed again only when the store's revision changed; answers
        kept for user layers (frames, GeoJSON, region index) are dropped then."""
        if self.user_store is None:
            return {}
        revision = self.user_store.revision()
        with self._user_lock:
            if revision != self._user_revision:
                infos = {i.id: i for i in self.user_store.list()}
                self._user_specs = {
                    info.id: self._user_spec(info, USER_PALETTE[n % len(USER_PALETTE)])
                    for n, info in enumerate(infos.values())
                }
                live = {(i.id, i.version, i.updated) for i in infos.values()}
                self._user_frames = {k: v for k, v in self._user_frames.items() if k in live}
                self._geojson = {k: v for k, v in self._geojson.items() if k[0] in self.specs}
                self._user_places = None
                self._user_infos = infos
                self._user_revision = revision
            return self._user_infos

    @staticmethod
    def _user_spec(info: LayerInfo, colour: str) -> LayerSpec:
        geometry = GEOMETRY_NAMES.get(info.geometry_type, "Geometry")
        if "Polygon" in geometry:
            style: LayerStyle = {"color": colour, "weight": 1.5, "fill": colour}
        elif "Line" in geometry:
            style = {"color": colour, "weight": 3}
        else:
            style = {"color": colour, "symbol": "circle"}
        return LayerSpec(
            info.id,
            info.title,
            info.title,
            "user",
            "user",
            geometry,
            info.source,
            default_visible=True,
            style=style,
            print_over="cities",
        )

    def _user_frame(self, info: LayerInfo) -> gpd.GeoDataFrame:
        """A user layer's current version; feature ids are the adcodes of a region list, else row numbers."""
        key = (info.id, info.version, info.updated)
        frame = self._user_frames.get(key)
        if frame is None:
            assert self.user_store is not None
            frame = self.user_store.load(info.id)
            codes = frame["adcode"] if "adcode" in frame.columns else None
            if codes is not None and codes.notna().all() and codes.is_unique:
                frame.index = codes.astype(str).rename("fid")
            else:
                frame.index = frame.index.astype(str).rename("fid")
            with self._user_lock:
                self._user_frames[key] = frame
        return frame

    def _user_info(self, layer_id: str) -> LayerInfo:
        info = self.user_layers().get(layer_id)
        if info is None:
            raise NotFound(f"unknown layer {layer_id!r}; layers are: {', '.join(self.ids())}")
        return info

    def user_places(self, adcode: str) -> list[dict[str, Any]]:
        """The user layers a region is in or holds features of: per layer its id, title, colour and those
        features (id, name, centre). A feature counts where its label point lies (a county of a region list:
        in that county, its city and its province). Built once per store revision."""
        infos = self.user_layers()
        places = self._user_places
        if places is None:
            regions = self.boundaries.regions
            found: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for layer_id in infos:
                frame = self.frame(layer_id)
                geoms = np.asarray(frame.geometry.values, dtype=object)
                usable = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
                if not usable.any():
                    continue
                points = np.array(
                    [label_point(g) if ok else (np.nan, np.nan) for g, ok in zip(geoms, usable, strict=True)]
                )
                where = np.flatnonzero(usable)
                hits = regions.sindex.query(shapely.points(points[where]), predicate="intersects")
                names = feature_names(frame)
                for f_i, r_i in zip(*hits, strict=True):
                    i = int(where[f_i])
                    code = str(regions.iloc[r_i]["adcode"])
                    found.setdefault(code, {}).setdefault(layer_id, []).append(
                        {"id": str(frame.index[i]), "name": names[i], "center": [round(float(v), 6) for v in points[i]]}
                    )
            places = {
                code: [
                    {
                        "layer": layer_id,
                        "title": infos[layer_id].title,
                        "color": self._user_specs[layer_id].style.get("color"),
                        "geometry_type": self._user_specs[layer_id].geometry_type,
                        "features": items,
                    }
                    for layer_id, items in by_layer.items()
                ]
                for code, by_layer in found.items()
            }
            self._user_places = places
        return places.get(adcode, [])

    def is_user_layer(self, layer_id: str) -> bool:
        return layer_id not in self.specs and layer_id in self.user_layers()

    # --- queries ------------------------------------------------------------------------
    def ids(self) -> list[str]:
        return [*self.specs, *self.user_layers()]

    def spec(self, layer_id: str) -> LayerSpec:
        if layer_id in self.specs:
            return self.specs[layer_id]
        if layer_id in self.user_layers():
            return self._user_specs[layer_id]
        raise NotFound(f"unknown layer {layer_id!r}; layers are: {', '.join(self.ids())}") from None

    def frame(self, layer_id: str) -> gpd.GeoDataFrame:
        if layer_id in self._frames:
            return self._frames[layer_id]
        return self._user_frame(self._user_info(layer_id))

    def metadata(self, layer_id: str) -> dict[str, str]:
        spec = self.spec(layer_id)
        boundary = self.boundaries.metadata
        if spec.kind == "user":
            info = self._user_info(layer_id)
            source = f"imported by {info.owner}" + (f" from {info.source}" if info.source else "")
            data_date = info.updated[:10]
        elif spec.kind == "regions":
            source = f"{boundary.get('source', 'AMap administrative boundaries')}, converted GCJ-02 → WGS-84"
            data_date = boundary.get("build_date", "")
            if spec.id == "pilot-counties":
                source += f"; list: {self.data.pilot_meta.get('source', '')}"
                data_date = max(data_date, DATA_DATE)
        elif spec.kind == "reference":
            source, data_date = reference.SOURCE, DATA_DATE
        else:
            source = (
                "科创地图 curated records (layers/data), facts cited to the seed documents; "
                "locations schematic/approximate as each feature's precision says"
            )
            data_date = DATA_DATE
        return {
            "title": spec.title,
            "title_en": spec.title_en,
            "source": source,
            "data_date": data_date,
            "datum": DATUM_LABEL,
            "description": spec.description,
        }

    def summary(self, spec: LayerSpec) -> dict[str, Any]:
        group_title, group_title_en = GROUPS[spec.group]
        if spec.kind == "user":
            info = self._user_info(spec.id)
            return {
                "id": spec.id,
                "title": spec.title,
                "title_en": spec.title_en,
                "kind": "user",
                "group": spec.group,
                "group_title": group_title,
                "group_title_en": group_title_en,
                "geometry_type": spec.geometry_type,
                "count": info.count,
                "bbox": [round(v, 6) for v in info.bbox] if info.bbox else None,
                "default_visible": spec.default_visible,
                "schematic": False,
                "style": spec.style,
                "description": spec.description,
                "owner": info.owner,
                "created": info.created,
                "updated": info.updated,
                "version": info.version,
                "columns": info.columns,
            }
        frame = self._frames[spec.id]
        bounds = [round(v, 6) for v in frame.total_bounds] if len(frame) else None
        return {
            "id": spec.id,
            "title": spec.title,
            "title_en": spec.title_en,
            "kind": spec.kind,
            "group": spec.group,
            "group_title": group_title,
            "group_title_en": group_title_en,
            "geometry_type": spec.geometry_type,
            "count": len(frame),
            "bbox": bounds,
            "default_visible": spec.default_visible,
            "schematic": spec.schematic,
            "style": spec.style,
            "description": spec.description,
        }

    def query(
        self,
        layer_id: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        zoom: int | None = None,
        datum: str = "wgs84",
        ids: list[str] | None = None,
        clip: bool = False,
    ) -> gpd.GeoDataFrame:
        """The layer's features, simplified for a zoom, chosen by bbox and ids (`geo.select`, in the layer's
        order), in the requested datum. `clip` (regions, with a bbox): geometries cut to the bbox, as a map
        view needs them (a province's outline far outside the view is not sent)."""
        spec = self.spec(layer_id)
        frame = self.frame(layer_id)
        rect = None
        simplify = spec.kind == "regions" and zoom is not None and zoom < 12
        if spec.kind == "regions" and bbox is not None and not ids:  # a viewport
            rect = check_bbox(bbox)
            # A database with a spatial index answers which regions meet the box (full geometries, as the
            # in-memory tree does; simplified outlines exist only here, so those views are picked here).
            found = None
            if not simplify and layer_id in self.specs:
                found = self.source.bbox_ids(spec.boundary_layer or spec.id, rect)
            if found is not None:
                frame = frame[frame.index.isin(found)]
            else:
                hits = self._tree(layer_id).query(shapely.box(*rect), predicate="intersects")
                frame = frame.iloc[np.sort(hits)]
            bbox = None
        if simplify and zoom is not None:
            frame = frame.copy()
            frame["geometry"] = self._simplified_geoms(spec, zoom, frame)
        elif spec.kind == "user" and zoom is not None and zoom < 12 and "Polygon" in spec.geometry_type:
            frame = self._user_simplified(layer_id, frame, zoom)
        if clip and rect is not None:
            frame = frame.copy()
            clipped = shapely.clip_by_rect(np.asarray(frame.geometry.values), *rect)
            frame["geometry"] = clipped
            frame = frame[~shapely.is_empty(clipped)]
        frame = select(frame, bbox=bbox, ids=ids or None, layer=layer_id)
        transform = get_transform("wgs84", datum)
        if transform is not None:
            frame = frame.copy()
            frame["geometry"] = transform_geometry(np.asarray(frame.geometry.values), transform)
        return frame

    def geojson(
        self,
        layer_id: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        zoom: int | None = None,
        datum: str = "wgs84",
        ids: list[str] | None = None,
        clip: bool = False,
    ) -> bytes:
        """The layer as RFC 7946 GeoJSON bytes; whole-layer answers are built once and kept (viewport answers
        are kept by the web layer's response cache). A clipped viewport answer rounds coordinates to what its
        zoom can show (4 decimals, about 10 m, up to zoom 8; 5 above)."""
        spec = self.spec(layer_id)
        info = self._user_info(layer_id) if spec.kind == "user" else None
        version = f"{info.version}@{info.updated}" if info else ""
        key = (layer_id, zoom if zoom is not None and zoom < 12 else None, datum, version)
        if bbox is None and not ids and key in self._geojson:
            return self._geojson[key]
        clip = clip and bbox is not None and not ids and spec.kind == "regions"
        frame = self.query(layer_id, bbox=bbox, zoom=zoom, datum=datum, ids=ids, clip=clip)
        precision = (4 if zoom is not None and zoom <= 8 else 5) if clip else 6
        body = to_bytes(feature_collection(frame, precision=precision, extra={"datum": datum}))
        if bbox is None and not ids:
            self._geojson[key] = body
        return body

    def _tree(self, layer_id: str) -> shapely.STRtree:
        """A spatial index (STRtree) over a region layer's full-resolution geometries, built on first use."""
        if layer_id not in self._trees:
            self._trees[layer_id] = shapely.STRtree(np.asarray(self._frames[layer_id].geometry.values))
        return self._trees[layer_id]

    def _simplified_geoms(self, spec: LayerSpec, zoom: int, frame: gpd.GeoDataFrame) -> np.ndarray:
        key = (spec.boundary_layer or spec.id, zoom)
        source = self._frames[key[0]]
        if key not in self._simplified:
            self._simplified[key] = self._level(key[0], zoom, np.asarray(source.geometry.values))
        lookup = dict(zip(source.index, self._simplified[key], strict=False))
        return np.array([lookup[i] for i in frame.index], dtype=object)

    def _boundary_of(self, layer_id: str, frame: gpd.GeoDataFrame) -> list[str | None]:
        """Per feature of a user region list, the boundary layer whose region it is (its adcode there, with the
        very same outline), else None; worked out once per layer version."""
        info = self._user_info(layer_id)
        key = (layer_id, info.version, info.updated)
        found = self._user_boundaries.get(key)
        if found is None:
            found = []
            layers = [s.id for s in CATALOG if s.kind == "regions" and s.boundary_layer == s.id]
            for fid, geom in zip(frame.index, frame.geometry.values, strict=True):
                match = None
                for name in layers:
                    source = self._frames[name]
                    if fid in source.index and geom is not None:
                        outline = source.geometry.loc[fid]
                        if shapely.equals_exact(shapely.normalize(geom), shapely.normalize(outline), tolerance=1e-7):
                            match = name
                        break
                found.append(match)
            with self._user_lock:
                self._user_boundaries = {k: v for k, v in self._user_boundaries.items() if k[0] != layer_id}
                self._user_boundaries[key] = found
        return found

    def _user_simplified(self, layer_id: str, frame: gpd.GeoDataFrame, zoom: int) -> gpd.GeoDataFrame:
        """A user region list drawn at a low zoom as light as the built-in layers: a feature that is a boundary
        region (a list of counties matched by name) takes that region's simplified outline; the user's own
        polygons stay as they are."""
        sources = self._boundary_of(layer_id, frame)
        if not any(sources):
            return frame
        geoms = np.asarray(frame.geometry.values, dtype=object).copy()
        for name in {s for s in sources if s}:
            spec = self.specs[name]
            where = [i for i, s in enumerate(sources) if s == name]
            geoms[where] = self._simplified_geoms(spec, zoom, frame.iloc[where])
        frame = frame.copy()
        frame["geometry"] = geoms
        return frame

    def _level(self, layer: str, zoom: int, geoms: np.ndarray) -> np.ndarray:
        """A boundary layer simplified for a zoom: from the build's own tables when it carries them (large
        builds: all of China would take minutes here), else computed now (Zhejiang: a fraction of a second),
        coarser levels from the finest one."""
        kept = self.boundaries.simplified(layer, zoom)
        if kept is not None:
            codes = self._frames[layer].index
            if all(c in kept for c in codes):
                return np.array([kept[c] for c in codes], dtype=object)
        if zoom < FINEST_SIMPLIFIED:
            finest = (layer, FINEST_SIMPLIFIED)
            if finest not in self._simplified:
                self._simplified[finest] = self._level(layer, FINEST_SIMPLIFIED, geoms)
            geoms = self._simplified[finest]
        return simplify_coverage(geoms, tolerance_for_zoom(zoom))

    def centre(self, layer_id: str, fid: str) -> tuple[list[float], list[float]]:
        geom = self.frame(layer_id).loc[fid].geometry
        return list(label_point(geom)), geom_bbox(geom)
