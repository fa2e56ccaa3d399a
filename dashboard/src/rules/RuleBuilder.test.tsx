import { useState } from "react";
import { fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { Rule } from "./model";
import { RuleBuilder } from "./RuleBuilder";

const variants = [
  { key: "on", value: true },
  { key: "off", value: false },
];
const segments = [{ key: "beta", name: "Beta testers" }];

function Harness({ initial, errorFor }: { initial: Rule[]; errorFor?: (field: string) => string | undefined }) {
  const [rules, setRules] = useState(initial);
  return (
    <>
      <RuleBuilder rules={rules} variants={variants} segments={segments} errorFor={errorFor ?? (() => undefined)} onChange={setRules} />
      <pre aria-label="rules">{JSON.stringify(rules)}</pre>
    </>
  );
}

const rules = () => JSON.parse(screen.getByLabelText("rules").textContent ?? "[]") as Rule[];

test("a rule with conditions serves a 50% rollout", async () => {
  render(<Harness initial={[]} />);
  expect(screen.getByText("No rules: everyone gets the default variant.")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Add rule" }));
  await userEvent.click(screen.getByRole("button", { name: "Add condition" }));
  const condition = screen.getByRole("group", { name: "Condition" });
  await userEvent.type(within(condition).getByLabelText("Attribute"), "country");
  await userEvent.selectOptions(within(condition).getByLabelText("Operator"), "in");
  const add = within(condition).getByLabelText("Add a value");
  await userEvent.type(add, "DE{Enter}FR{Enter}");
  await userEvent.selectOptions(screen.getByLabelText("Serve"), "percentage");
  fireEvent.change(screen.getByLabelText("Percentage of matching contexts"), { target: { value: "50" } });
  expect(rules()).toEqual([
    { conditions: [{ attribute: "country", operator: "in", value: ["DE", "FR"] }], variant: "on", percentage_rollout: 50 },
  ]);
});

test("operands fit their operator: numbers, segments, dates, regexes with live validity", async () => {
  render(<Harness initial={[{ conditions: [{ attribute: "age", operator: "equals", value: "" }], variant: "on" }]} />);
  const condition = () => screen.getByRole("group", { name: "Condition" });
  await userEvent.selectOptions(within(condition()).getByLabelText("Operator"), "gte");
  fireEvent.change(within(condition()).getByLabelText("Value"), { target: { value: "18" } });
  expect(rules()[0]?.conditions[0]).toEqual({ attribute: "age", operator: "gte", value: 18 });

  await userEvent.selectOptions(within(condition()).getByLabelText("Operator"), "in_segment");
  expect(within(condition()).queryByLabelText("Attribute")).toBeNull();
  await userEvent.selectOptions(within(condition()).getByLabelText("Segment"), "beta");
  expect(rules()[0]?.conditions[0]).toEqual({ operator: "in_segment", value: "beta" });

  await userEvent.selectOptions(within(condition()).getByLabelText("Operator"), "after");
  fireEvent.change(within(condition()).getByLabelText("Date and time"), { target: { value: "2026-12-01T10:30" } });
  expect(String(rules()[0]?.conditions[0]?.value)).toBe(new Date("2026-12-01T10:30").toISOString());

  await userEvent.selectOptions(within(condition()).getByLabelText("Operator"), "matches");
  fireEvent.change(within(condition()).getByLabelText("Regular expression"), { target: { value: "a(?=b)" } });
  expect(within(condition()).getByRole("alert")).toHaveTextContent("look-around is not supported");
  fireEvent.change(within(condition()).getByLabelText("Regular expression"), { target: { value: "@acme\\.com$" } });
  expect(within(condition()).getByText("valid regex")).toBeInTheDocument();
  await userEvent.click(within(condition()).getByLabelText("ignore case"));
  expect(rules()[0]?.conditions[0]).toEqual({
    attribute: "",
    operator: "matches",
    value: "@acme\\.com$",
    case_insensitive: true,
  });
});

test("rules are reordered and deleted, and server errors show at their rule", async () => {
  render(
    <Harness
      initial={[
        { conditions: [], variant: "on" },
        { conditions: [], rollout: [{ variant: "on", weight: 50 }, { variant: "off", weight: 50 }] },
      ]}
      errorFor={(field) => (field === "targeting_rules[1]" ? "weights must sum to 100" : undefined)}
    />,
  );
  expect(within(screen.getByRole("listitem", { name: "Rule 2" })).getByText("weights must sum to 100")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Move rule 2 up" }));
  expect(rules()[0]?.rollout).toBeDefined();
  expect(rules()[1]?.variant).toBe("on");
  await userEvent.click(screen.getByRole("button", { name: "Delete rule 1" }));
  expect(rules()).toEqual([{ conditions: [], variant: "on" }]);
});
