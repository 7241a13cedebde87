"""Every route of the service, every bad input, and the headers every response carries."""

from __future__ import annotations

import re
import sys
import uuid

from service_testcase import ServiceTestCase

UUID4_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def reference_fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class TestRoutes(ServiceTestCase):
    def test_root_says_hello_with_version_and_env(self) -> None:
        for path in ("/dev/", "/dev"):
            response = self.request(path)
            assert response.code == 200, path
            body = self.json(response)
            assert body["version"] == "1.2.3"
            assert body["env"] == "dev"
            assert "hello" in body["message"]

    def test_healthz_is_ok(self) -> None:
        response = self.request("/dev/healthz")
        assert response.code == 200
        assert self.json(response) == {"status": "ok"}

    def test_readyz_is_200_once_started(self) -> None:
        response = self.request("/dev/readyz")
        assert response.code == 200
        assert self.json(response) == {"status": "ready"}

    def test_readyz_is_503_while_draining(self) -> None:
        self.state.ready = False
        self.state.draining = True
        response = self.request("/dev/readyz")
        assert response.code == 503
        assert self.json(response) == {"error": "shutting down"}
        # Draining still serves everything else.
        assert self.request("/dev/fibo?n=10").code == 200

    def test_fibo_10_is_55(self) -> None:
        response = self.request("/dev/fibo?n=10")
        assert response.code == 200
        assert response.body == b'{"result": 55}'

    def test_fibo_small_values_are_exact(self) -> None:
        for n in (0, 1, 2, 3, 50, 92, 93, 94, 300):
            assert self.json(self.request(f"/dev/fibo?n={n}")) == {"result": reference_fibonacci(n)}, n

    def test_fibo_max_n_100000_is_exact(self) -> None:
        response = self.request("/dev/fibo?n=100000")
        assert response.code == 200
        digits = response.body.decode()[len('{"result": ') : -1]
        assert len(digits) == 20899
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)  # only for this comparison; the app itself never changes it
        try:
            assert digits == str(reference_fibonacci(100000))
        finally:
            sys.set_int_max_str_digits(limit)

    def test_fibo_accepts_leading_zeros(self) -> None:
        assert self.json(self.request("/dev/fibo?n=0010")) == {"result": 55}
        assert self.json(self.request("/dev/fibo?n=000")) == {"result": 0}

    def test_fibo_ignores_other_query_parameters(self) -> None:
        assert self.json(self.request("/dev/fibo?x=1&n=10&y=")) == {"result": 55}

    def test_bad_n_gets_400_with_a_reason(self) -> None:
        cases = {
            "/dev/fibo": "n is required",
            "/dev/fibo?m=3": "n is required",
            "/dev/fibo?n=": "n is empty",
            "/dev/fibo?n": "n is empty",
            "/dev/fibo?n=abc": "non-negative decimal integer without sign, got 'abc'",
            "/dev/fibo?n=1.5": "got '1.5'",
            "/dev/fibo?n=1e3": "got '1e3'",
            "/dev/fibo?n=0x10": "got '0x10'",
            "/dev/fibo?n=-5": "got '-5'",
            "/dev/fibo?n=%2B5": "got '+5'",
            "/dev/fibo?n=+5": "got ' 5'",  # '+' in a query string is a space
            "/dev/fibo?n=5%20": "got '5 '",
            "/dev/fibo?n=%EF%BC%95": "got '\uff15'",  # FULLWIDTH DIGIT FIVE is not ASCII decimal
            "/dev/fibo?n=%00": "without sign",
            "/dev/fibo?n=1&n=2": "given once, got it 2 times",
            "/dev/fibo?n=1&n=1": "given once, got it 2 times",
        }
        for path, reason in cases.items():
            response = self.request(path)
            assert response.code == 400, (path, response.code, response.body)
            error = self.json(response)["error"]
            assert reason in error, (path, error)

    def test_over_limit_names_the_limit(self) -> None:
        for n in ("100001", "999999999", "1" * 60):
            response = self.request(f"/dev/fibo?n={n}")
            assert response.code == 422, (n, response.body)
            error = self.json(response)["error"]
            assert "max_n=100000" in error, error
            assert "above the limit" in error

    def test_other_methods_get_405_with_json(self) -> None:
        for path in ("/dev/", "/dev/healthz", "/dev/readyz", "/dev/fibo?n=1", "/dev/metrics"):
            for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
                response = self.request(path, method=method)
                assert response.code == 405, (method, path, response.code)
                assert response.headers["Allow"] == "GET"
                if method != "HEAD":
                    assert self.json(response) == {
                        "error": f"method {method} is not allowed on {path.split('?')[0]}; use GET"
                    }

    def test_unknown_path_gets_404_with_json(self) -> None:
        for path in ("/", "/dev/nope", "/prod/healthz", "/dev/healthz/x", "/devhealthz"):
            response = self.request(path)
            assert response.code == 404, path
            assert self.json(response)["error"].startswith("no route "), path

    def test_internal_error_is_json_without_traceback(self) -> None:
        def explode(n: int) -> bytes:
            raise RuntimeError("secret internals")

        self.state.fibo.body = explode  # type: ignore[method-assign]
        response = self.request("/dev/fibo?n=3")
        assert response.code == 500
        assert self.json(response) == {"error": "internal server error"}
        assert b"Traceback" not in response.body and b"secret" not in response.body
        # The traceback goes to the server's own log, as JSON.
        errors = [line for line in self.log_lines() if line["level"] == "ERROR"]
        assert any("secret internals" in line.get("exception", "") for line in errors), errors


