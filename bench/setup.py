"""Creates the benchmark's data through the control plane's API: project `bench` with
350 flags shaped like a real project (a third plain toggles, a third targeted, a third
rolled out; one in six with a regex, up to the 200 an environment may hold), an edge
token and an SDK key. Prints `EDGE_TOKEN SDK_KEY`.

Usage: python3 setup.py http://127.0.0.1:18080
"""

import http.cookiejar
import json
import sys
import urllib.request

BASE = sys.argv[1]
FLAGS = int(sys.argv[2]) if len(sys.argv) > 2 else 350
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
csrf = None


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if csrf:
        request.add_header("x-csrf-token", csrf)
    with opener.open(request) as response:
        text = response.read()
        return json.loads(text) if text else None


csrf = call("POST", "/api/v1/auth/setup", {"email": "bench@example.com", "password": "bench-password"})["csrf_token"]
call("POST", "/api/v1/projects", {"key": "bench", "name": "Benchmark"})
call("POST", "/api/v1/projects/bench/segments", {"key": "beta", "name": "Beta", "included": [f"beta-{i}" for i in range(200)]})
# Targeting repeats across flags as it does in real projects, but not all alike: six
# country lists, four e-mail domains (the evaluator decides a condition that several
# rules state once per request, so identical copies would flatter it).
COUNTRIES = [["DE", "FR", "NZ"], ["US", "CA"], ["GB", "IE"], ["JP", "KR", "SG"], ["BR", "AR", "CL", "MX"], ["AU", "NZ"]]
DOMAINS = ["@acme.com", "@example.org", "@corp.io", "@test.dev"]
for i in range(FLAGS):
    key = f"flag-{i:05d}"
    call("POST", "/api/v1/projects/bench/flags", {"key": key, "name": key, "type": "boolean", "default_value": False})
    kind = i % 6
    if kind < 2:
        rules = []
    elif kind == 2:
        rules = [{"conditions": [{"attribute": "country", "operator": "in", "value": COUNTRIES[i // 6 % len(COUNTRIES)]},
                                 {"attribute": "plan", "operator": "not_equals", "value": "free"}], "variant": "on"}]
    elif kind == 3:
        rules = [{"conditions": [{"operator": "in_segment", "value": "beta"}], "variant": "on"},
                 {"conditions": [{"attribute": "email", "operator": "ends_with", "value": DOMAINS[i // 6 % len(DOMAINS)]}], "variant": "on"}]
    elif kind == 4:
        rules = [{"percentage_rollout": 25, "variant": "on"}]
    else:
        # An environment holds at most 200 `matches` conditions; past that, the same
        # test spelled without a regex.
        test = ({"operator": "matches", "value": f"^qa\\+{i}@"} if i < 6 * 200
                else {"operator": "starts_with", "value": f"qa+{i}@"})
        rules = [{"conditions": [{"attribute": "email", **test}], "variant": "on"},
                 {"rollout": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}]}]
    call("PUT", f"/api/v1/projects/bench/flags/{key}/environments/production", {
        "enabled": i % 7 != 0,
        "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
        "default_variant": "off", "targeting_rules": rules, "version": 1})
edge_token = call("POST", "/api/v1/edge-tokens", {"name": "bench"})["secret"]
sdk_key = call("POST", "/api/v1/projects/bench/environments/production/sdk-keys", {"name": "bench", "kind": "server"})["key"]
print(edge_token, sdk_key)
