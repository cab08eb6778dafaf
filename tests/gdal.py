"""Read files with GDAL's own ogrinfo (Debian gdal-bin 3.6 has no -json, so its text summary is parsed)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path


def ogr_summary(path: str | Path, *layers: str) -> dict[str, dict]:
    """{layer: {count, geometry, epsg, text}} as `ogrinfo -ro -so -al` reports it."""
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path), *layers],
                         capture_output=True, text=True, check=True).stdout
    result: dict[str, dict] = {}
    for block in re.split(r"\n(?=Layer name: )", out):
        name = re.search(r"^Layer name: (.+)$", block, re.M)
        if not name:
            continue
        count = re.search(r"^Feature Count: (\d+)", block, re.M)
        geom = re.search(r"^Geometry: (.+)$", block, re.M)
        epsg = re.findall(r'ID\["EPSG",(\d+)\]\]\s*$', block, re.M)
        result[name.group(1).strip()] = {
            "count": int(count.group(1)) if count else None,
            "geometry": geom.group(1).strip() if geom else None,
            "epsg": int(epsg[-1]) if epsg else None,
            "text": block,
        }
    return result
