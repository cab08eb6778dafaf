"""Resolve region names as people write them (萧山, 杭州萧山区, 景宁, 330109, 江干区 …) to adcodes."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from geo.errors import BadRequest, NotFound

from .store import Boundaries, load

FORMER_NAMES = Path(__file__).parent / "former_names.yaml"
_AUTONOMOUS = re.compile(r"^(.{2,}?)(?:[\u4e00-\u9fff]{1,3}族)+自治(?:县|旗)$")
_SUFFIXES = ("新区", "林区", "特区", "地区", "自治州", "盟", "区", "县", "市", "旗", "省")
_PROVINCE_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")


class AmbiguousName(BadRequest):
    """A name matches several regions; the candidates are listed."""


class UnknownName(NotFound):
    """No region has that name; the closest names are suggested."""


@dataclass(frozen=True)
class Place:
    adcode: str
    name: str
    level: str
    city: str | None
    city_adcode: str | None
    province: str
    note: str | None = None  # e.g. what became of a former name

    @property
    def full_name(self) -> str:
        return "".join(dict.fromkeys(p for p in (self.province, self.city, self.name) if p))


def short_name(name: str) -> str | None:
    """景宁畲族自治县 → 景宁, 萧山区 → 萧山, 杭州市 → 杭州; None when nothing shorter is safe."""
    m = _AUTONOMOUS.match(name)
    if m:
        return m.group(1)
    m = _PROVINCE_SUFFIX.search(name)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    if m and len(name) - len(m.group(1)) >= 2:
        return name[: m.start()]
    return None


class Gazetteer:
    """Name → adcode index over a boundary GeoPackage, with former names."""

    def __init__(self, boundaries: Boundaries, former: list[dict] | None = None) -> None:
        self.places: dict[str, Place] = {}
        self._names: dict[str, set[str]] = {}
        for frame in (boundaries.province, boundaries.cities, boundaries.counties):
            for row in frame.itertuples():
                place = Place(row.adcode, row.name, row.level, row.city, row.city_adcode, row.province)
                self.places[row.adcode] = place
                self._add(row.name, row.adcode)
                if (short := short_name(row.name)) is not None:
                    self._add(short, row.adcode)
        self.former: dict[str, list[tuple[dict, Place]]] = {}
        for entry in former or []:
            now = self.places.get(str(entry["now"]))
            if now is not None:
                self.former.setdefault(entry["name"], []).append((entry, now))
                if (short := short_name(entry["name"])) and short not in self._names:
                    self.former.setdefault(short, []).append((entry, now))

    def _add(self, name: str, adcode: str) -> None:
        self._names.setdefault(name, set()).add(adcode)

    @classmethod
    def load(cls, gpkg: str | Path) -> Gazetteer:
        """The gazetteer of a boundary GeoPackage (read now; keep the result, nothing is cached here)."""
        return cls.of(load(gpkg))

    @classmethod
    def of(cls, boundaries: Boundaries) -> Gazetteer:
        """The gazetteer of boundaries already loaded, with the shipped former names."""
        return cls(boundaries, former_names())

    # --- resolution -------------------------------------------------------------------
    def _candidates(self, name: str) -> set[str]:
        """Adcodes a name could mean: itself, or a province/city prefix followed by a smaller unit."""
        found = set(self._names.get(name, ()))
        for cut in range(2, len(name) - 1):
            head, tail = name[:cut], name[cut:]
            parents = self._names.get(head)
            if not parents:
                continue
            for code in self._candidates(tail):
                p = self.places[code]
                if code not in parents and (p.city_adcode in parents or self._province_code(p) in parents):
                    found.add(code)
        return found

    def _province_code(self, place: Place) -> str:
        return place.adcode[:2] + "0000"

    def _within(self, codes: set[str], province: str | None, city: str | None) -> set[str]:
        for scope in (province, city):
            if scope:
                scope_codes = self._candidates(scope.strip())
                codes = {
                    c
                    for c in codes
                    if c in scope_codes
                    or self.places[c].city_adcode in scope_codes
                    or self._province_code(self.places[c]) in scope_codes
                }
        return codes

    def resolve(
        self, name: str, *, province: str | None = None, city: str | None = None, levels: tuple[str, ...] | None = None
    ) -> Place:
        """The one region `name` means, or AmbiguousName / UnknownName listing candidates or suggestions."""
        text = re.sub(r"\s+", "", str(name or ""))
        if not text:
            raise BadRequest("empty region name")
        if re.fullmatch(r"\d{6}", text):
            if text in self.places:
                return self.places[text]
            raise UnknownName(f"no region with adcode {text}")
        codes = self._within(self._candidates(text), province, city)
        if levels:
            codes = {c for c in codes if self.places[c].level in levels}
        if len(codes) > 1:
            # a name written in full beats units it is only the short or prefixed form of
            exact = [c for c in codes if self.places[c].name == text]
            if len(exact) == 1:
                return self.places[exact[0]]
            options = sorted(self.places[c].full_name for c in codes)
            raise AmbiguousName(
                f"{text!r} is ambiguous: {'、'.join(options)}; give the province or city",
                candidates=[{"adcode": c, "name": self.places[c].full_name} for c in sorted(codes)],
            )
        if codes:
            return self.places[codes.pop()]
        former = self.former.get(text)
        if former:
            entry, now = former[0]
            return replace(now, note=f"{entry['name']}: {entry['note']}（今{now.name} {now.adcode}）")
        names = list(self._names) + list(self.former)
        close = difflib.get_close_matches(text, names, n=5, cutoff=0.4)
        hint = f"; did you mean {'、'.join(close)}?" if close else ""
        raise UnknownName(f"unknown region name {text!r}{hint}", suggestions=close)

    def search(self, text: str, limit: int = 10) -> list[Place]:
        """Regions whose name (full or short) contains `text`, exact and prefix matches first."""
        text = text.strip()
        if not text:
            return []
        scored: dict[str, int] = {}
        for name, codes in self._names.items():
            if text in name:
                rank = 0 if name == text else 1 if name.startswith(text) else 2
                for c in codes:
                    scored[c] = min(scored.get(c, 9), rank)
        for c in self._candidates(text):
            scored[c] = 0
        order = sorted(scored, key=lambda c: (scored[c], ("county", "city", "province").index(self.places[c].level), c))
        return [self.places[c] for c in order[:limit]]

    def suggest(
        self, text: str, limit: int = 5, *, province: str | None = None, city: str | None = None
    ) -> list[Place]:
        """The regions whose names (full or short) are closest to a mistyped `text`, best first.

        Score: difflib's similarity ratio plus a small bonus for characters in the same positions (so 瑞按市 →
        瑞安市 and 萧山去 → 萧山区 rank above names that merely share characters); `province`/`city` narrow it."""
        query = re.sub(r"\s+", "", str(text or ""))
        if not query:
            return []
        allowed = self._within(set(self.places), province, city) if (province or city) else None
        best: dict[str, float] = {}
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(query)
        for name, codes in self._names.items():
            matcher.set_seq1(name)
            if matcher.real_quick_ratio() < 0.5 or matcher.quick_ratio() < 0.5:
                continue
            score = matcher.ratio()
            if score < 0.5:
                continue
            same_place = sum(a == b for a, b in zip(name, query, strict=False)) / max(len(name), len(query))
            score += 0.2 * same_place
            for code in codes:
                if allowed is None or code in allowed:
                    best[code] = max(best.get(code, 0.0), score)
        order = sorted(best, key=lambda c: (-best[c], ("county", "city", "province").index(self.places[c].level), c))
        return [self.places[c] for c in order[:limit]]


def former_names() -> list[dict]:
    """Entries of former_names.yaml: {name, now (adcode), note}."""
    if not FORMER_NAMES.exists():
        return []
    return yaml.safe_load(FORMER_NAMES.read_text(encoding="utf-8")) or []


__all__ = ["AmbiguousName", "Gazetteer", "Place", "UnknownName", "short_name"]
