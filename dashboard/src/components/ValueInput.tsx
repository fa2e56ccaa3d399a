import { useState } from "react";

import type { FlagType, JsonValue } from "../api/types";
import { Field } from "./ui";

export function initialValue(type: FlagType): JsonValue {
  switch (type) {
    case "boolean":
      return false;
    case "string":
      return "";
    case "number":
      return 0;
    case "json":
      return {};
  }
}

/**
 * An input that fits a flag's type: a checkbox, text, a number, or JSON checked as it
 * is typed. `onChange(undefined)` means the text is not a valid value yet.
 */
export function ValueInput({
  label,
  hint,
  type,
  value,
  error,
  disabled,
  onChange,
}: {
  label: string;
  hint?: string;
  type: FlagType;
  value: JsonValue | undefined;
  error?: string | undefined;
  disabled?: boolean;
  onChange: (value: JsonValue | undefined) => void;
}) {
  const [text, setText] = useState(() => (type === "json" ? JSON.stringify(value ?? {}, null, 2) : String(value ?? "")));
  const [problem, setProblem] = useState<string | undefined>();

  if (type === "boolean") {
    return (
      <div className="field">
        <label className="checkbox">
          <input type="checkbox" checked={value === true} disabled={disabled} onChange={(e) => onChange(e.target.checked)} /> {label}
        </label>
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
    );
  }
  return (
    <Field label={label} error={error ?? problem} hint={hint}>
      {(props) =>
        type === "json" ? (
          <textarea
            {...props}
            className="code"
            rows={5}
            disabled={disabled}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              try {
                onChange(JSON.parse(e.target.value) as JsonValue);
                setProblem(undefined);
              } catch (parseError) {
                onChange(undefined);
                setProblem(`Not valid JSON: ${(parseError as Error).message}`);
              }
            }}
          />
        ) : (
          <input
            {...props}
            type={type === "number" ? "number" : "text"}
            step="any"
            disabled={disabled}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              if (type === "number") {
                const n = Number(e.target.value);
                const ok = e.target.value.trim() !== "" && Number.isFinite(n);
                onChange(ok ? n : undefined);
                setProblem(ok ? undefined : "Enter a number");
              } else {
                onChange(e.target.value);
              }
            }}
          />
        )
      }
    </Field>
  );
}
