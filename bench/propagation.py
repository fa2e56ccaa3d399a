"""Toggle-to-client propagation: opens N SDK streams spread over the given edges, toggles
a flag through the control plane, and reports how long each client took to receive its
patch. Plain asyncio sockets, no dependencies.

Usage: python3 propagation.py CONTROL_PLANE_URL SDK_KEY CLIENTS EDGE_URL [EDGE_URL...]
Needs the control plane's admin credentials from setup.py (bench@example.com).
"""

import asyncio
import base64
import http.cookiejar
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request

CONTROL_PLANE, SDK_KEY, CLIENTS = sys.argv[1], sys.argv[2], int(sys.argv[3])
EDGES = sys.argv[4:]
FLAG = "flag-00000"


async def client(edge, index, connected, patched):
    url = urllib.parse.urlparse(edge)
    # Ten distinct contexts: shared evaluation is part of what is measured.
    context = base64.urlsafe_b64encode(json.dumps({"user_id": f"user-{index % 10}"}).encode()).decode().rstrip("=")
    # A first `flags` event with thousands of flags is one long line.
    reader, writer = await asyncio.open_connection(url.hostname, url.port, limit=64 * 1024 * 1024)
    path = f"/api/v1/stream/bench/production?context={context}&sdk_key={SDK_KEY}"
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    event = None
    while True:
        line = await reader.readline()
        if not line:
            return
        text = line.decode().strip()
        if text.startswith("event: "):
            event = text[7:]
            if event == "flags":
                connected.set_result(None) if not connected.done() else None
        elif text.startswith("data: ") and event == "patch" and FLAG in text:
            patched.append(time.monotonic())
            writer.close()
            return


def toggle(enabled):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None, csrf=None):
        request = urllib.request.Request(CONTROL_PLANE + path, data=None if body is None else json.dumps(body).encode(), method=method)
        request.add_header("content-type", "application/json")
        if csrf:
            request.add_header("x-csrf-token", csrf)
        with opener.open(request) as response:
            return json.loads(response.read() or b"null")

    csrf = call("POST", "/api/v1/auth/login", {"email": "bench@example.com", "password": "bench-password"})["csrf_token"]
    path = f"/api/v1/projects/bench/flags/{FLAG}/environments/production"
    version = call("GET", path)["version"]
    started = time.monotonic()
    call("POST", path + "/toggle", {"enabled": enabled, "version": version}, csrf)
    return started


async def main():
    patched = []
    connections = []
    tasks = []
    for index in range(CLIENTS):
        connected = asyncio.get_running_loop().create_future()
        connections.append(connected)
        tasks.append(asyncio.create_task(client(EDGES[index % len(EDGES)], index, connected, patched)))
        if index % 200 == 199:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*connections), timeout=120)
    print(f"{CLIENTS} clients connected to {len(EDGES)} edges")
    started = await asyncio.get_running_loop().run_in_executor(None, toggle, True)
    deadline = time.monotonic() + 30
    while len(patched) < CLIENTS and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    delays = sorted((t - started) * 1000 for t in patched)
    if not delays:
        print("no client received the patch")
        sys.exit(1)
    quantile = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"patched {len(delays)}/{CLIENTS} clients: p50 {quantile(0.5):.1f} ms, p99 {quantile(0.99):.1f} ms, "
          f"max {delays[-1]:.1f} ms, mean {statistics.mean(delays):.1f} ms")
    for task in tasks:
        task.cancel()


asyncio.run(main())
