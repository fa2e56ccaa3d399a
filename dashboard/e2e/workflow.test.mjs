// An admin's first session, then a viewer's, in headless Chromium against the real
// control plane, edge and PostgreSQL.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { apiSession, launchBrowser, screenshot, startStack } from "./stack.mjs";

const admin = { email: "admin@example.com", password: "correct-horse-battery" };
let stack;
let browser;

before(async () => {
  // Evaluation counts reach the dashboard within a second, not a minute.
  stack = await startStack("workflow", { edgeArgs: ["--usage-interval", "1s", "--heartbeat-interval", "1s"] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function evaluate(sdkKey, flag, context) {
  const response = await fetch(`${stack.edgeUrl}/api/v1/evaluate/shop/development/${flag}`, {
    method: "POST",
    headers: { authorization: `Bearer ${sdkKey}`, "content-type": "application/json" },
    body: JSON.stringify({ context }),
  });
  return { status: response.status, body: await response.json() };
}

/** The documented bucketing (docs/evaluation.md), computed independently of the engine. */
function inRollout(salt, userId, percentage) {
  const digest = createHash("sha256").update(`${salt}/${userId}`).digest();
  return digest.readBigUInt64BE(0) % 100000n < BigInt(percentage * 1000);
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

  // The new flag opens on its own page: add a rule that serves "on" to half of the
  // users from Germany, save it, and switch the flag on in development.
  await page.getByRole("heading", { name: /New checkout/ }).waitFor();
  await page.getByRole("tab", { name: "Development" }).click();
  await page.getByRole("button", { name: "Add rule" }).click();
  await page.getByRole("button", { name: "Add condition" }).click();
  const condition = page.getByRole("group", { name: "Condition" });
  await condition.getByLabel("Attribute").fill("country");
  await condition.getByLabel("Operator").selectOption("in");
  await condition.getByLabel("Add a value").fill("DE");
  await condition.getByLabel("Add a value").press("Enter");
  await page.getByLabel("Serve", { exact: true }).selectOption("percentage");
  await page.getByLabel("Variant served").selectOption("on");
  await page.getByLabel("Percentage of matching contexts", { exact: true }).fill("50");
  await screenshot(page, "flag-rules");
  await page.getByRole("button", { name: "Save Development" }).click();
  await page.getByText(/^Version 2/).waitFor();
  const enabled = page.getByRole("switch", { name: "new-checkout enabled in Development" });
  await enabled.click();
  await until(async () => (await enabled.getAttribute("aria-checked")) === "true", "the flag to show on");
  // Switching is saved at once: it leaves nothing unsaved behind.
  assert.equal(await page.getByRole("button", { name: "Save Development" }).isDisabled(), true);
  await page.getByText(/^Version 3/).waitFor();

  // The playground explains, with the edge's engine, why a context gets what it gets.
  const playground = page.getByRole("region", { name: "Playground" });
  assert.equal(await playground.getByLabel("Environment").inputValue(), "development");
  const insider = Array.from({ length: 100 }, (_, i) => `user-${i}`).find((u) => inRollout("new-checkout", u, 50));
  await playground.getByLabel("User id").fill(insider);
  await playground.getByLabel("Attributes (JSON)").fill('{"country": "FR"}');
  await playground.getByRole("button", { name: "Evaluate" }).click();
  const ruleTrace = playground.getByRole("list", { name: "Rules" });
  await ruleTrace.getByText("Rule 1: a condition did not match").waitFor();
  await playground.getByText("No rule served: the default variant.").waitFor();
  await playground.getByLabel("Attributes (JSON)").fill('{"country": "DE"}');
  await playground.getByRole("button", { name: "Evaluate" }).click();
  await ruleTrace.getByText("Rule 1: served").waitFor();
  await ruleTrace.getByText(/served below 50,000, that is 50%/).waitFor();
  assert.match(await playground.locator(".trace-result").textContent(), /true · variant on · reason SPLIT/);
  await screenshot(page, "playground");

  // A server SDK key for development, shown once.
  await page.getByRole("link", { name: "shop" }).click();
  await page.getByRole("link", { name: "Environments and SDK keys" }).click();
  const developmentCard = page.getByRole("region", { name: "Development" });
  await developmentCard.getByText("No SDK keys yet").waitFor();
  await developmentCard.getByRole("button", { name: "New SDK key" }).click();
  const keyDialog = page.getByRole("dialog", { name: "New SDK key for Development" });
  await keyDialog.getByLabel("Name").fill("checkout-service");
  await keyDialog.getByRole("button", { name: "Create SDK key" }).click();
  const sdkKey = (await keyDialog.getByLabel("The new SDK key").textContent()).trim();
  assert.match(sdkKey, /^sdk_[0-9a-f]{32}$/);
  await screenshot(page, "sdk-key-created");
  await keyDialog.getByRole("button", { name: "Done" }).click();
  await developmentCard.getByRole("cell", { name: "checkout-service" }).waitFor();
  assert.equal(await developmentCard.getByText(sdkKey).count(), 0, "the key is never shown again");

  // An application with that key gets exactly what the rule says.
  await until(async () => (await evaluate(sdkKey, "new-checkout", { user_id: "u0", attributes: { country: "DE" } })).status === 200, "the edge to learn the key");
  await until(async () => {
    const { body } = await evaluate(sdkKey, "new-checkout", { user_id: "u0", attributes: { country: "FR" } });
    return body.reason === "DEFAULT";
  }, "the edge to serve the enabled flag");
  let served = 0;
  for (let i = 0; i < 40; i++) {
    const user = `user-${i}`;
    const { body } = await evaluate(sdkKey, "new-checkout", { user_id: user, attributes: { country: "DE" } });
    const expected = inRollout("new-checkout", user, 50)
      ? { value: true, variant: "on", reason: "SPLIT" }
      : { value: false, variant: "off", reason: "DEFAULT" };
    assert.deepEqual(body, expected, user);
    if (body.value) served++;
    // Outside the rule's condition, nobody gets it.
    const other = await evaluate(sdkKey, "new-checkout", { user_id: user, attributes: { country: "FR" } });
    assert.deepEqual(other.body, { value: false, variant: "off", reason: "DEFAULT" });
  }
  assert.ok(served > 5 && served < 35, `${served} of 40 in a 50% rollout`);

  await page.getByRole("link", { name: "Flags", exact: true }).click();
  const development = page.getByRole("switch", { name: "new-checkout in Development" });
  await development.waitFor();
  assert.equal(await development.getAttribute("aria-checked"), "true");
  assert.equal(await page.getByRole("switch", { name: "new-checkout in Production" }).getAttribute("aria-checked"), "false");
  await screenshot(page, "flags");

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

  await page.getByRole("link", { name: "Shop" }).click();
  await page.getByRole("link", { name: "New checkout" }).click();
  await page.getByRole("tab", { name: "Development" }).waitFor();
  assert.equal(await page.getByRole("button", { name: /^Save/ }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Add rule" }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Add variant" }).count(), 0);
  assert.equal(await page.getByRole("switch", { name: "new-checkout enabled in Development" }).isDisabled(), true);
  assert.equal(await page.getByRole("button", { name: /Delete|Remove|Archive/ }).count(), 0);

  const asViewer = await apiSession(stack.cpUrl, viewer.email, viewer.password);
  const refused = await asViewer("POST", "/projects/shop/flags/new-checkout/environments/development/toggle", {
    enabled: false,
    version: 2,
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, "forbidden");
  await context.close();
});

test("two admins editing one config: the second save gets the 409 flow", async () => {
  const sessions = [];
  for (let i = 0; i < 2; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.cpUrl}/projects/shop/flags/new-checkout?env=production`);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill(admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Add rule" }).waitFor();
    sessions.push({ context, page });
  }
  const [first, second] = sessions.map((s) => s.page);

  await first.getByRole("button", { name: "Add rule" }).click();
  await first.getByLabel("Variant served").selectOption("on");
  await first.getByRole("button", { name: "Save Production" }).click();
  await first.getByText(/^Version 2/).waitFor();

  await second.getByRole("button", { name: "Add variant" }).click();
  await second.getByRole("button", { name: "Save Production" }).click();
  const conflict = second.getByRole("alert").filter({ hasText: "after you opened it" });
  await conflict.waitFor();
  assert.match(await conflict.textContent(), /admin@example\.com saved this environment/);
  await second.getByLabel("Their changes").getByText(/^\+\s+"variant": "on"/).waitFor();
  await screenshot(second, "conflict");
  await second.getByRole("button", { name: "Reload their version (discard mine)" }).click();
  await second.getByText(/^Version 2/).waitFor();
  assert.equal(await second.getByRole("listitem", { name: "Rule 1" }).count(), 1);
  assert.equal(await second.getByRole("group", { name: "Variant 3" }).count(), 0);
  for (const { context } of sessions) await context.close();
});

test("a segment is created, targeted by a rule, and protected while in use", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/projects/shop/segments`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(/No segments yet/).waitFor();

  await page.getByRole("button", { name: "New segment" }).click();
  const dialog = page.getByRole("dialog", { name: "New segment" });
  await dialog.getByLabel("Name").fill("Beta testers");
  await dialog.getByLabel("Always included (user ids, one per line)").fill("ada\ngrace");
  await dialog.getByRole("button", { name: "Add condition" }).click();
  await dialog.getByLabel("Attribute").fill("email");
  await dialog.getByLabel("Operator").selectOption("ends_with");
  await dialog.getByLabel("Value", { exact: true }).fill("@acme.com");
  await dialog.getByRole("button", { name: "Create segment" }).click();
  await page.getByRole("cell", { name: /Beta testers/ }).waitFor();
  await screenshot(page, "segments");

  // Target it from the flag's staging rules.
  await page.goto(`${stack.cpUrl}/projects/shop/flags/new-checkout?env=staging`);
  await page.getByRole("button", { name: "Add rule" }).click();
  await page.getByRole("button", { name: "Add condition" }).click();
  await page.getByLabel("Operator").selectOption("in_segment");
  await page.getByLabel("Segment").selectOption("beta-testers");
  await page.getByRole("button", { name: "Save Staging" }).click();
  await page.getByText(/^Version 2/).waitFor();

  await page.goto(`${stack.cpUrl}/projects/shop/segments`);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog", { name: "Delete segment" }).getByRole("button", { name: "Delete segment" }).click();
  const explained = page.getByRole("alert").filter({ hasText: "cannot be deleted while flag rules use it" });
  await explained.waitFor();
  await explained.getByRole("link", { name: "new-checkout" }).waitFor();
  await context.close();
});

test("admins manage the team and tokens, and every change is in the audit log", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/team`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();

  await page.getByRole("button", { name: "Add person" }).click();
  const add = page.getByRole("dialog", { name: "Add a person" });
  await add.getByLabel("Email").fill("editor@example.com");
  await add.getByLabel("Initial password").fill("editor-password");
  await add.getByRole("button", { name: "Add person" }).click();
  await page.getByRole("cell", { name: "editor@example.com" }).waitFor();
  assert.equal(await page.getByLabel("Role of editor@example.com").inputValue(), "editor");

  // The last admin cannot demote themself.
  await page.getByLabel(`Role of ${admin.email}`).selectOption("viewer");
  await page.getByRole("alert").filter({ hasText: /admin/ }).waitFor();
  assert.equal(await page.getByLabel(`Role of ${admin.email}`).inputValue(), "admin");
  await screenshot(page, "team");

  await page.getByRole("link", { name: "Tokens" }).click();
  const apiTokens = page.getByRole("region", { name: "API tokens" });
  await apiTokens.getByRole("button", { name: "New API token" }).click();
  const dialog = page.getByRole("dialog", { name: "New API token" });
  await dialog.getByLabel("Name").fill("deploy-pipeline");
  await dialog.getByLabel("Role").selectOption("viewer");
  await dialog.getByRole("button", { name: "Create token" }).click();
  const secret = (await dialog.getByLabel("The new token").textContent()).trim();
  assert.match(secret, /^tgl_/);
  await dialog.getByRole("button", { name: "Done" }).click();
  await apiTokens.getByRole("cell", { name: "deploy-pipeline" }).waitFor();
  // The token works, with the role it was given.
  const projects = await fetch(`${stack.cpUrl}/api/v1/projects`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(projects.status, 200);
  await screenshot(page, "tokens");

  // The whole audit log tells every project's story too, and filters it.
  await page.goto(`${stack.cpUrl}/audit`);
  await page.getByText("project.created").first().waitFor();
  await page.getByLabel("Only action").fill("api_token.");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("api_token.created").first().waitFor();
  assert.equal(await page.getByText("project.created").count(), 0);

  // The flag's history shows its config changes with a diff.
  await page.goto(`${stack.cpUrl}/projects/shop/flags/new-checkout`);
  const history = page.getByRole("region", { name: "History" });
  await history.getByText("flag_config.updated").first().waitFor();
  await history.getByRole("button", { name: "Show changes" }).first().click();
  await history.locator(".diff-added").first().waitFor();

  await page.getByRole("link", { name: "shop" }).click();
  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Only changes to flag").fill("new-checkout");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("flag.created").waitFor();
  await screenshot(page, "audit-log");
  await context.close();
});

test("showing archived flags adds them to the list, marked as archived", async () => {
  const api = await apiSession(stack.cpUrl, admin.email, admin.password);
  const created = await api("POST", "/projects/shop/flags", {
    key: "old-banner",
    name: "Old banner",
    type: "boolean",
    default_value: false,
  });
  assert.equal(created.status, 201);
  assert.equal((await api("POST", "/projects/shop/flags/old-banner/archive", {})).status, 200);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/projects/shop/flags`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "New checkout" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Old banner" }).count(), 0);

  // The box shows what the address says, and the router updates the address in a
  // transition: `check()` can look before it lands, so click and wait for the list.
  await page.getByLabel("Show archived flags").click();
  const archivedRow = page.getByRole("row").filter({ has: page.getByRole("link", { name: "Old banner" }) });
  await archivedRow.waitFor();
  assert.equal(await page.getByLabel("Show archived flags").isChecked(), true);
  assert.equal(await page.getByRole("link", { name: "New checkout" }).count(), 1, "active flags stay listed");
  assert.equal(await archivedRow.getByText("archived", { exact: true }).count(), 1);
  await context.close();
});

test("a flag can be hidden from client keys, and says so", async () => {
  const api = await apiSession(stack.cpUrl, admin.email, admin.password);
  const created = await api("POST", "/projects/shop/flags", {
    key: "pricing-engine",
    name: "Pricing engine",
    type: "boolean",
    default_value: false,
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.client_visible, true);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/projects/shop/flags/pricing-engine`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Hide from client keys" }).click();
  await page.getByText("server keys only").waitFor();
  await page.getByRole("button", { name: "Show to client keys" }).waitFor();
  const flag = await api("GET", "/projects/shop/flags/pricing-engine");
  assert.equal(flag.body.client_visible, false);
  await context.close();
});

test("a flag's evaluations show as a chart, the list shows activity, and stale flags are listed", async () => {
  const api = await apiSession(stack.cpUrl, admin.email, admin.password);
  assert.equal(
    (await api("POST", "/projects/shop/flags", { key: "new-search", name: "New search", type: "boolean", default_value: false })).status,
    201,
  );
  const path = "/projects/shop/flags/new-search/environments/production";
  const current = await api("GET", path);
  const configured = await api("PUT", path, {
    enabled: true,
    variants: current.body.variants,
    default_variant: "off",
    targeting_rules: [{ percentage_rollout: 30, variant: "on" }],
    prerequisites: [],
    version: current.body.version,
  });
  assert.equal(configured.status, 200, JSON.stringify(configured.body));
  const key = await api("POST", "/projects/shop/environments/production/sdk-keys", { name: "search", kind: "server" });
  const ask = (user) =>
    fetch(`${stack.edgeUrl}/api/v1/evaluate/shop/production/new-search`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.body.key}`, "content-type": "application/json" },
      body: JSON.stringify({ context: { user_id: user } }),
    }).then((r) => r.json());
  await until(async () => (await ask("probe")).reason !== undefined && (await ask("probe")).reason !== "DISABLED", "the edge to serve the rule");
  const users = Array.from({ length: 60 }, (_, i) => `shopper-${i}`);
  for (const user of users) await ask(user);
  const on = users.filter((u) => inRollout("new-search", u, 30)).length + (inRollout("new-search", "probe", 30) ? 2 : 0);
  const total = users.length + 2;
  // Both probes and sixty shoppers, as the edge reported them.
  await until(async () => {
    const usage = await api("GET", "/projects/shop/flags/new-search/usage?environment=production");
    return usage.body.environments[0].total === total;
  }, "the counts to reach the control plane");

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/projects/shop/flags/new-search?env=production`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  const usage = page.getByRole("region", { name: "Evaluations in Production" });
  await usage.getByText(`${total} evaluations in this range`).waitFor();
  assert.match(await usage.getByTestId("last-evaluated").textContent(), /^Last evaluated (just now|1 minute ago)/);
  const legend = usage.getByRole("list", { name: "Evaluations per variant" });
  assert.equal(await legend.getByRole("listitem").filter({ hasText: /^on/ }).getByRole("strong").textContent(), String(on));
  assert.equal(await legend.getByRole("listitem").filter({ hasText: /^off/ }).getByRole("strong").textContent(), String(total - on));
  assert.match(await usage.getByRole("img").getAttribute("aria-label"), new RegExp(`^Evaluations per hour in Production: ${total} in all`));
  // The history says each change reached the edge, and how fast.
  const history = page.getByRole("region", { name: "History" });
  await history.getByText(/^Reached 1 of 1 edge in [\d,]+ ms, \d+ SDK streams?$/).first().waitFor();
  await usage.getByLabel("Time range").selectOption("1h");
  await usage.getByRole("img", { name: /^Evaluations per minute in Production/ }).waitFor();
  await usage.scrollIntoViewIfNeeded();
  await screenshot(page, "flag-insights");

  // The list: this flag was evaluated; one made today and never asked was not.
  await page.getByRole("link", { name: "shop" }).click();
  await page.getByTestId("activity-new-search").getByText(new RegExp(`^${total} · `)).waitFor();
  assert.equal(await page.getByTestId("activity-pricing-engine").textContent(), "—");

  // A flag made and configured forty days ago, off everywhere and never evaluated.
  stack.sql(`UPDATE flags SET created_at = now() - interval '40 days' WHERE key = 'pricing-engine';
    UPDATE flag_configs SET updated_at = now() - interval '40 days'
    WHERE flag_id = (SELECT id FROM flags WHERE key = 'pricing-engine')`);
  await page.getByRole("link", { name: "Stale flags" }).click();
  const table = page.getByRole("table", { name: "Stale flags" });
  const row = table.getByRole("row").filter({ has: page.getByRole("link", { name: "Pricing engine" }) });
  await row.getByText(/serves everyone one answer — its default value \(off\) in development/).waitFor();
  await row.getByText("never evaluated, and made more than 30 days ago").waitFor();
  assert.equal(await table.getByRole("link", { name: "New search" }).count(), 0, "evaluated and targeted: not stale");
  await screenshot(page, "stale-flags");
  await page.getByLabel("Days").selectOption("60");
  await page.getByText("No stale flags: every flag changed or was evaluated in the last 60 days.").waitFor();
  await context.close();
});

test("the Edges page shows each edge, live and current", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${stack.cpUrl}/edges`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  const table = page.getByRole("table", { name: "Edges" });
  const row = table.getByRole("row").filter({ hasText: stack.edgeUrl.replace("http://", "") });
  await row.getByText("live", { exact: true }).waitFor();
  await row.getByText(/^current \(3 environments\)$/).waitFor();
  assert.match(await row.textContent(), new RegExp(`from ${stack.cpUrl}`));
  await screenshot(page, "edges");
  await context.close();
});
