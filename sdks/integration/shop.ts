// A project `shop` with a boolean flag `checkout`, and an SDK key for production.
import type { Api } from "../../testing/stack.mjs";
import { setUpAdmin } from "../../testing/stack.mjs";

export interface Shop {
  api: Api;
  sdkKey: string;
  /** Turns `checkout` on or off in production through the management API. */
  toggle(enabled: boolean): Promise<void>;
}

async function ok(api: Api, method: string, path: string, body?: unknown) {
  const answer = await api(method, path, body);
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function seedShop(cpUrl: string): Promise<Shop> {
  const api = await setUpAdmin(cpUrl);
  await ok(api, "POST", "/projects", { key: "shop", name: "Shop" });
  await ok(api, "POST", "/projects/shop/flags", { key: "checkout", name: "Checkout", type: "boolean", default_value: false });
  const key = await ok(api, "POST", "/projects/shop/environments/production/sdk-keys", { name: "web", kind: "client" });
  const path = "/projects/shop/flags/checkout/environments/production";
  return {
    api,
    sdkKey: key.key,
    async toggle(enabled) {
      const current = await ok(api, "GET", path);
      await ok(api, "POST", `${path}/toggle`, { enabled, version: current.version });
    },
  };
}
