"""Writes bucketing.json: test vectors for Togglerino's bucketing formula.

An implementation independent of the Rust engine, so the vectors check it rather than
echo it. SDKs in other languages prove their hashing against the same file:

    bucket = int.from_bytes(sha256(f"{salt}/{value}".encode("utf-8")).digest()[:8], "big") % 100_000
"""

import hashlib
import json
import pathlib

SALTS = ["new-checkout", "", "exp-2024", "straße", "🚀-launch", "a/b"]
VALUES = [
    "",
    "user-1",
    "user-2",
    "42",
    "1.5",
    "ゆーざー",
    "Ünïcödé ✓",
    "with spaces",
    "x" * 300,
    "😀",
]


def bucket(salt: str, value: str) -> int:
    digest = hashlib.sha256(f"{salt}/{value}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100_000


vectors = [
    {"salt": salt, "value": value, "bucket": bucket(salt, value)}
    for salt in SALTS
    for value in VALUES
]
out = pathlib.Path(__file__).with_name("bucketing.json")
out.write_text(json.dumps(vectors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(f"wrote {len(vectors)} vectors to {out}")
