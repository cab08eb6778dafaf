"""geo/simplify.py: the zoom → tolerance rule, and coverage simplification that keeps shared borders shared."""

import numpy as np
import pytest
import shapely

from geo.simplify import simplify_coverage, tolerance_for_zoom


def test_tolerance_halves_with_each_zoom_level():
    for z in range(0, 18):
        assert tolerance_for_zoom(z + 1) == pytest.approx(tolerance_for_zoom(z) / 2)


def test_tolerance_is_pixels_times_degrees_per_pixel():
    # at zoom 0 one 256-pixel tile spans 360°; at the equator one pixel is 360/256 degrees
    assert tolerance_for_zoom(0, pixels=1, lat=0) == pytest.approx(360 / 256)
    assert tolerance_for_zoom(8, pixels=2, lat=0) == pytest.approx(2 * 360 / 256 / 2**8)
    assert tolerance_for_zoom(8, lat=60) == pytest.approx(tolerance_for_zoom(8, lat=0) / 2)


def wiggly_neighbours() -> np.ndarray:
    """Two polygons sharing a finely wiggling border (x = 1 ± 0.001), like two counties."""
    ys = np.linspace(0, 1, 201)
    border = [(1 + 0.001 * np.sin(40 * y), y) for y in ys]
    west = shapely.Polygon([(0, 0), *border, (0, 1)])
    east = shapely.Polygon([(2, 0), (2, 1), *reversed(border)])
    return np.array([west, east])


def test_coverage_simplification_drops_vertices_and_keeps_the_shared_border():
    geoms = wiggly_neighbours()
    assert shapely.union_all(geoms).area == pytest.approx(2.0)
    out = simplify_coverage(geoms, 0.01)
    assert len(out) == 2 and all(g.is_valid for g in out)
    assert shapely.get_num_coordinates(out).sum() < shapely.get_num_coordinates(geoms).sum() / 10
    # no gap and no overlap between the neighbours: the areas add up to the area of their union
    assert out[0].intersection(out[1]).area == pytest.approx(0, abs=1e-12)
    assert out[0].area + out[1].area == pytest.approx(shapely.union_all(out).area, abs=1e-12)
    # the outer edge of the whole coverage stays where it was
    assert shapely.union_all(out).bounds == pytest.approx((0, 0, 2, 1))


def test_zero_or_negative_tolerance_returns_the_input_untouched():
    geoms = wiggly_neighbours()
    assert simplify_coverage(geoms, 0) is geoms
    assert simplify_coverage(geoms, -1.0) is geoms


def test_simplifies_the_real_counties_without_losing_any(catalog):
    counties = catalog.boundaries.counties
    geoms = np.asarray(counties.geometry.values)
    out = simplify_coverage(geoms, tolerance_for_zoom(7))
    assert len(out) == len(geoms)
    assert not any(g.is_empty for g in out)
    assert shapely.get_num_coordinates(out).sum() < shapely.get_num_coordinates(geoms).sum()
