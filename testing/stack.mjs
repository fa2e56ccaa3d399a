// The real thing for tests written in JavaScript (the dashboard's browser tests, the
// SDKs' integration tests): a fresh PostgreSQL database, the control plane binary
// serving the built dashboard, and an edge following it. Nothing is mocked. The
// binaries come from target/debug (build them first). No dependencies: callers that
// drive a browser pass in their own playwright-core.

import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
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

/** Starts a control plane on a new database, and an edge following it (with `edgeArgs`). */
export async function startStack(name, { edgeArgs = [] } = {}) {
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
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const spawnEdge = async () => {
    const child = spawn(
      join(target, "debug", "togglerino-edge"),
      ["--upstream-url", cpUrl, "--edge-token", edgeToken, "--listen", `127.0.0.1:${edgePort}`, ...edgeArgs],
      { env: { ...process.env, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stderr.on("data", (d) => logs.push(`[edge] ${d}`));
    // Ready once it holds a snapshot: the control plane serves one from the start.
    await waitReady(`${edgeUrl}/readyz`, child, "the edge");
    return child;
  };
  let edge = await spawnEdge();
  return {
    cpUrl,
    edgeUrl,
    logs,
    /** Stops the edge (SIGTERM), as an outage would take it away. */
    async stopEdge() {
      await stop(edge);
    },
    /** Starts the edge again on the same address. */
    async startEdge() {
      edge = await spawnEdge();
    },
    /** Runs SQL on the stack's database: for what no API does, such as making data old. */
    sql(query) {
      execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qc", query], { stdio: "pipe" });
    },
    async stop() {
      await stop(edge);
      await stop(controlPlane);
      psql(`DROP DATABASE IF EXISTS ${database}`);
    },
  };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

/** Calls the control plane's API with a session of its own (for checks, not setup). */
export async function apiSession(cpUrl, email, password) {
  return session(cpUrl, "login", { email, password });
}

/** Sets a new instance up with its first admin, and calls the API as that admin. */
export async function setUpAdmin(cpUrl, email = "admin@example.com", password = "admin-password") {
  return session(cpUrl, "setup", { email, password });
}

async function session(cpUrl, how, credentials) {
  const answer = await fetch(`${cpUrl}/api/v1/auth/${how}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  if (!answer.ok) throw new Error(`${how} failed: ${answer.status}`);
  const cookie = answer.headers.get("set-cookie").split(";")[0];
  const { csrf_token: csrf } = await answer.json();
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

/** Debian's Chromium, headless, through the caller's playwright-core `chromium`; never a downloaded browser. */
export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}
