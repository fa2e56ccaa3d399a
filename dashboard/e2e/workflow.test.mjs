// An admin's first session, then a viewer's, in headless Chromium against the real
// control plane, edge and PostgreSQL.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { apiSession, launchBrowser, screenshot, startStack } from "./stack.mjs";

const admin = { email: "admin@example.com", password: "correct-horse-battery" };
let stack;
let browser;

before(async () => {
  stack = await startStack("workflow");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function evaluate(sdkKey, flag) {
  const response = await fetch(`${stack.edgeUrl}/api/v1/evaluate/shop/development/${flag}`, {
    method: "POST",
    headers: { authorization: `Bearer ${sdkKey}`, "content-type": "application/json" },
    body: JSON.stringify({ context: { user_id: "u1" } }),
  });
  return { status: response.status, body: await response.json() };
}

async function until(check, what) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("an admin sets up Togglerino, creates a project and a flag, and turns it on", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(stack.cpUrl);

  await page.getByRole("heading", { name: "Welcome to Togglerino" }).waitFor();
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password", { exact: true }).fill(admin.password);
  await page.getByLabel("Confirm password").fill("something else");
  await page.getByText("The passwords differ").waitFor();
  await page.getByLabel("Confirm password").fill(admin.password);
  await screenshot(page, "setup");
  await page.getByRole("button", { name: "Create administrator" }).click();

  await page.getByRole("heading", { name: "Projects" }).waitFor();
  await page.getByText("No projects yet.").waitFor();
  await page.getByRole("button", { name: "New project" }).click();
  const projectDialog = page.getByRole("dialog", { name: "New project" });
  await projectDialog.getByLabel("Name").fill("Shop");
  assert.equal(await projectDialog.getByLabel("Key").inputValue(), "shop");
  await projectDialog.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("link", { name: "Shop" }).waitFor();
  await screenshot(page, "projects");

  await page.getByRole("link", { name: "Shop" }).click();
  await page.getByText("No flags yet in this project.").waitFor();
  await page.getByRole("button", { name: "New flag" }).click();
  const flagDialog = page.getByRole("dialog", { name: "New flag" });
  await flagDialog.getByLabel("Name").fill("New checkout");
  await flagDialog.getByLabel("Key").fill("New Checkout");
  await flagDialog.getByText(/use lowercase letters/).waitFor();
  await flagDialog.getByLabel("Key").fill("new-checkout");
  assert.equal(await flagDialog.getByText(/use lowercase letters/).count(), 0);
  await flagDialog.getByLabel("Tags").fill("checkout, beta");
  await flagDialog.getByRole("button", { name: "Create flag" }).click();

  const development = page.getByRole("switch", { name: "new-checkout in Development" });
  await development.waitFor();
  assert.equal(await development.getAttribute("aria-checked"), "false");
  assert.equal(await page.getByRole("switch", { name: "new-checkout in Production" }).getAttribute("aria-checked"), "false");

  // An application with a development SDK key sees the flag off, then on.
  const api = await apiSession(stack.cpUrl, admin.email, admin.password);
  const created = await api("POST", "/projects/shop/environments/development/sdk-keys", { name: "e2e", kind: "server" });
  assert.equal(created.status, 201);
  const sdkKey = created.body.key;
  await until(async () => (await evaluate(sdkKey, "new-checkout")).status === 200, "the edge to learn the key");
  assert.equal((await evaluate(sdkKey, "new-checkout")).body.reason, "DISABLED");

  await development.click();
  await until(async () => (await development.getAttribute("aria-checked")) === "true", "the switch to show on");
  await screenshot(page, "flags");
  const on = await until(async () => {
    const { body } = await evaluate(sdkKey, "new-checkout");
    return body.reason === "DEFAULT" ? body : null;
  }, "the edge to serve the enabled flag");
  assert.deepEqual(on, { value: false, variant: "off", reason: "DEFAULT" });

  // The tag filter narrows the list.
  await page.getByLabel("Filter by tag").selectOption("beta");
  await page.getByText("new-checkout", { exact: true }).waitFor();
  await page.getByPlaceholder("Search by key or name").fill("nothing-matches");
  await page.getByText("No flags match these filters.").waitFor();
  await page.close();
});

test("a viewer sees no write controls, and the API refuses their writes", async () => {
  const api = await apiSession(stack.cpUrl, admin.email, admin.password);
  const viewer = { email: "viewer@example.com", password: "viewer-password" };
  assert.equal((await api("POST", "/users", { ...viewer, role: "viewer" })).status, 201);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/projects/shop/flags`);
  await page.getByRole("heading", { name: "Sign in to Togglerino" }).waitFor();
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByLabel("Email").fill(viewer.email);
  await screenshot(page, "login");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Password").fill(viewer.password);
  await page.getByRole("button", { name: "Sign in" }).click();

  // The deep link survives signing in.
  const toggle = page.getByRole("switch", { name: "new-checkout in Development" });
  await toggle.waitFor();
  assert.equal(await toggle.isDisabled(), true);
  assert.equal(await page.getByRole("button", { name: "New flag" }).count(), 0);
  await page.getByRole("link", { name: "Projects" }).first().click();
  await page.getByRole("link", { name: "Shop" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "New project" }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Delete" }).count(), 0);

  const asViewer = await apiSession(stack.cpUrl, viewer.email, viewer.password);
  const refused = await asViewer("POST", "/projects/shop/flags/new-checkout/environments/development/toggle", {
    enabled: false,
    version: 2,
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, "forbidden");
  await context.close();
});
