// Browser tests' helpers: the stack from testing/stack.mjs, Chromium, screenshots.

import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { launchChromium } from "../../testing/stack.mjs";

export { apiSession, startStack } from "../../testing/stack.mjs";

export function launchBrowser() {
  return launchChromium(chromium);
}

const screenshots = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");

/** Saves what the page shows now as docs/screenshots/NAME.png, for the README. */
export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}
