"""Corrupt data is refused at start-up: each case is a broken copy of layers/data checked by `python -m layers check`
(a real subprocess) and by `create_app`; the message names file, record and field, and no traceback shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import make_server

from layers import DataError
from layers.schema import json_schema_text
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BASE = Settings()
SEEDS = BASE.seeds_dir
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="seed documents not beside the project")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _edit(rel: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    """A corruption that loads a YAML file, changes it and writes it back."""

    def apply(data_dir: Path) -> None:
        path = data_dir / rel
        data = _load(path)
        out = change(data)
        _dump(path, data if out is None else out)

    return apply


def _write(rel: str, content: bytes) -> Callable[[Path], None]:
    def apply(data_dir: Path) -> None:
        (data_dir / rel).write_bytes(content)

    return apply


def _remove(rel: str) -> Callable[[Path], None]:
    def apply(data_dir: Path) -> None:
        target = data_dir / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    return apply


def _site(data: dict, sid: str) -> dict:
    return next(s for s in data["sites"] if s["id"] == sid)


def _latin1_in_yaml(data_dir: Path) -> None:
    path = data_dir / "platforms" / "province.yaml"
    raw = path.read_bytes()
    path.write_bytes(raw[:100] + "é".encode("latin-1") + raw[100:])


def _set_fact(layer_file: str, sid: str, **changes) -> Callable[[Path], None]:
    def change(data: dict) -> None:
        fact = next(f for f in _site(data, sid)["facts"] if isinstance(f["value"], (int, float)))
        fact.update(changes)

    return _edit(layer_file, change)


FIRST_PLATFORM = "platforms/province.yaml"

# (case id, corruption, texts the message must contain)
CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("utf8-yaml", _latin1_in_yaml, ["platforms/province.yaml", "not valid UTF-8 at byte offset 100"]),
    (
        "sites-mapping",
        _edit("corridors/province.yaml", lambda d: {"sites": {s["id"]: s for s in d["sites"]}}),
        ["corridors/province.yaml", "sites: Input should be a valid list"],
    ),
    (
        "site-string",
        _edit("corridors/province.yaml", lambda d: {"sites": ["just a name", *d["sites"][1:]]}),
        ["corridors/province.yaml sites #1", "valid dictionary"],
    ),
    (
        "lines-abc",
        _edit(
            "innovation-bases/2021.yaml",
            lambda d: d["sites"][0]["facts"][0]["source"].update(lines="abc"),
        ),
        ["innovation-bases/2021.yaml sites #1", "facts[1].source.lines", "valid list", "'abc'"],
    ),
    (
        "layers-dir-missing",
        _remove("."),
        ["the layers data directory does not exist"],
    ),
    (
        "layer-dir-missing",
        _remove("platforms"),
        ["platforms/", "layer directory is missing"],
    ),
    (
        "layer-dir-without-files",
        lambda d: [p.unlink() for p in (d / "high-tech-zones").glob("*.yaml")],
        ["high-tech-zones/", "holds no *.yaml file"],
    ),
    (
        "corridors-file-empty",
        _write("corridors/province.yaml", b""),
        ["corridors/province.yaml", "empty"],
    ),
    (
        "corridors-file-comments-only",
        _write("corridors/province.yaml", b"# nothing here yet\n"),
        ["corridors/province.yaml", "empty or holds only comments"],
    ),
    (
        "corridors-file-no-records",
        _write("corridors/province.yaml", b"sites: []\n"),
        ["corridors/province.yaml", "sites", "at least 1 item"],
    ),
    (
        "misspelt-key",
        _edit(FIRST_PLATFORM, lambda d: d["sites"][0].update(summray_en="typo")),
        ["platforms/province.yaml sites #1", "summray_en: unknown key; did you mean 'summary_en'?"],
    ),
    (
        "name_en-number",
        _edit(FIRST_PLATFORM, lambda d: d["sites"][0].update(name_en=42)),
        ["platforms/province.yaml sites #1", "name_en: Input should be a valid string, got 42"],
    ),
    (
        "aliases-string",
        _edit(FIRST_PLATFORM, lambda d: d["sites"][0].update(aliases="not-a-list")),
        ["platforms/province.yaml sites #1", "aliases: Input should be a valid list, got 'not-a-list'"],
    ),
    (
        "zone-without-parent",
        _edit("science-city-zones/qiantang.yaml", lambda d: d["sites"][0].pop("parent") and None),
        ["science-city-zones/qiantang.yaml sites #1", "parent: required key is missing"],
    ),
    (
        "bad-status",
        _edit("regions/yuecheng.yaml", lambda d: d["regions"][0]["facts"][0].update(status="guess")),
        ["regions/yuecheng.yaml regions #1 绍兴越城区", "facts[1].status", "'reported'"],
    ),
    (
        "sources-table-missing",
        _remove("sources.yaml"),
        ["sources.yaml", "source table is missing"],
    ),
    (
        "citation-not-in-sources",
        _edit("sources.yaml", lambda d: d["sources"].pop("003_7ba3bcd1ecf2bdfd.txt") and None),
        ["cites 003_7ba3bcd1ecf2bdfd.txt, which is not in sources.yaml"],
    ),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """One copy of the shipped data per module; each case copies it again and breaks the copy."""
    out = tmp_path_factory.mktemp("pristine") / "data"
    shutil.copytree(BASE.layers_dir, out)
    return out


def _broken(pristine: Path, tmp_path: Path, corrupt: Callable[[Path], None]) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(pristine, data_dir)
    corrupt(data_dir)
    return data_dir


def _check(layers_dir: Path, seeds_dir: Path = SEEDS, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "KECHUANG_LAYERS_DIR": str(layers_dir),
        "KECHUANG_SEEDS_DIR": str(seeds_dir),
        "PYTHONIOENCODING": "utf-8",
        **env,
    }
    environ.pop("KECHUANG_ALLOW_UNVERIFIED", None) if "KECHUANG_ALLOW_UNVERIFIED" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "layers", "check"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )


def _assert_refused(result: subprocess.CompletedProcess, expected: list[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "Traceback" not in output, output[-3000:]
    assert "problem(s) in the layer data" in result.stderr
    for text in expected:
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize(("case", "corrupt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_check_refuses_corrupt_data(pristine, tmp_path, case, corrupt, expected):
    _assert_refused(_check(_broken(pristine, tmp_path, corrupt)), expected)


def test_check_passes_on_the_shipped_data():
    result = _check(BASE.layers_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "data ok" in result.stdout and "UNVERIFIED" not in result.stdout
    # every corridor record in the files is served: none dropped silently
    import yaml

    written = sum(
        len(yaml.safe_load(f.read_text("utf-8"))["sites"]) for f in (BASE.layers_dir / "corridors").glob("*.yaml")
    )
    assert f"corridors: {written} features" in result.stdout


def test_every_problem_is_listed_at_once(pristine, tmp_path):
    def corrupt(d: Path) -> None:
        _edit(FIRST_PLATFORM, lambda x: x["sites"][0].update(name_en=42, aliases="x"))(d)
        _write("corridors/province.yaml", b"")(d)
        _remove("science-cities")(d)

    result = _check(_broken(pristine, tmp_path, corrupt))
    _assert_refused(result, ["name_en", "aliases", "corridors/province.yaml", "science-cities/"])


@needs_seeds
def test_invalid_utf8_in_a_seed_file(pristine, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    target = seeds / "000_c6c9f80bd43acc42.txt"
    raw = target.read_bytes()
    target.chmod(0o644)
    at = raw.index(b"\n", 40) + 1  # at the start of a line, not inside a character
    target.write_bytes(raw[:at] + b"\xff\xfe" + raw[at:])
    result = _check(pristine, seeds)
    _assert_refused(result, ["seed file 000_c6c9f80bd43acc42.txt", f"not valid UTF-8 at byte offset {at}"])


@needs_seeds
def test_a_citation_beyond_the_end_of_its_file(pristine, tmp_path):
    corrupt = _set_fact(
        "innovation-bases/2021.yaml", "yunqi-town", source={"file": "000_c6c9f80bd43acc42.txt", "lines": [9000, 9000]}
    )
    result = _check(_broken(pristine, tmp_path, corrupt))
    _assert_refused(result, ["yunqi-town", "cites lines [9000, 9000] but 000_c6c9f80bd43acc42.txt has 332 lines"])


@needs_seeds
def test_a_figure_missing_from_its_cited_lines_also_in_alternatives(pristine, tmp_path):
    alt = {
        "value": 98765,
        "source": {"file": "000_c6c9f80bd43acc42.txt", "lines": [3, 4]},
        "note": "另一来源",
        "note_en": "another source",
    }
    corrupt = _set_fact("innovation-bases/2021.yaml", "yunqi-town", value=12345, alternatives=[alt])
    result = _check(_broken(pristine, tmp_path, corrupt))
    _assert_refused(result, ["figure 12345 does not appear", "alternatives[1]: figure 98765 does not appear"])


def test_missing_seeds_are_refused_unless_allowed(tmp_path):
    nowhere = tmp_path / "nonexistent"
    result = _check(BASE.layers_dir, nowhere)
    _assert_refused(result, [f"seeds directory {nowhere}", "KECHUANG_ALLOW_UNVERIFIED=1"])
    allowed = _check(BASE.layers_dir, nowhere, KECHUANG_ALLOW_UNVERIFIED="1")
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert "UNVERIFIED" in allowed.stdout


def test_create_app_raises_data_error(pristine, tmp_path):
    from server import create_app

    data_dir = _broken(pristine, tmp_path, _edit(FIRST_PLATFORM, lambda d: d["sites"][0].update(aliases="x")))
    with pytest.raises(DataError) as err:
        create_app(BASE.model_copy(update=dict(layers_dir=data_dir)))
    assert any("platforms/province.yaml sites #1" in p and "aliases" in p for p in err.value.problems)
    with pytest.raises(DataError, match="does not exist"):
        create_app(BASE.model_copy(update=dict(seeds_dir=tmp_path / "nonexistent")))


def test_unverified_data_is_served_and_said(tmp_path):
    """With the seeds missing and the setting on, the API and the page both say the data is unverified."""
    from server import create_app
    from tests.conftest import Http

    app = create_app(BASE.model_copy(update=dict(seeds_dir=tmp_path / "nonexistent", allow_unverified=True)))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        http = Http(f"http://127.0.0.1:{server.server_port}")
        status, body = http.json("/api/layers")
        assert status == 200 and body["unverified"] is True
        status, _headers, page = http.get("/")
        html = page.decode("utf-8")
        assert status == 200 and 'data-testid="unverified-banner"' in html and "数据未经核验" in html
        config = json.loads(html.split('id="config">', 1)[1].split("</script>", 1)[0])
        assert config["unverified"] is True
    finally:
        server.shutdown()


def test_published_json_schema_is_current():
    committed = (ROOT / "layers" / "schema.json").read_text(encoding="utf-8")
    assert committed == json_schema_text(), "the models changed: run `python -m layers schema` and commit schema.json"


def test_new_keys_are_served(pristine, tmp_path):
    """Status, period, notes, alternatives and conflicts reach profiles and site features, with readable sources."""
    from layers.store import Catalog

    src = {"file": "001_a222a07a7ccce3a9.txt", "lines": [107, 109]}

    def corrupt(d: Path) -> None:
        def region(data: dict) -> None:
            rec = data["regions"][0]
            rec["conflicts"] = [
                {
                    "topic": "众创空间数",
                    "topic_en": "maker spaces",
                    "note": "三处数字不同",
                    "note_en": "three counts differ",
                    "sources": [src, {"file": "001_a222a07a7ccce3a9.txt", "lines": [621, 621]}],
                }
            ]
            rec["location_note_en"] = "central Shaoxing"
            fact = rec["facts"][0]
            fact.update(
                status="estimate", period="2016–2020", unit_en="100m yuan", note="预计数", note_en="an estimate"
            )

        _edit("regions/yuecheng.yaml", region)(d)

    cat = Catalog(BASE.boundaries, _broken(pristine, tmp_path, corrupt), SEEDS)
    profile = cat.profiles.get("330602")
    fact = profile["figures"][0]
    assert fact["status"] == "estimate" and fact["period"] == "2016–2020" and fact["unit_en"] == "100m yuan"
    assert fact["note_en"] == "an estimate" and fact["alternatives"] == []
    assert fact["source"].startswith("001_a222a07a7ccce3a9.txt L")
    assert fact["source_ref"]["title"] == "绍兴市越城区科技创新发展“十四五”规划"
    assert fact["source_ref"]["doc_number"] == "越政办发（2021）78号"  # as the document itself writes it
    conflict = profile["conflicts"][0]
    assert conflict["sources"] == ["001_a222a07a7ccce3a9.txt L107–109", "001_a222a07a7ccce3a9.txt L621"]
    assert conflict["source_refs"][1]["lines"] == [621, 621]
    assert profile["location_note_en"] == "central Shaoxing"
    site = cat.frame("innovation-bases").loc["yunqi-town"]
    assert site["facts"][0]["status"] == "reported" and site["facts"][0]["source_ref"]["file"]
    assert site["designation"]["source_ref"]["title"]


def test_api_serves_readable_citations(http):
    """Every citation comes as the short string and as a structured reference with the document's title."""
    status, body = http.json("/api/layers")
    assert status == 200 and body["unverified"] is False
    status, profile = http.json("/api/regions/330602")
    assert status == 200
    fact = profile["figures"][0]
    assert {"status", "period", "note", "note_en", "unit_en", "alternatives", "source", "source_ref"} <= set(fact)
    ref = fact["source_ref"]
    assert set(ref) == {"file", "lines", "title", "title_en", "doc_number", "issuer", "date"}
    assert fact["source"] == f"{ref['file']} L{ref['lines'][0]}" + (
        f"–{ref['lines'][1]}" if ref["lines"][1] != ref["lines"][0] else ""
    )
    assert ref["title"] == "绍兴市越城区科技创新发展“十四五”规划"
    assert isinstance(profile["conflicts"], list) and profile["summary_source_refs"][0]["file"] == ref["file"]
    _, fc = http.json("/api/layers/innovation-bases")
    props = fc["features"][0]["properties"]
    assert props["designation"]["source_ref"]["title"]
    assert all(f["source_ref"]["title"] for f in props["facts"])
    assert isinstance(props["conflicts"], list)
