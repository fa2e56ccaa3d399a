import { useState } from "react";
import { fireEvent, render, screen } from "@testing-library/react";

import type { WeightedVariant } from "./model";
import { RolloutSplit } from "./RolloutSplit";

const variants = [
  { key: "control", value: "a" },
  { key: "treatment", value: "b" },
];

function Harness({ initial }: { initial: WeightedVariant[] }) {
  const [rollout, setRollout] = useState(initial);
  return (
    <>
      <RolloutSplit rollout={rollout} variants={variants} onChange={setRollout} />
      <pre aria-label="rollout">{JSON.stringify(rollout)}</pre>
    </>
  );
}

test("the total is shown live and must be exactly 100", () => {
  render(
    <Harness
      initial={[
        { variant: "control", weight: 50 },
        { variant: "treatment", weight: 50 },
      ]}
    />,
  );
  expect(screen.getByRole("status")).toHaveTextContent("Total 100%");
  fireEvent.change(screen.getByLabelText("treatment weight"), { target: { value: "30.5" } });
  expect(screen.getByRole("status")).toHaveTextContent("Total 80.5% — must be exactly 100 (19.5 left)");
  fireEvent.change(screen.getByLabelText("control weight"), { target: { value: "69.5" } });
  expect(screen.getByRole("status")).toHaveTextContent("Total 100%");
  expect(JSON.parse(screen.getByLabelText("rollout").textContent ?? "")).toEqual([
    { variant: "control", weight: 69.5 },
    { variant: "treatment", weight: 30.5 },
  ]);
});

test("weights beyond 3 decimals or 100 are flagged", () => {
  render(<Harness initial={[{ variant: "control", weight: 100 }]} />);
  fireEvent.change(screen.getByLabelText("control weight"), { target: { value: "33.3333" } });
  expect(screen.getByText("at most 3 decimals")).toBeInTheDocument();
  fireEvent.change(screen.getByLabelText("control weight"), { target: { value: "120" } });
  expect(screen.getByText("between 0 and 100")).toBeInTheDocument();
  expect(screen.getByRole("status")).toHaveTextContent("20 too many");
});

test("a variant missing from the split gets a row at 0", () => {
  render(<Harness initial={[{ variant: "control", weight: 100 }]} />);
  expect(screen.getByLabelText("treatment weight")).toHaveValue(0);
});
