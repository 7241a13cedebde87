"""Run the app's own `httpserver` command with one SO_REUSEPORT listening socket per worker.

A probe of a change suggested to the app (bench/README.md, "Pre-forked workers"): instead of one
socket bound before fork() and shared by every worker, each worker binds its own socket with
SO_REUSEPORT after the fork, and the kernel spreads incoming connections over them. The parent binds
once first (so a taken port still fails at start) and closes that socket before forking. Arguments
are the app's (`--config PATH --address ADDR`).
"""

import sys

from tornado.netutil import bind_sockets

import httpserver.server as server

_listen: dict[str, object] = {}


def bind_probe(port, address=None, **kwargs):  # type: ignore[no-untyped-def]
    for sock in bind_sockets(port, address=address, reuse_port=True, **kwargs):
        sock.close()
    _listen.update(port=port, address=address, kwargs=kwargs)
    return []


_serve = server.serve


async def serve_on_own_socket(config, config_path, sockets, task_id=0):  # type: ignore[no-untyped-def]
    own = bind_sockets(_listen["port"], address=_listen["address"], reuse_port=True, **_listen["kwargs"])
    return await _serve(config, config_path, own, task_id)


if __name__ == "__main__":
    server.bind_sockets = bind_probe
    server.serve = serve_on_own_socket
    sys.exit(server.main())
