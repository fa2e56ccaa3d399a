// The real thing for browser tests: a fresh PostgreSQL database, the control plane
// binary serving the built dashboard, and an edge following it. Nothing is mocked.

import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const edgeToken = "e2e-pre-shared-edge-token";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitReady(url, child, what) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready at ${url}`);
}

function psql(sql) {
  execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", sql], { stdio: "pipe" });
}

/** Starts a control plane on a new database, and an edge following it. */
export async function startStack(name) {
  const database = `togglerino_e2e_${name}_${process.pid}`;
  psql(`DROP DATABASE IF EXISTS ${database}`);
  psql(`CREATE DATABASE ${database}`);
  const cpPort = await freePort();
  const edgePort = await freePort();
  const logs = [];
  const controlPlane = spawn(join(target, "debug", "togglerino-control-plane"), [], {
    env: {
      ...process.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      TOGGLERINO_LISTEN: `127.0.0.1:${cpPort}`,
      TOGGLERINO_EDGE_TOKEN: edgeToken,
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  controlPlane.stderr.on("data", (d) => logs.push(`[control plane] ${d}`));
  const cpUrl = `http://127.0.0.1:${cpPort}`;
  await waitReady(`${cpUrl}/readyz`, controlPlane, "the control plane");
  const edge = spawn(
    join(target, "debug", "togglerino-edge"),
    ["--upstream-url", cpUrl, "--edge-token", edgeToken, "--listen", `127.0.0.1:${edgePort}`],
    { env: { ...process.env, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  edge.stderr.on("data", (d) => logs.push(`[edge] ${d}`));
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  // Ready once it holds a snapshot: the control plane serves one from the start.
  await waitReady(`${edgeUrl}/readyz`, edge, "the edge");
  return {
    cpUrl,
    edgeUrl,
    logs,
    async stop() {
      for (const child of [edge, controlPlane]) {
        child.kill("SIGTERM");
        await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      }
      psql(`DROP DATABASE IF EXISTS ${database}`);
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

const screenshots = join(root, "docs", "screenshots");

/** Saves what the page shows now as docs/screenshots/NAME.png, for the README. */
export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Calls the control plane's API with a session of its own (for checks, not setup). */
export async function apiSession(cpUrl, email, password) {
  const login = await fetch(`${cpUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!login.ok) throw new Error(`login failed: ${login.status}`);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const { csrf_token: csrf } = await login.json();
  return async (method, path, body) => {
    const response = await fetch(`${cpUrl}/api/v1${path}`, {
      method,
      headers: { cookie, "x-csrf-token": csrf, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}
