"""geo/shapes.py: schematic circles in metres, label points that fall inside their shape, rounded bounding boxes."""

import math

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geo.shapes import bbox, circle, label_point

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("lat", [0.0, 30.2, 45.0])
@pytest.mark.parametrize("radius_m", [500.0, 3000.0])
def test_circle_vertices_lie_radius_metres_from_the_centre(lat, radius_m):
    c = circle(120.2, lat, radius_m)
    assert c.is_valid and c.exterior.is_ccw
    coords = list(c.exterior.coords)[:-1]
    assert len(coords) == 48
    distances = [GEOD.inv(120.2, lat, x, y)[2] for x, y in coords]
    # a spherical approximation: within 1 % of the radius on the ellipsoid
    assert max(abs(d - radius_m) for d in distances) < radius_m * 0.01
    cx, cy = c.centroid.x, c.centroid.y
    assert (cx, cy) == pytest.approx((120.2, lat), abs=1e-6)


def test_circle_segments_and_rounding():
    c = circle(120.123456789, 30.0, 1000, segments=12)
    coords = list(c.exterior.coords)[:-1]
    assert len(coords) == 12
    assert all(round(x, 6) == x and round(y, 6) == y for x, y in coords)
    # area close to pi r^2 for a fine polygon
    fine = circle(120.0, 30.0, 1000, segments=360)
    area, _ = GEOD.geometry_area_perimeter(fine)
    assert abs(area) == pytest.approx(math.pi * 1000**2, rel=0.01)


def test_label_point_of_a_convex_shape_is_its_centroid():
    square = Polygon([(0, 0), (2, 0), (2, 2), (0, 2)])
    assert label_point(square) == (1.0, 1.0)


def test_label_point_of_a_crescent_lies_inside_it():
    crescent = Point(0, 0).buffer(1.0).difference(Point(0.4, 0).buffer(0.9))
    assert not crescent.contains(crescent.centroid)  # the centroid falls in the bite
    x, y = label_point(crescent)
    assert crescent.contains(Point(x, y))


def test_label_point_of_scattered_islands_lies_on_one_of_them():
    islands = MultiPolygon([Point(0, 0).buffer(0.1), Point(5, 0).buffer(0.1)])
    x, y = label_point(islands)
    assert islands.contains(Point(x, y))


def test_label_point_of_a_line_is_halfway_along_it():
    bent = LineString([(0, 0), (4, 0), (4, 4)])
    assert label_point(bent) == (4.0, 0.0)  # 4 units of 8, not the centroid (3, 1)


def test_label_point_of_a_point_is_the_point_rounded():
    assert label_point(Point(120.12345678, 30.98765432)) == (120.123457, 30.987654)


def test_bbox_is_minx_miny_maxx_maxy_rounded():
    geom = shapely.box(120.1234567, 29.9999999, 121.5, 30.25)
    assert bbox(geom) == [120.123457, 30.0, 121.5, 30.25]
    assert isinstance(bbox(Point(1, 2)), list)
