"""Run the app's own `httpserver` command with uvloop's event loop policy installed first.

The app has no config switch for the event loop (its config keys are fixed by the project's
contract), so the benchmark measures uvloop this way: the app calls asyncio.run(), which takes the
policy, and pre-forked workers inherit it. Arguments are the app's (`--config PATH --address ADDR`).
"""

import asyncio
import sys

import uvloop

from httpserver.server import main

if __name__ == "__main__":
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    sys.exit(main())