class TestHeaders(ServiceTestCase):
    def test_sane_request_id_is_echoed(self) -> None:
        for request_id in ("abc-123", "A.b_c-9", "x" * 128, str(uuid.uuid4())):
            response = self.request("/dev/healthz", headers={"X-Request-ID": request_id})
            assert response.headers["X-Request-ID"] == request_id

    def test_insane_request_id_is_replaced_by_a_uuid4(self) -> None:
        for request_id in ("x" * 129, "a b", "<script>", "id;drop", "ünïcode", ""):
            response = self.request("/dev/healthz", headers={"X-Request-ID": request_id})
            echoed = response.headers["X-Request-ID"]
            assert echoed != request_id
            assert UUID4_RE.fullmatch(echoed), echoed

    def test_missing_request_id_gets_a_new_uuid4_each_time(self) -> None:
        first = self.request("/dev/healthz").headers["X-Request-ID"]
        second = self.request("/dev/healthz").headers["X-Request-ID"]
        assert UUID4_RE.fullmatch(first) and UUID4_RE.fullmatch(second)
        assert first != second

    def test_errors_carry_request_id_and_version(self) -> None:
        for path, method, status in (
            ("/dev/fibo?n=x", "GET", 400),
            ("/dev/fibo?n=100001", "GET", 422),
            ("/nope", "GET", 404),
            ("/dev/healthz", "POST", 405),
        ):
            response = self.request(path, method=method, headers={"X-Request-ID": "trace-1"})
            assert response.code == status
            assert response.headers["X-Request-ID"] == "trace-1", path
            assert response.headers["X-App-Version"] == "1.2.3", path

    def test_every_route_carries_the_version(self) -> None:
        for path in ("/dev/", "/dev/healthz", "/dev/readyz", "/dev/fibo?n=1", "/dev/metrics"):
            assert self.request(path).headers["X-App-Version"] == "1.2.3", path


class TestNotReady(ServiceTestCase):
    ready = False

    def test_readyz_is_503_until_started(self) -> None:
        response = self.request("/dev/readyz")
        assert response.code == 503
        assert self.json(response) == {"error": "starting"}
        assert self.request("/dev/healthz").code == 200


class TestProdPrefix(ServiceTestCase):
    config_values = {"env": "prod", "log_level": "INFO"}

    def test_routes_live_under_prod(self) -> None:
        assert self.json(self.request("/prod/fibo?n=10")) == {"result": 55}
        assert self.request("/prod/healthz").code == 200
        assert self.request("/dev/healthz").code == 404


class TestSmallLimit(ServiceTestCase):
    config_values = {"max_n": 10}

    def test_limit_follows_config(self) -> None:
        assert self.request("/dev/fibo?n=10").code == 200
        response = self.request("/dev/fibo?n=11")
        assert response.code == 422
        assert self.json(response) == {"error": "n=11 is above the limit max_n=10"}
