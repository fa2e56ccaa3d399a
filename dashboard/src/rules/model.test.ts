import { evenSplit, operandFor, regexProblem, semverProblem, totalWeight, withOperator, withServeMode } from "./model";

test("an even split always sums to exactly 100 with 3 decimals", () => {
  for (let n = 1; n <= 9; n++) {
    const split = evenSplit(Array.from({ length: n }, (_, i) => `v${i}`));
    expect(totalWeight(split)).toBe(100);
    for (const { weight } of split) expect(Math.round(weight * 1000)).toBeCloseTo(weight * 1000, 6);
  }
  expect(evenSplit(["a", "b", "c"]).map((w) => w.weight)).toEqual([33.334, 33.333, 33.333]);
});

test("changing the operator keeps what still fits and drops what cannot apply", () => {
  expect(withOperator({ attribute: "plan", operator: "equals", value: "gold" }, "in")).toEqual({
    attribute: "plan",
    operator: "in",
    value: ["gold"],
  });
  expect(withOperator({ attribute: "plan", operator: "equals", value: "gold", case_insensitive: true }, "exists")).toEqual({
    attribute: "plan",
    operator: "exists",
  });
  expect(withOperator({ attribute: "plan", operator: "equals", value: "x" }, "in_segment")).toEqual({
    operator: "in_segment",
    value: "x",
  });
  expect(operandFor("greater_than", "12")).toBe(0);
});

test("serve modes switch between a variant, a percentage and a split", () => {
  const variants = [
    { key: "on", value: true },
    { key: "off", value: false },
  ];
  const rule = { conditions: [], variant: "on" };
  const percentage = withServeMode(rule, "percentage", variants);
  expect(percentage).toEqual({ conditions: [], variant: "on", percentage_rollout: 50 });
  const split = withServeMode(percentage, "split", variants);
  expect(split).toEqual({ conditions: [], rollout: [{ variant: "on", weight: 50 }, { variant: "off", weight: 50 }] });
  expect(withServeMode(split, "variant", variants)).toEqual({ conditions: [], variant: "on" });
});

test("regexes Rust rejects are caught in the browser", () => {
  expect(regexProblem("^[a-z]+@acme\\.com$", false)).toBeUndefined();
  expect(regexProblem("a(?=b)", false)).toMatch(/look-around/);
  expect(regexProblem("(a)\\1", false)).toMatch(/back-references/);
  expect(regexProblem("(ab", false)).toBeDefined();
  expect(semverProblem("1.4.0-beta.1")).toBeUndefined();
  expect(semverProblem("1.4")).toBeDefined();
});
