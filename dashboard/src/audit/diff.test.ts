import { diffJson } from "./diff";

test("only what changed is marked, whatever the key order", () => {
  const before = { enabled: false, variants: [{ key: "on", value: true }], default_variant: "on" };
  const after = { default_variant: "on", enabled: true, variants: [{ key: "on", value: true }] };
  const changed = diffJson(before, after).filter((l) => l.kind !== "same");
  expect(changed).toEqual([
    { kind: "removed", text: '  "enabled": false,' },
    { kind: "added", text: '  "enabled": true,' },
  ]);
});

test("creation and deletion are all added or all removed", () => {
  expect(diffJson(null, { a: 1 }).every((l) => l.kind === "added")).toBe(true);
  expect(diffJson({ a: 1 }, null).every((l) => l.kind === "removed")).toBe(true);
  expect(diffJson(null, null)).toEqual([]);
});
