import { useState } from "react";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { FlagType, JsonValue } from "../api/types";
import { ValueInput } from "./ValueInput";

function Harness({ type, initial }: { type: FlagType; initial: JsonValue }) {
  const [value, setValue] = useState<JsonValue | undefined>(initial);
  return (
    <>
      <ValueInput label="Value" type={type} value={value} onChange={setValue} />
      <pre aria-label="current">{value === undefined ? "invalid" : JSON.stringify(value)}</pre>
    </>
  );
}

test("a boolean is a checkbox", async () => {
  render(<Harness type="boolean" initial={false} />);
  await userEvent.click(screen.getByRole("checkbox", { name: "Value" }));
  expect(screen.getByLabelText("current")).toHaveTextContent("true");
});

test("a number must be a number", async () => {
  render(<Harness type="number" initial={0} />);
  const input = screen.getByLabelText("Value");
  await userEvent.clear(input);
  expect(screen.getByLabelText("current")).toHaveTextContent("invalid");
  expect(screen.getByRole("alert")).toHaveTextContent("Enter a number");
  await userEvent.type(input, "2.5");
  expect(screen.getByLabelText("current")).toHaveTextContent("2.5");
  expect(screen.queryByRole("alert")).toBeNull();
});

test("JSON is checked as it is typed", async () => {
  render(<Harness type="json" initial={{}} />);
  const input = screen.getByLabelText("Value");
  await userEvent.clear(input);
  await userEvent.type(input, '{{"limit": 3');
  expect(screen.getByLabelText("current")).toHaveTextContent("invalid");
  expect(screen.getByLabelText("Value")).toHaveAttribute("aria-invalid", "true");
  expect(screen.getByRole("alert")).toHaveTextContent(/Not valid JSON/);
  await userEvent.type(input, "}");
  expect(screen.getByLabelText("current")).toHaveTextContent('{"limit":3}');
});

test("a server error names the field", () => {
  render(<ValueInput label="Default value" type="string" value="x" onChange={() => {}} error="must be a string" />);
  expect(screen.getByLabelText("Default value")).toHaveAccessibleDescription("must be a string");
});
