"""geo/params.py: bounding boxes, id lists and bounded integers parsed from query strings, good input and bad."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.errors import ApiError, BadRequest
from geo.params import int_arg, parse_bbox, parse_ids


# ------------------------------------------------------------------ parse_bbox
@pytest.mark.parametrize("text", [None, "", "   "])
def test_absent_bbox_is_none(text):
    assert parse_bbox(text) is None


@pytest.mark.parametrize(
    "text, box",
    [
        ("120,30,121,31", (120.0, 30.0, 121.0, 31.0)),
        (" 120.5 , 29.75 ,121.25, 30 ", (120.5, 29.75, 121.25, 30.0)),
        ("-180,-90,180,90", (-180.0, -90.0, 180.0, 90.0)),
        ("120,30,120,30", (120.0, 30.0, 120.0, 30.0)),  # a point is a valid (empty-area) box
        ("1e2,3e1,1.21e2,3.1e1", (100.0, 30.0, 121.0, 31.0)),
        ("120,30,-5,121,31,100", (120.0, 30.0, 121.0, 31.0)),  # OGC API 3-D box: heights dropped
    ],
)
def test_good_bbox(text, box):
    assert parse_bbox(text) == box


@pytest.mark.parametrize(
    "text, says",
    [
        ("120,30,121", "minx,miny,maxx,maxy"),
        ("120,30,121,31,5", "minx,miny,maxx,maxy"),
        ("a,b,c,d", "four numbers"),
        ("120,30,121,", "four numbers"),
        ("120,30,nan,31", "finite"),
        ("120,30,inf,31", "finite"),
        ("120,30,181,31", "[-180, 180]"),
        ("120,-91,121,31", "[-90, 90]"),
        ("121,30,120,31", "minx <= maxx"),
        ("120,31,121,30", "miny <= maxy"),
    ],
)
def test_bad_bbox_is_a_400_saying_what_is_accepted(text, says):
    with pytest.raises(BadRequest) as err:
        parse_bbox(text)
    assert err.value.status == 400
    assert says in err.value.message
    assert repr(text) in err.value.message  # the client sees what it sent
    assert err.value.to_dict() == {"error": err.value.message}


@given(
    st.floats(-180, 180),
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(-90, 90),
)
def test_any_ordered_box_in_range_parses_back_to_itself(x1, y1, x2, y2):
    box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    assert parse_bbox(",".join(repr(v) for v in box)) == box


@given(st.text(max_size=40))
def test_bbox_never_fails_other_than_with_a_client_error(text):
    try:
        box = parse_bbox(text)
    except ApiError as err:
        assert 400 <= err.status < 500
    else:
        assert box is None or len(box) == 4


# ------------------------------------------------------------------ parse_ids
@pytest.mark.parametrize("text", [None, "", "  "])
def test_absent_ids_are_none(text):
    assert parse_ids(text) is None


@pytest.mark.parametrize(
    "text, ids",
    [
        ("330109", ["330109"]),
        ("330109,330381", ["330109", "330381"]),
        (" 330109 , 330381 ,", ["330109", "330381"]),  # blanks and a trailing comma are forgiven
        ("a,,b", ["a", "b"]),
        ("杭州城西科创大走廊", ["杭州城西科创大走廊"]),
        ("330109,330109", ["330109"]),  # a repeat is dropped: the ids cap counts distinct ids
    ],
)
def test_good_ids(text, ids):
    assert parse_ids(text) == ids


@pytest.mark.parametrize("text", [",", ",,,", " , , "])
def test_only_commas_is_a_400(text):
    with pytest.raises(BadRequest, match="comma-separated list of feature ids") as err:
        parse_ids(text)
    assert err.value.status == 400


# ------------------------------------------------------------------ int_arg
def test_int_arg_reads_the_named_parameter():
    assert int_arg({"zoom": "8"}, "zoom", low=0, high=18) == 8
    assert int_arg({"zoom": "0"}, "zoom", low=0, high=18) == 0
    assert int_arg({"zoom": "18"}, "zoom", low=0, high=18) == 18
    assert int_arg({"offset": "123456"}, "offset", low=0) == 123456  # no upper bound


@pytest.mark.parametrize("args", [{}, {"zoom": ""}, {"other": "3"}])
def test_int_arg_absent_gives_the_default(args):
    assert int_arg(args, "zoom", low=0, high=18) is None
    assert int_arg(args, "zoom", low=0, high=18, default=7) == 7


def test_int_arg_clamps_only_when_asked():
    assert int_arg({"limit": "5000"}, "limit", low=1, high=1000, clamp=True) == 1000
    with pytest.raises(BadRequest, match=r"limit must be from 1 to 1000, got 5000"):
        int_arg({"limit": "5000"}, "limit", low=1, high=1000)
    with pytest.raises(BadRequest, match=r"limit must be from 1 to 1000, got 0"):  # clamping never lifts a low value
        int_arg({"limit": "0"}, "limit", low=1, high=1000, clamp=True)


@pytest.mark.parametrize(
    "raw, says",
    [
        ("eight", "zoom must be a whole number from 0 to 18, got 'eight'"),
        ("8.5", "zoom must be a whole number from 0 to 18, got '8.5'"),
        ("-1", "zoom must be from 0 to 18, got -1"),
        ("19", "zoom must be from 0 to 18, got 19"),
    ],
)
def test_bad_int_arg_is_a_400_naming_the_range(raw, says):
    with pytest.raises(BadRequest) as err:
        int_arg({"zoom": raw}, "zoom", low=0, high=18)
    assert err.value.message == says
    assert err.value.status == 400


def test_int_arg_without_upper_bound_says_at_least():
    with pytest.raises(BadRequest, match="offset must be a whole number of at least 0, got 'x'"):
        int_arg({"offset": "x"}, "offset", low=0)
    with pytest.raises(BadRequest, match="offset must be of at least 0, got -3"):
        int_arg({"offset": "-3"}, "offset", low=0)
