"""The datum transforms against published reference values, round trips and whole geometries."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import datum

# Reference values published with gcoord's test suite (hujiulong/gcoord, test/unit/crs/*.spec.js).
FORWARD = [
    (datum.wgs84_to_gcj02, (123.0, 45.0), (123.00607541, 45.00197815)),
    (datum.gcj02_to_bd09, (123.0, 45.0), (123.00636499, 45.00636899)),
    (datum.wgs84_to_bd09, (123.0, 45.0), (123.0124491, 45.0083293)),
    (datum.gcj02_to_wgs84, (123.0, 45.0), (122.99395597, 44.99804071)),
]


@pytest.mark.parametrize("func, point, expected", FORWARD)
def test_published_reference_values(func, point, expected):
    x, y = func(*point)
    assert float(x) == pytest.approx(expected[0], abs=5e-6)
    assert float(y) == pytest.approx(expected[1], abs=5e-6)


def _metres(lon1, lat1, lon2, lat2):
    dx = (np.asarray(lon1) - lon2) * 111_320 * np.cos(np.radians(lat2))
    dy = (np.asarray(lat1) - lat2) * 110_574
    return np.hypot(dx, dy)


@settings(max_examples=300, deadline=None)
@given(st.floats(73.6, 134.7), st.floats(18.2, 53.5))
def test_gcj02_round_trip_is_sub_millimetre(lon, lat):
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    back = datum.gcj02_to_wgs84(glon, glat)
    assert _metres(*back, lon, lat) < 1e-3


@settings(max_examples=200, deadline=None)
@given(st.floats(73.6, 134.7), st.floats(18.2, 53.5))
def test_bd09_round_trip(lon, lat):
    assert (
        _metres(
            *datum.gcj02_to_wgs84(*datum.bd09_to_gcj02(*datum.gcj02_to_bd09(*datum.wgs84_to_gcj02(lon, lat)))), lon, lat
        )
        < 1e-3
    )


def test_one_step_inverse_would_be_metres_off():
    lon, lat = 120.2, 30.25  # Hangzhou
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    dlon, dlat = datum.wgs84_to_gcj02(glon, glat)
    naive = (2 * glon - dlon, 2 * glat - dlat)
    assert _metres(*naive, lon, lat) > 0.5
    assert _metres(*datum.gcj02_to_wgs84(glon, glat), lon, lat) < 1e-3


@pytest.mark.parametrize("lon, lat", [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9), (139.9, 36.0)])
def test_points_outside_china_are_untouched(lon, lat):
    for func in (datum.wgs84_to_gcj02, datum.gcj02_to_wgs84):
        x, y = func(lon, lat)
        assert (float(x), float(y)) == (lon, lat)


def test_offset_in_zhejiang_is_hundreds_of_metres():
    glon, glat = datum.wgs84_to_gcj02(120.15, 30.28)
    assert 300 < _metres(glon, glat, 120.15, 30.28) < 800


def test_whole_province_round_trips_vertex_for_vertex(catalog):
    """The whole province (tens of thousands of vertices) converts as arrays and comes back to the same
    coordinates. How fast is measured by bench/run.py (`make bench`), not asserted here."""
    province = catalog.boundaries.province.geometry.iloc[0]
    assert shapely.get_num_coordinates(province) > 10_000
    gcj = datum.transform_geometry(province, datum.wgs84_to_gcj02)
    back = datum.transform_geometry(gcj, datum.gcj02_to_wgs84)
    assert shapely.get_num_coordinates(gcj) == shapely.get_num_coordinates(province)
    a, b = shapely.get_coordinates(province), shapely.get_coordinates(back)
    assert np.abs(a - b).max() < 1e-8
    # the vectorised path gives the same numbers as converting point by point
    sample = shapely.get_coordinates(gcj)[::997]
    one_by_one = np.array([datum.gcj02_to_wgs84(float(x), float(y)) for x, y in sample])
    assert np.abs(one_by_one - b[::997]).max() < 1e-10


def test_unknown_datum_pair_is_an_error():
    with pytest.raises(ValueError):
        datum.get_transform("wgs84", "itrf")
