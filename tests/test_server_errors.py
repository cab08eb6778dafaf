"""server.py's one error mapping, over real HTTP: an unexpected exception is a JSON 500 that shows no internals."""

import json
import logging

import pytest

from tests.conftest import Http, serve

SECRET = "secret-detail-7f3a: /srv/private/path.py"


@pytest.fixture(scope="module")
def failing(app):
    """A second app, built in the test, with routes that fail; the shared app is left as it is."""
    from server import create_app

    second = create_app(app.extensions["settings"])

    def boom():
        raise RuntimeError(SECRET)

    def key_error():
        return {"a": 1}["missing-" + SECRET]

    second.add_url_rule("/test-only/boom", "boom", boom)
    second.add_url_rule("/test-only/key-error", "key_error", key_error)
    with serve(second) as base:
        yield Http(base)


@pytest.mark.parametrize("path", ["/test-only/boom", "/test-only/key-error"])
def test_unexpected_error_is_json_500_without_traceback(failing, path, caplog):
    with caplog.at_level(logging.ERROR, logger="kechuang"):
        status, headers, body = failing.get(path)
    assert status == 500
    assert headers["Content-Type"].startswith("application/json")
    text = body.decode("utf-8")
    assert json.loads(text) == {"error": "internal error; it has been logged"}
    for leak in ("Traceback", "secret-detail", "/srv/private", "RuntimeError", "KeyError", 'File "'):
        assert leak not in text
    # ... and it has been logged, with the traceback, on the server side
    logged = [r for r in caplog.records if r.name == "kechuang" and path in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "secret-detail" in str(logged[0].exc_info[1])


def test_the_second_app_still_answers_normally(failing):
    status, body = failing.json("/api/layers")
    assert status == 200 and body["layers"]
    status, message = failing.error("/api/layers/no-such-layer")
    assert status == 404 and "no-such-layer" in message


def test_the_shared_app_has_no_failing_route(http):
    status, _message = http.error("/test-only/boom")
    assert status == 404
