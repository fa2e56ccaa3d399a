import { keyFromName, keyProblem } from "./keys";

test("keys follow the control plane's rule", () => {
  expect(keyProblem("flag", "new-checkout_v2.1")).toBeUndefined();
  expect(keyProblem("flag", "")).toBe("flag key must not be empty");
  expect(keyProblem("flag", "New")).toMatch(/lowercase/);
  expect(keyProblem("flag", "-leading")).toMatch(/starting with a letter or digit/);
  expect(keyProblem("flag", "a".repeat(65))).toMatch(/at most 64/);
});

test("names suggest valid keys", () => {
  expect(keyFromName("New Checkout!")).toBe("new-checkout");
  expect(keyFromName("  --Beta banner")).toBe("beta-banner");
  expect(keyProblem("flag", keyFromName("Ünïcode & Co."))).toBeUndefined();
});
