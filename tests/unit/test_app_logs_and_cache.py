"""JSON log lines and their levels in dev and prod; the cache bound and its metrics through HTTP."""

from __future__ import annotations

import re

from service_testcase import ServiceTestCase

TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class TestDevLogs(ServiceTestCase):
    def test_request_logs_start_and_end_with_the_request_fields(self) -> None:
        self.request("/dev/fibo?n=10", headers={"X-Request-ID": "req-42"})
        lines = self.log_lines()
        start = next(line for line in lines if line["message"] == "request start")
        end = next(line for line in lines if line["message"] == "request end")
        assert start["level"] == end["level"] == "INFO"
        for line in (start, end):
            assert line["request_id"] == "req-42"
            assert line["method"] == "GET"
            assert line["path"] == "/dev/fibo"
            assert line["client"] == "127.0.0.1"
            assert TIME_RE.fullmatch(line["time"]), line["time"]
        assert end["status"] == 200
        assert isinstance(end["duration_ms"], float) and end["duration_ms"] >= 0

    def test_cache_miss_and_store_are_debug_lines_in_dev(self) -> None:
        self.request("/dev/fibo?n=12")
        self.request("/dev/fibo?n=12")
        debug = [line for line in self.log_lines() if line["level"] == "DEBUG"]
        assert [(line["message"], line["n"]) for line in debug] == [("cache miss", 12), ("cache store", 12)]

    def test_every_line_is_one_json_object_with_time_level_message(self) -> None:
        for path in ("/dev/", "/dev/fibo?n=7", "/dev/fibo?n=x", "/nope", "/dev/metrics"):
            self.request(path)
        raw = self.log_stream.getvalue().splitlines()
        assert len(raw) >= 10
        for line in self.log_lines():
            assert {"time", "level", "message"} <= line.keys(), line

    def test_client_errors_log_their_reason_at_info(self) -> None:
        self.request("/dev/fibo?n=-1")
        end = [line for line in self.log_lines() if line["message"] == "request end"][-1]
        assert (end["level"], end["status"]) == ("INFO", 400)
        assert "got '-1'" in end["error"]


class TestProdLogs(ServiceTestCase):
    config_values = {"env": "prod", "log_level": "INFO"}

    def test_prod_has_no_debug_lines_but_keeps_request_lines(self) -> None:
        self.request("/prod/fibo?n=12")
        self.request("/prod/fibo?n=13")
        levels = {line["level"] for line in self.log_lines()}
        assert "DEBUG" not in levels
        assert self.log_messages("INFO").count("request end") == 2
        # The cache still works: it is only quiet.
        assert len(self.state.fibo.cache) == 2


class TestQuietLevel(ServiceTestCase):
    config_values = {"log_level": "WARNING"}

    def test_warning_level_hides_request_lines(self) -> None:
        self.request("/dev/healthz")
        assert self.log_lines() == []


class TestCacheBound(ServiceTestCase):
    config_values = {"cache_size": 4}

    def test_cache_never_holds_more_than_cache_size(self) -> None:
        for n in range(20):
            assert self.request(f"/dev/fibo?n={n}").code == 200
            assert len(self.state.fibo.cache) <= 4
        assert self.state.fibo.cache.keys() == [16, 17, 18, 19]

    def test_hits_and_misses_are_counted(self) -> None:
        for n in (5, 5, 6, 5, 6, 7):
            self.request(f"/dev/fibo?n={n}")
        metrics = self.request("/dev/metrics").body.decode()
        assert "httpserver_fibo_cache_hits_total 3.0" in metrics
        assert "httpserver_fibo_cache_misses_total 3.0" in metrics
        assert "httpserver_fibo_cache_entries 3.0" in metrics

    def test_evicted_entry_is_a_miss_again(self) -> None:
        for n in (1, 2, 3, 4, 5, 1):  # 1 was evicted by 5
            self.request(f"/dev/fibo?n={n}")
        misses = [line["n"] for line in self.log_lines() if line["message"] == "cache miss"]
        assert misses == [1, 2, 3, 4, 5, 1]


class TestCacheOff(ServiceTestCase):
    config_values = {"cache": False}

    def test_cache_off_stores_nothing_and_logs_no_cache_lines(self) -> None:
        for _ in range(3):
            assert self.request("/dev/fibo?n=30").body == b'{"result": 832040}'
        assert len(self.state.fibo.cache) == 0
        assert not any("cache" in message for message in self.log_messages())


class TestMetrics(ServiceTestCase):
    def test_metrics_count_requests_by_route_and_status(self) -> None:
        self.request("/dev/fibo?n=10")
        self.request("/dev/fibo?n=10")
        self.request("/dev/fibo?n=bad")
        self.request("/dev/healthz")
        self.request("/dev/healthz", method="POST")
        self.request("/elsewhere")
        response = self.request("/dev/metrics")
        assert response.code == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.body.decode()
        for sample in (
            'httpserver_requests_total{method="GET",route="/fibo",status="200"} 2.0',
            'httpserver_requests_total{method="GET",route="/fibo",status="400"} 1.0',
            'httpserver_requests_total{method="GET",route="/healthz",status="200"} 1.0',
            'httpserver_requests_total{method="POST",route="/healthz",status="405"} 1.0',
            'httpserver_requests_total{method="GET",route="other",status="404"} 1.0',
            'httpserver_request_duration_seconds_count{route="/fibo"} 3.0',
            'httpserver_build_info{env="dev",version="1.2.3"} 1.0',
        ):
            assert sample in text, sample
        assert 'httpserver_request_duration_seconds_bucket{le="0.005",route="/fibo"}' in text
        assert "httpserver_requests_in_flight " in text

    def test_unknown_methods_share_one_label(self) -> None:
        self.request("/dev/healthz", method="BREW")
        text = self.request("/dev/metrics").body.decode()
        assert 'httpserver_requests_total{method="OTHER",route="/healthz",status="405"} 1.0' in text
