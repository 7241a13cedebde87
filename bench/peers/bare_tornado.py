"""The floor: a bare Tornado hello-world with one handler returning a small JSON body.

No logging, no metrics, no request ids: what Tornado itself costs per request, to
compare the app against. Serves the same path as the app's liveness route.
"""

import argparse
import asyncio

import tornado.web


class HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(b'{"status": "ok"}')


async def serve(port: int) -> None:
    app = tornado.web.Application([(r"/prod/healthz", HealthHandler)])
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's loop")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(serve(args.port))
    else:
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
