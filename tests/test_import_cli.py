"""`python -m layers import FILE …` run as a user runs it: exit codes, one-line errors, the JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import BACKENDS, ROOT, backend_settings

MIXED = "区县,高新技术企业数\n杭州市萧山区,12\n萧山,3\n330109,4\n江干区,5\n萧山去,6\n"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layers", "import", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dry_run_json_report_of_a_gb18030_csv(tmp_path):
    path = tmp_path / "名单.csv"
    path.write_bytes(MIXED.encode("gb18030"))
    done = cli(str(path), "--dry-run", "--json")
    assert done.returncode == 1, done.stderr  # row 5 is unmatched
    report = json.loads(done.stdout)
    assert report["rows"] == 5
    assert report["counts"] == {"matched": 3, "former": 1, "ambiguous": 0, "unmatched": 1}
    assert report["items"][3]["name"] == "上城区" and report["items"][3]["status"] == "former"
    assert report["items"][4]["suggestions"][0]["name"] == "萧山区"


def test_all_resolved_exits_zero_and_summarises(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("县\n萧山\n瑞安\n", encoding="utf-8")
    done = cli(str(path), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "2 rows: 2 matched" in done.stderr


def test_saving_with_unresolved_rows_saves_nothing(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(MIXED, encoding="utf-8")
    done = cli(str(path))
    assert done.returncode == 1
    assert "nothing saved" in done.stderr and "--skip-unresolved" in done.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_saving_makes_a_user_layer_the_store_lists(request, backend, tmp_path):
    """Without --dry-run the list becomes a user layer in the configured store (the data directory's, or
    PostGIS with KECHUANG_DATABASE_URL), and the audit log says so."""
    from layers.backends import open_backends

    path = tmp_path / "ok.csv"
    path.write_text("县,高新技术企业数\n萧山,12\n瑞安,7\n", encoding="utf-8")
    data = tmp_path / "data"
    settings = backend_settings(request, data, backend)
    env = {
        "KECHUANG_DATA_DIR": str(data),
        **({"KECHUANG_DATABASE_URL": settings.database_url} if settings.database_url else {}),
    }
    done = cli(str(path), "--title", "试点", env=env)
    assert done.returncode == 0, done.stderr
    layer_id = done.stdout.strip()
    assert layer_id.startswith("user-")
    backends = open_backends(settings)
    try:
        store = backends.store
        assert [(i.id, i.title, i.count) for i in store.list()] == [(layer_id, "试点", 2)]
        frame = store.load(layer_id)
        assert sorted(frame["name"]) == ["瑞安市", "萧山区"]
        assert frame["高新技术企业数"].dtype.kind == "i"  # numbers stay numbers
        audit = backends.users.audit(10)
        assert any(e.action == "import" and e.layer == layer_id and e.actor == "cli" for e in audit)
    finally:
        backends.close()


def test_options_for_names_sheets_and_points(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["x"])
    sheet = book.create_sheet("站点")
    sheet.append(["名称", "X坐标", "Y坐标"])
    sheet.append(["甲", 120.27, 30.18])
    path = tmp_path / "sites.xlsx"
    book.save(path)
    done = cli(
        str(path), "--sheet", "站点", "--lon", "X坐标", "--lat", "Y坐标", "--datum", "gcj02", "--dry-run", "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["items"][0]["adcode"] == "330109" and report["columns"]["datum"] == "gcj02"
    names = tmp_path / "names.csv"
    names.write_text("a,b\n1,萧山\n", encoding="utf-8")
    done = cli(str(names), "--name-column", "b", "--dry-run", "--json")
    assert json.loads(done.stdout)["items"][0]["adcode"] == "330109"


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("empty.csv", b"", "empty"),
        ("bad.csv", b"name\n\x81\x20\xff\n", "neither UTF-8 nor GB18030"),
        ("wide.csv", (",".join(f"c{i}" for i in range(10_000)) + "\n1\n").encode(), "10000 columns"),
        ("nonames.csv", "编号,说明\n1,甲\n".encode(), "--name-column"),
        ("evil.kml", b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]><kml/>', "DOCTYPE"),
        ("x.doc", b"hello", "unknown file type"),
    ],
)
def test_unreadable_files_exit_2_with_one_line(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    done = cli(str(path), "--dry-run")
    assert done.returncode == 2
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_zip_with_path_traversal_exits_2(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../evil.shp", b"x")
    done = cli(str(path), "--dry-run")
    assert done.returncode == 2 and "unsafe member names" in done.stderr
    assert not (tmp_path.parent / "evil.shp").exists()


def test_missing_file_and_bad_option(tmp_path):
    done = cli(str(tmp_path / "nope.csv"), "--dry-run")
    assert done.returncode == 2 and "no such file" in done.stderr
    done = cli(str(tmp_path / "nope.csv"), "--datum", "osgb")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_ambiguity_settled_by_province_on_all_china(tmp_path, china_gpkg):
    path = tmp_path / "list.csv"
    path.write_text("区县\n普陀区\n", encoding="utf-8")
    env = {"KECHUANG_BOUNDARIES": str(china_gpkg)}
    done = cli(str(path), "--dry-run", "--json", env=env)
    assert done.returncode == 1
    item = json.loads(done.stdout)["items"][0]
    assert item["status"] == "ambiguous" and {c["province"] for c in item["candidates"]} == {"上海市", "浙江省"}
    done = cli(str(path), "--dry-run", "--json", "--province", "浙江省", env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["items"][0]["adcode"] == "330903"
    done = cli(str(path), "--dry-run", "--json", "--city", "上海", env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["items"][0]["adcode"] == "310107"
