"""Sends exactly N evaluation requests over one keep-alive connection, a different user
on each, as bench/evaluate.lua does; for /healthz, N plain GETs, as wrk sends them.
Usage: requests.py PORT SDK_KEY PATH N"""

import http.client
import json
import sys

port, key, path, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
connection = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    if path == "/healthz":
        connection.request("GET", path)
    else:
        context = {"user_id": f"user-{i}", "attributes": {"country": "NL", "plan": "pro", "version": "2.3.1"}}
        connection.request("POST", path, json.dumps({"context": context}),
                           {"authorization": f"Bearer {key}", "content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
