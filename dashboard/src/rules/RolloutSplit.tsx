import type { Variant, WeightedVariant } from "./model";
import { totalWeight, weightProblem } from "./model";

/**
 * Weights of a split across variants, as percentages: every variant of the config gets
 * a row, and the sum is shown live; the API takes only splits summing to 100.
 */
export function RolloutSplit({
  rollout,
  variants,
  onChange,
}: {
  rollout: WeightedVariant[];
  variants: Variant[];
  onChange: (rollout: WeightedVariant[]) => void;
}) {
  const weightOf = (key: string) => rollout.find((w) => w.variant === key)?.weight ?? 0;
  const total = totalWeight(rollout);
  const set = (key: string, weight: number) => {
    const next = variants.map((v) => ({ variant: v.key, weight: v.key === key ? weight : weightOf(v.key) }));
    onChange(next);
  };
  return (
    <fieldset className="split">
      <legend>Weighted split</legend>
      {variants.map((v) => {
        const weight = weightOf(v.key);
        const problem = weightProblem(weight);
        return (
          <label key={v.key} className="split-row">
            <span className="split-variant">{v.key}</span>
            <input
              type="range"
              min={0}
              max={100}
              step={1}
              value={weight}
              aria-label={`${v.key} share (slider)`}
              onChange={(e) => set(v.key, Number(e.target.value))}
            />
            <input
              type="number"
              min={0}
              max={100}
              step="any"
              className="split-number"
              aria-label={`${v.key} weight`}
              aria-invalid={Boolean(problem)}
              value={weight}
              onChange={(e) => set(v.key, e.target.value === "" ? 0 : Number(e.target.value))}
            />
            <span>%</span>
            {problem && <span className="field-error">{problem}</span>}
          </label>
        );
      })}
      <p className={total === 100 ? "split-total" : "split-total field-error"} role="status" aria-live="polite">
        Total {total}%{total === 100 ? "" : ` — must be exactly 100 (${total < 100 ? `${Math.round((100 - total) * 1000) / 1000} left` : `${Math.round((total - 100) * 1000) / 1000} too many`})`}
      </p>
    </fieldset>
  );
}
