"""An ASGI app for supervise's tests: GET /?SECONDS answers after that
long; its lifespan shutdown says when it ran."""
import asyncio
import sys


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                print("lifespan shutdown", file=sys.stderr, flush=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
    seconds = float(scope.get("query_string") or 0)
    print(f"request started {seconds}", file=sys.stderr, flush=True)
    await asyncio.sleep(seconds)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": f"done {seconds}\n".encode()})
