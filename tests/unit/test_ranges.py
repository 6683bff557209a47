import pytest

from cloudgeo.fileservice.ranges import ByteRange, RangeNotSatisfiable, etag_matches, parse_range


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("", None),
    ("bytes=0-9", ByteRange(0, 9)),
    ("bytes=10-", ByteRange(10, 99)),
    ("bytes=-10", ByteRange(90, 99)),
    ("bytes=-1000", ByteRange(0, 99)),
    ("bytes=90-1000", ByteRange(90, 99)),
    ("bytes=0-0", ByteRange(0, 0)),
    ("items=0-9", None), ("bytes=0-9,20-29", None), ("bytes=9-0", None), ("bytes=a-b", None),
    ("bytes=-", None), ("bytes=5", None),
])
def test_parse_range(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_content_range_header():
    assert ByteRange(10, 19).content_range(100) == "bytes 10-19/100"
    assert ByteRange(10, 19).length == 10


@pytest.mark.parametrize(("header", "match"), [
    ('"abc"', True), ("abc", True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True),
    ('"abd"', False), (None, False), ("", False),
])
def test_if_none_match(header, match):
    assert etag_matches(header, "abc") is match
