"""The container image: built offline from the project's scripts, run as non-root on a read-only root
filesystem with every capability dropped, answering on 127.0.0.1, and stopping with exit code 0."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_IMAGE_BYTES = 120 * 1000 * 1000

pytestmark = pytest.mark.image


def run(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout[-4000:]}\n"
            f"stderr:\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    run("bash", "scripts/docker-engine.sh", timeout=600)
    run("bash", "scripts/build-base-image.sh", timeout=1200)
    run("bash", "scripts/build-wheels.sh", timeout=600)
    tag = f"cloudnative/httpserver:imagetest-{uuid.uuid4().hex[:8]}"
    run("docker", "build", "--tag", tag, ".", timeout=900)
    yield tag
    run("docker", "image", "rm", "--force", tag, check=False)


@pytest.fixture
def container(image: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    config = tmp_path / "config.yaml"
    config.write_text("env: dev\nport: 8080\nmax_n: 100000\ndrain_seconds: 1\nshutdown_timeout_seconds: 5\n")
    config.chmod(0o644)
    port = free_port()
    name = f"httpserver-imagetest-{uuid.uuid4().hex[:8]}"
    run(
        "docker", "run", "--detach", "--name", name,
        "--read-only", "--user", "10001", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--publish", f"127.0.0.1:{port}:8080",
        "--volume", f"{config}:/etc/httpserver/config.yaml:ro",
        "--env", "VERSION=v9.9.9-imagetest",
        image,
    )  # fmt: skip
    yield name, port
    run("docker", "rm", "--force", name, check=False)


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_healthy(name: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(port, "/dev/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    logs = run("docker", "logs", name, check=False)
    pytest.fail(f"container not healthy within {timeout}s:\n{logs.stdout}\n{logs.stderr}", pytrace=False)


def test_image_config_is_non_root_exec_form_and_small(image: str) -> None:
    info = json.loads(run("docker", "image", "inspect", image).stdout)[0]
    config = info["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/opt/venv/bin/httpserver"]
    assert config["Cmd"] == ["--config", "/etc/httpserver/config.yaml"]
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["StopSignal"] == "SIGTERM"
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]
    assert info["Size"] < MAX_IMAGE_BYTES, f"image is {info['Size'] / 1e6:.1f} MB"


def test_image_has_no_package_or_build_tools(image: str) -> None:
    found = run(
        "docker", "run", "--rm", "--entrypoint", "/bin/sh", image, "-c",
        "for tool in pip pip3 gcc cc make apt-get; do command -v $tool; done; "
        "/opt/venv/bin/python -c 'import pip' 2>/dev/null && echo 'pip module'; true",
    ).stdout  # fmt: skip
    assert found.strip() == ""


def test_container_serves_as_non_root_read_only_and_stops_cleanly(container: tuple[str, int]) -> None:
    name, port = container
    wait_healthy(name, port)
    status, headers, body = get(port, "/dev/fibo?n=10")
    assert (status, json.loads(body)) == (200, {"result": 55})
    assert headers["X-App-Version"] == "v9.9.9-imagetest"
    assert get(port, "/dev/readyz")[0] == 200
    status, _, body = get(port, "/dev/fibo?n=100000")
    assert status == 200 and len(body) == len(b'{"result": }') + 20899

    top = run("docker", "top", name, "-eo", "uid,pid,args").stdout.splitlines()
    processes = [line.split(None, 2) for line in top[1:]]
    assert len(processes) == 1, f"expected the service alone in the container (as PID 1): {top}"
    assert processes[0][0] == "10001", top
    assert "/opt/venv/bin/httpserver" in processes[0][2]
    state = json.loads(run("docker", "inspect", name).stdout)[0]
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert state["HostConfig"]["CapDrop"] in (["ALL"], ["all"])

    run("docker", "stop", "--time", "20", name, timeout=60)
    state = json.loads(run("docker", "inspect", name).stdout)[0]["State"]
    logs = run("docker", "logs", name).stdout
    assert state["ExitCode"] == 0, logs[-3000:]
    assert not state["OOMKilled"]
    messages = [json.loads(line)["message"] for line in logs.splitlines() if line.startswith("{")]
    assert "stop phase 1/4: readiness is now 503, still serving" in messages
    assert messages[-1] == "stop phase 4/4: connections closed, exiting"
