"""`python -m layers check` as a user runs it: exit 0 on the shipped data, non-zero listing every problem otherwise."""

import os
import shutil
import subprocess
import sys

import yaml

from tests.conftest import ROOT


def check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "layers", "check"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_passes_on_the_shipped_data(catalog):
    out = check()
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    for layer_id in catalog.ids():
        assert layer_id in out.stdout


def test_check_fails_on_corrupt_data_and_lists_each_problem(tmp_path):
    layers_dir = tmp_path / "data"
    shutil.copytree(ROOT / "layers" / "data", layers_dir)
    bad = {
        "sites": [
            {
                "id": "bad-county",
                "name": "X",
                "kind": "park",
                "county": "火星区",
                "location": [120.2, 30.2],
                "precision": "site",
            },
            {
                "id": "bad-place",
                "name": "Y",
                "kind": "park",
                "county": "萧山区",
                "location": [121.5, 29.8],
                "precision": "site",
            },
        ]
    }
    (layers_dir / "platforms" / "zz-bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    out = check(KECHUANG_LAYERS_DIR=str(layers_dir))
    assert out.returncode != 0
    said = out.stdout + out.stderr
    assert "Traceback" not in said
    assert "bad-county" in said and "火星区" in said
    assert "bad-place" in said and "萧山区" in said
    assert "data ok" not in said
