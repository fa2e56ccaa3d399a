import { useState } from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { FlagType } from "../api/types";
import type { Variant } from "./model";
import { VariantsEditor } from "./VariantsEditor";

function Harness({ type, initial }: { type: FlagType; initial: Variant[] }) {
  const [variants, setVariants] = useState(initial);
  const [defaultVariant, setDefault] = useState(initial[0]?.key ?? "");
  return (
    <>
      <VariantsEditor
        type={type}
        variants={variants}
        defaultVariant={defaultVariant}
        errorFor={(field) => (field === "variants[1].value" ? "server says no" : undefined)}
        onChange={setVariants}
        onDefaultChange={setDefault}
      />
      <pre aria-label="state">{JSON.stringify({ variants, defaultVariant })}</pre>
    </>
  );
}

const state = () => JSON.parse(screen.getByLabelText("state").textContent ?? "{}") as { variants: Variant[]; defaultVariant: string };

test("string variants are added, renamed, made default and removed", async () => {
  render(<Harness type="string" initial={[{ key: "blue", value: "#00f" }]} />);
  expect(screen.getByRole("button", { name: "Remove variant blue" })).toBeDisabled();
  await userEvent.click(screen.getByRole("button", { name: "Add variant" }));
  const second = screen.getByRole("group", { name: "Variant 2" });
  const key = second.querySelector("input") as HTMLInputElement;
  fireEvent.change(key, { target: { value: "Red" } });
  expect(screen.getByText(/use lowercase letters/)).toBeInTheDocument();
  fireEvent.change(key, { target: { value: "blue" } });
  expect(screen.getAllByText("variant keys must be unique")).toHaveLength(2);
  fireEvent.change(key, { target: { value: "red" } });
  fireEvent.change(screen.getAllByLabelText("Value")[1] as HTMLElement, { target: { value: "#f00" } });
  await userEvent.click(screen.getAllByRole("radio")[1] as HTMLElement);
  expect(state()).toEqual({
    variants: [
      { key: "blue", value: "#00f" },
      { key: "red", value: "#f00" },
    ],
    defaultVariant: "red",
  });
  await userEvent.click(screen.getByRole("button", { name: "Remove variant blue" }));
  expect(state().variants).toEqual([{ key: "red", value: "#f00" }]);
});

test("renaming the default variant keeps it the default", () => {
  render(<Harness type="boolean" initial={[{ key: "on", value: true }, { key: "off", value: false }]} />);
  fireEvent.change(screen.getByRole("group", { name: "Variant 1" }).querySelector("input") as HTMLInputElement, {
    target: { value: "enabled" },
  });
  expect(state().defaultVariant).toBe("enabled");
});

test("numbers and JSON are typed, and server errors appear at their variant", () => {
  render(<Harness type="json" initial={[{ key: "a", value: { limit: 1 } }, { key: "b", value: [] }]} />);
  fireEvent.change(screen.getAllByLabelText("Value")[0] as HTMLElement, { target: { value: "{oops" } });
  expect(state().variants[0]?.value).toBeUndefined();
  expect(screen.getByText(/Not valid JSON/)).toBeInTheDocument();
  expect(screen.getByText("server says no")).toBeInTheDocument();
});
