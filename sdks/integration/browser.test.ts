// Real pages in Debian's Chromium against a real edge: the browser bundle shows a
// flag's answer and updates within a second of a toggle made through the management
// API; OpenFeature's official OFREP web provider, with no code of ours, follows the
// edge's OFREP event stream, and closes and resumes it around a hidden page.
import { build } from "esbuild";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundles } from "../javascript/bundles.mjs";
import { launchChromium, startStack, type Stack } from "../../testing/stack.mjs";
import { seedShop, type Shop } from "./shop.js";

let stack: Stack;
let shop: Shop;
let server: Server;
let browser: Browser;
let pageUrl: string;

function page(edgeUrl: string, sdkKey: string): string {
  return `<!doctype html>
<title>checkout</title>
<p id="checkout">loading</p>
<script type="module">
  import { Togglerino } from "/togglerino.min.js";
  const client = new Togglerino({
    baseUrl: ${JSON.stringify(edgeUrl)},
    sdkKey: ${JSON.stringify(sdkKey)},
    project: "shop",
    environment: "production",
    context: { user_id: "browser-user" },
  });
  const show = () => (document.getElementById("checkout").textContent = client.getDetails("checkout").reason);
  client.on("change", show);
  await client.initialize();
  show();
</script>`;
}

function ofrepPage(edgeUrl: string, sdkKey: string): string {
  return `<!doctype html>
<title>ofrep</title>
<p id="checkout">loading</p>
<p id="changes">0</p>
<script>window.OFREP = ${JSON.stringify({ baseUrl: edgeUrl, sdkKey })};</script>
<script type="module" src="/ofrep-page.js"></script>`;
}

/** Makes the page hidden or visible, as switching tabs does. */
function setVisibility(state: string) {
  Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
  Object.defineProperty(document, "hidden", { value: state === "hidden", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}

beforeAll(async () => {
  stack = await startStack("sdk_browser", { edgeArgs: ["--cors-origin", "*"] });
  shop = await seedShop(stack.cpUrl);
  const result = await build({ ...bundles.browser, write: false });
  const bundle = result.outputFiles?.[0]?.contents;
  if (!bundle) throw new Error("esbuild wrote nothing");
  const ofrep = await build({
    entryPoints: [new URL("./ofrep-page.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  });
  const ofrepBundle = ofrep.outputFiles?.[0]?.contents;
  if (!ofrepBundle) throw new Error("esbuild wrote nothing");
  const pages: Record<string, [string, string | Uint8Array]> = {
    "/": ["text/html", page(stack.edgeUrl, shop.sdkKey)],
    "/togglerino.min.js": ["text/javascript", bundle],
    "/ofrep": ["text/html", ofrepPage(stack.edgeUrl, shop.sdkKey)],
    "/ofrep-page.js": ["text/javascript", ofrepBundle],
  };
  server = createServer((request, response) => {
    const [type, body] = pages[request.url ?? "/"] ?? ["text/plain", "not found"];
    response.writeHead(type === "text/plain" ? 404 : 200, { "content-type": type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await launchChromium(chromium);
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await stack?.stop();
});

describe("the browser bundle in Chromium", () => {
  it("shows a flag's answer and updates within a second of a toggle", async () => {
    const tab = await browser.newPage();
    const problems: string[] = [];
    tab.on("pageerror", (error) => problems.push(String(error)));
    await tab.goto(pageUrl);
    await tab.waitForFunction(() => document.getElementById("checkout")?.textContent === "DISABLED", null, {
      timeout: 10_000,
    });
    const started = Date.now();
    await shop.toggle(true);
    await tab.waitForFunction(() => document.getElementById("checkout")?.textContent === "DEFAULT", null, {
      timeout: 1_000 + (Date.now() - started),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(problems).toEqual([]);
  });

  it("works with OpenFeature's OFREP web provider: change events, refetch, inactivity", async () => {
    const tab = await browser.newPage();
    const problems: string[] = [];
    tab.on("pageerror", (error) => problems.push(String(error)));
    const text = (id: string) => tab.evaluate((id) => document.getElementById(id)?.textContent, id);
    const waitText = (id: string, expected: string, timeout: number) =>
      tab.waitForFunction(
        ({ id, expected }) => document.getElementById(id)?.textContent === expected,
        { id, expected },
        { timeout },
      );
    await shop.toggle(false);
    await tab.goto(`${pageUrl}ofrep`);
    await waitText("checkout", "false DISABLED", 10_000);

    // A toggle reaches the provider through the bulk answer's event stream.
    await shop.toggle(true);
    await waitText("checkout", "false STATIC", 3_000);
    expect(await text("changes")).toBe("1");

    // Hidden past its inactivity delay, the provider closes the stream and hears nothing;
    // shown again, it refetches and catches up.
    await tab.evaluate(setVisibility, "hidden");
    await new Promise((r) => setTimeout(r, 2_000));
    await shop.toggle(false);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await text("checkout")).toBe("false STATIC");
    await tab.evaluate(setVisibility, "visible");
    await waitText("checkout", "false DISABLED", 5_000);
    expect(problems).toEqual([]);
  });
});
