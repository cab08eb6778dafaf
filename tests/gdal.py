"""GDAL's own ogrinfo (Debian gdal-bin) reading our files and endpoints; 3.6 has no -json, so its text is parsed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

# Set by tests/conftest.py before each test: whether it is marked `gdal`. `make test-fast` deselects
# those tests, so a test that runs ogrinfo unmarked would slip GDAL into the fast loop; it fails instead.
ALLOWED: bool | None = None


def ogrinfo(*args: str) -> str:
    assert ALLOWED is not False, "this test runs ogrinfo: mark it @pytest.mark.gdal (conftest marks direct calls)"
    result = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ogr_layers(path: Path | str) -> list[dict]:
    """Parse `ogrinfo -so -al`: per layer its name, geometry type, feature count, EPSG:4326 or not, metadata."""
    text = ogrinfo("-so", "-al", str(path))
    layers = []
    for block in text.split("\nLayer name: ")[1:]:
        name = block.splitlines()[0].strip()
        geometry = re.search(r"^Geometry: (.+)$", block, re.M).group(1).strip()
        count = int(re.search(r"^Feature Count: (-?\d+)$", block, re.M).group(1))
        epsg4326 = bool(re.search(r'ID\["EPSG",4326\]\]\s*$', block.split("Data axis")[0], re.M))
        meta = dict(re.findall(r"^  ([A-Za-z_]+)=(.*)$", block.split("Geometry:")[0], re.M))
        layers.append({"name": name, "geometry": geometry, "count": count, "epsg4326": epsg4326, "meta": meta})
    return layers


def ogr_feature_geometries(path: Path | str, *layer: str) -> list[str]:
    """Geometry type of every feature GDAL reads (`ogrinfo -al -geom=SUMMARY`)."""
    text = ogrinfo("-al", "-q", "-geom=SUMMARY", str(path), *layer)
    return re.findall(r"^  (POINT|MULTIPOINT|LINESTRING|MULTILINESTRING|POLYGON|MULTIPOLYGON) :", text, re.M)
