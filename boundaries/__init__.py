"""Administrative boundaries of China (AMap, from the cnmaps wheel) in WGS-84, and the region-name gazetteer."""

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
EMBEDDED_GPKG = DATA_DIR / "zhejiang.gpkg"
LAYERS = ("province", "cities", "counties")
