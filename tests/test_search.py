"""Search goes through the gazetteer: short and prefixed forms, adcodes, former names with a note on what became
of them, and "did you mean" suggestions for typos (over real HTTP)."""

from __future__ import annotations

import pytest

FIELDS = {"id", "layer", "name", "adcode", "center", "bbox", "note", "note_en", "suggestion"}


def results(http, q: str) -> list[dict]:
    status, body = http.json("/api/search?q=" + q)
    assert status == 200, body
    for r in body["results"]:
        assert FIELDS <= set(r), r
    return body["results"]


@pytest.mark.parametrize(
    "q, name",
    [
        ("萧山区", "萧山区"),
        ("萧山", "萧山区"),
        ("杭州萧山区", "萧山区"),
        ("浙江省杭州市萧山区", "萧山区"),
        ("330109", "萧山区"),
        ("景宁", "景宁畲族自治县"),
    ],
)
def test_names_and_adcodes_find_the_region_first(http, q, name):
    first = results(http, q)[0]
    assert first["name"] == name and first["layer"] == "counties"
    assert first["suggestion"] is False and first["note"] is None


def test_a_former_name_says_what_became_of_it(http):
    first = results(http, "江干区")[0]
    assert (first["name"], first["adcode"], first["layer"]) == ("上城区", "330102", "counties")
    assert first["suggestion"] is False
    assert "江干区" in first["note"] and "2021" in first["note"] and "上城区" in first["note"]
    assert "2021" in first["note_en"] and "Shangcheng" in first["note_en"]


@pytest.mark.parametrize("typo, meant", [("瑞按市", "瑞安市"), ("萧山去", "萧山区")])
def test_a_typo_gets_suggestions(http, typo, meant):
    found = results(http, typo)
    assert found and all(r["suggestion"] for r in found)
    assert found[0]["name"] == meant
    assert found[0]["note"] == f"您是不是要找：{meant}"
    assert found[0]["note_en"].startswith("Did you mean")


def test_exact_matches_are_not_suggestions(http):
    found = results(http, "西湖")
    assert found[0]["name"] == "西湖区"
    assert not any(r["suggestion"] for r in found)


def test_nothing_close_gives_an_empty_list(http):
    assert results(http, "zzzzqqq") == []
