"""Settings: one typed model, passed down; bad values stop start-up with one clear line; apps own their data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from boundaries import EMBEDDED_GPKG
from settings import Basemap, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
BASEMAP = {
    "id": "osm",
    "title": "开放街图",
    "title_en": "OpenStreetMap",
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "attribution": "© OpenStreetMap contributors",
    "datum": "wgs84",
    "max_zoom": 19,
}
ENTRY_POINTS = {
    "server": [sys.executable, "server.py"],
    "layers check": [sys.executable, "-m", "layers", "check"],
    "boundaries resolve": [sys.executable, "-m", "boundaries", "resolve", "萧山"],
}
BAD = {
    "malformed basemaps": ({"KECHUANG_BASEMAPS": '[{"id": "osm",'}, ["KECHUANG_BASEMAPS: not valid JSON"]),
    "basemaps object": ({"KECHUANG_BASEMAPS": '{"osm": "x"}'}, ["KECHUANG_BASEMAPS: must be a JSON list"]),
    "port not a number": ({"PORT": "abc"}, ["PORT: Input should be a valid integer", "'abc'"]),
    "every problem at once": (
        {
            "PORT": "abc",
            "KECHUANG_BASEMAPS": '[{"id": "x", "title": "X", "url": "https://t/{z}/{x}.png", "datum": "bd09"}]',
        },
        ["PORT:", "KECHUANG_BASEMAPS[0].url: tile URL lacks {y}", "KECHUANG_BASEMAPS[0].datum:"],
    ),
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KECHUANG_") and k not in ("HOST", "PORT")}
    return {**env, **extra}


@pytest.mark.parametrize(
    ("entry", "case"),
    [("server", case) for case in BAD]
    + [("layers check", "malformed basemaps"), ("layers check", "port not a number")]
    + [("boundaries resolve", "every problem at once")],
)
def test_bad_settings_stop_start_up_with_one_line(entry, case):
    env, expected = BAD[case]
    result = subprocess.run(ENTRY_POINTS[entry], cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cannot start: bad settings: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


def test_defaults_and_overrides_from_the_environment(monkeypatch):
    for name in ("HOST", "PORT", "KECHUANG_BASEMAPS", "KECHUANG_CACHE", "KECHUANG_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    default = load_settings()
    assert (default.host, default.port, default.basemaps) == ("127.0.0.1", 5000, [])
    assert default.boundaries == EMBEDDED_GPKG and isinstance(default.layers_dir, Path)
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("KECHUANG_CACHE", "/tmp/kechuang-cache")
    monkeypatch.setenv("KECHUANG_BASEMAPS", f"[{__import__('json').dumps(BASEMAP)}]")
    s = load_settings()
    assert (s.host, s.port, s.cache) == ("0.0.0.0", 8080, Path("/tmp/kechuang-cache"))
    assert s.basemaps == [Basemap(**BASEMAP)]
    # keyword arguments win over the environment
    assert load_settings(port=9000, basemaps=[]).port == 9000


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        if name in ("host", "port", "boundaries", "layers_dir", "seeds_dir", "data_dir", "cache", "basemaps"):
            assert field.description, name
    for name, field in Basemap.model_fields.items():
        assert field.description, name


def test_settings_refuse_unknown_basemap_keys():
    with pytest.raises(SettingsError, match=r"KECHUANG_BASEMAPS\[0\]\.colour: Extra inputs are not permitted"):
        load_settings(basemaps=[{**BASEMAP, "colour": "red"}])


def test_a_second_app_with_other_settings_in_one_process(app, tmp_path):
    """Two apps side by side, each with its own settings and its own catalog."""
    from server import create_app

    base = app.extensions["settings"]
    layers_dir = tmp_path / "layers"
    shutil.copytree(base.layers_dir, layers_dir)
    (layers_dir / "science-cities" / "ruian.yaml").unlink()
    other = create_app(Settings(**{**base.model_dump(), "layers_dir": layers_dir, "basemaps": [BASEMAP]}))

    first, second = app.extensions["catalog"], other.extensions["catalog"]
    assert first is not second
    assert "ruian-sci-tech-city" in first.frame("science-cities").index
    assert "ruian-sci-tech-city" not in second.frame("science-cities").index
    assert len(second.frame("science-cities")) == len(first.frame("science-cities")) - 1

    def science_cities(a) -> int:
        layers = a.test_client().get("/api/layers").get_json()["layers"]
        return next(layer["count"] for layer in layers if layer["id"] == "science-cities")

    assert science_cities(other) == science_cities(app) - 1
    page = other.test_client().get("/").get_data(as_text=True)
    assert "tile.openstreetmap.org" in page
    assert "tile.openstreetmap.org" not in app.test_client().get("/").get_data(as_text=True)


def test_reading_the_boundaries_writes_no_aux_file(tmp_path):
    """GDAL's side-car metadata (.aux.xml) is switched off: reading leaves the data directory as it was."""
    from boundaries.gazetteer import Gazetteer
    from boundaries.store import load

    gpkg = tmp_path / "zhejiang.gpkg"
    shutil.copy(EMBEDDED_GPKG, gpkg)
    boundaries = load(gpkg)
    Gazetteer.of(boundaries).resolve("萧山")
    assert len(boundaries.counties) == 90
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zhejiang.gpkg"]


def test_configuration_enters_only_through_settings():
    """No module below the entry points reads the environment or builds its own Settings; geo/ knows none."""
    code = [p for d in ("geo", "layers", "boundaries") for p in (ROOT / d).rglob("*.py")] + [ROOT / "server.py"]
    for path in code:
        text = path.read_text(encoding="utf-8")
        text = text.replace('os.environ.setdefault("GDAL_PAM_ENABLED", "NO")', "")  # GDAL's own switch
        assert not re.search(r"os\.environ|getenv", text), path
        if path.parent.name == "geo":
            assert "settings" not in text.lower(), path
        elif path.name != "__main__.py" and path.name != "server.py":
            assert not re.search(r"load_settings|SETTINGS|Settings\(", text), path
