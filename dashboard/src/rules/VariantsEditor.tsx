import type { FlagType, JsonValue } from "../api/types";
import { ValueInput, initialValue } from "../components/ValueInput";
import { keyProblem } from "../keys";
import type { Variant } from "./model";

/**
 * The values a config can serve. Each value's input fits the flag's type; keys are
 * checked as they are typed and must be unique.
 */
export function VariantsEditor({
  type,
  variants,
  defaultVariant,
  disabled,
  errorFor,
  onChange,
  onDefaultChange,
}: {
  type: FlagType;
  variants: Variant[];
  defaultVariant: string;
  disabled?: boolean;
  errorFor: (field: string) => string | undefined;
  onChange: (variants: Variant[]) => void;
  onDefaultChange: (key: string) => void;
}) {
  const update = (index: number, patch: Partial<Variant>) =>
    onChange(variants.map((v, i) => (i === index ? { ...v, ...patch } : v)));
  const duplicate = (key: string) => variants.filter((v) => v.key === key).length > 1;
  return (
    <fieldset className="variants" disabled={disabled}>
      <legend>Variants</legend>
      {variants.map((variant, index) => {
        const keyError =
          keyProblem("variant", variant.key) ??
          (duplicate(variant.key) ? "variant keys must be unique" : undefined) ??
          errorFor(`variants[${index}].key`);
        return (
          // Index keys: a variant's key is what is being edited.
          <div key={index} className="variant-row" role="group" aria-label={`Variant ${index + 1}`}>
            <label className="variant-key">
              <span>Key</span>
              <input
                value={variant.key}
                aria-invalid={Boolean(keyError)}
                onChange={(e) => {
                  const wasDefault = defaultVariant === variant.key;
                  update(index, { key: e.target.value });
                  if (wasDefault) onDefaultChange(e.target.value);
                }}
              />
              {keyError && <span className="field-error">{keyError}</span>}
            </label>
            <div className="variant-value">
              <ValueInput
                key={`${type}-${index}`}
                label="Value"
                type={type}
                value={variant.value}
                error={errorFor(`variants[${index}].value`)}
                onChange={(value: JsonValue | undefined) => update(index, { value })}
              />
            </div>
            <label className="checkbox">
              <input
                type="radio"
                name="default-variant"
                checked={defaultVariant === variant.key}
                onChange={() => onDefaultChange(variant.key)}
              />{" "}
              Default
            </label>
            {!disabled && (<button
              type="button"
              className="danger"
              aria-label={`Remove variant ${variant.key || index + 1}`}
              disabled={variants.length === 1}
              onClick={() => onChange(variants.filter((_, i) => i !== index))}
            >
              Remove
            </button>)}
          </div>
        );
      })}
      {!disabled && (
        <button
          type="button"
          onClick={() => onChange([...variants, { key: `variant-${variants.length + 1}`, value: initialValue(type) }])}
        >
          Add variant
        </button>
      )}
    </fieldset>
  );
}
