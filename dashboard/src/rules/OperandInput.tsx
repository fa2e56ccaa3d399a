import { useState } from "react";

import type { JsonValue } from "../api/types";
import { type Operator, type Scalar, operandKind, regexProblem, semverProblem } from "./model";

type ScalarType = "string" | "number" | "boolean";

function typeOf(value: JsonValue | undefined): ScalarType {
  return typeof value === "number" ? "number" : typeof value === "boolean" ? "boolean" : "string";
}

function parseScalar(text: string, type: ScalarType): Scalar | undefined {
  if (type === "string") return text;
  if (type === "boolean") return text === "true";
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) ? n : undefined;
}

/** RFC 3339 in UTC from a datetime-local input, and back. */
function toTimestamp(local: string): string {
  return local ? new Date(local).toISOString() : "";
}
function toLocal(timestamp: JsonValue | undefined): string {
  if (typeof timestamp !== "string" || !timestamp) return "";
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * The operand of a condition, in the input its operator calls for: a typed scalar, a
 * list, text, a live-checked regex, a number, a version, a date, or a segment.
 */
export function OperandInput({
  id,
  operator,
  value,
  caseInsensitive,
  segments,
  readOnly = false,
  onChange,
}: {
  id: string;
  readOnly?: boolean;
  operator: Operator;
  value: JsonValue | undefined;
  caseInsensitive: boolean;
  segments: { key: string; name: string }[];
  onChange: (value: JsonValue) => void;
}) {
  const kind = operandKind(operator);
  const [scalarType, setScalarType] = useState<ScalarType>(() =>
    typeOf(Array.isArray(value) ? (value[0] as JsonValue | undefined) : value),
  );
  const [draft, setDraft] = useState("");

  switch (kind) {
    case "none":
      return null;
    case "segment":
      return (
        <select id={id} aria-label="Segment" value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.target.value)}>
          <option value="" disabled>
            Choose a segment
          </option>
          {segments.map((s) => (
            <option key={s.key} value={s.key}>
              {s.name} ({s.key})
            </option>
          ))}
        </select>
      );
    case "scalar":
      return (
        <span className="operand">
          <TypePicker type={scalarType} onChange={(t) => {
            setScalarType(t);
            onChange(parseScalar(String(value ?? ""), t) ?? (t === "number" ? 0 : t === "boolean" ? false : ""));
          }} />
          {scalarType === "boolean" ? (
            <select id={id} aria-label="Value" value={String(value === true)} onChange={(e) => onChange(e.target.value === "true")}>
              <option value="true">true</option>
              <option value="false">false</option>
            </select>
          ) : (
            <input
              id={id}
              aria-label="Value"
              type={scalarType === "number" ? "number" : "text"}
              step="any"
              value={String(value ?? "")}
              onChange={(e) => {
                const parsed = parseScalar(e.target.value, scalarType);
                if (parsed !== undefined) onChange(parsed);
              }}
            />
          )}
        </span>
      );
    case "list": {
      const items = Array.isArray(value) ? (value as Scalar[]) : [];
      const add = () => {
        const parsed = parseScalar(draft.trim(), scalarType);
        if (draft.trim() === "" || parsed === undefined || items.includes(parsed)) return;
        onChange([...items, parsed]);
        setDraft("");
      };
      return (
        <span className="operand operand-list">
          <TypePicker type={scalarType} onChange={setScalarType} />
          <ul className="chips" aria-label="Values">
            {items.map((item, index) => (
              <li key={`${typeof item}:${String(item)}`} className="chip">
                <span>{typeof item === "string" ? item : JSON.stringify(item)}</span>
                {!readOnly && (
                  <button type="button" aria-label={`Remove ${String(item)}`} onClick={() => onChange(items.filter((_, i) => i !== index))}>
                    ×
                  </button>
                )}
              </li>
            ))}
          </ul>
          {!readOnly && <input
            id={id}
            aria-label="Add a value"
            placeholder="Type a value, press Enter"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" || e.key === ",") {
                e.preventDefault();
                add();
              }
            }}
            onBlur={add}
          />}
          {items.length === 0 && <span className="field-error">at least one value</span>}
        </span>
      );
    }
    case "number":
      return (
        <input
          id={id}
          aria-label="Value"
          type="number"
          step="any"
          value={typeof value === "number" ? value : ""}
          onChange={(e) => {
            const n = Number(e.target.value);
            if (e.target.value.trim() !== "" && Number.isFinite(n)) onChange(n);
          }}
        />
      );
    case "timestamp":
      return (
        <input
          id={id}
          aria-label="Date and time"
          type="datetime-local"
          value={toLocal(value)}
          onChange={(e) => onChange(toTimestamp(e.target.value))}
        />
      );
    case "regex":
    case "semver":
    case "string": {
      const text = typeof value === "string" ? value : "";
      const problem =
        kind === "regex" ? regexProblem(text, caseInsensitive) : kind === "semver" && text ? semverProblem(text) : undefined;
      return (
        <span className="operand">
          <input
            id={id}
            aria-label={kind === "regex" ? "Regular expression" : kind === "semver" ? "Version" : "Value"}
            aria-invalid={Boolean(problem)}
            className={kind === "regex" ? "code" : undefined}
            value={text}
            onChange={(e) => onChange(e.target.value)}
          />
          {kind === "regex" && (
            <span className={problem ? "field-error" : "field-hint"} role={problem ? "alert" : undefined}>
              {problem ?? "valid regex"}
            </span>
          )}
          {kind === "semver" && problem && <span className="field-error">{problem}</span>}
        </span>
      );
    }
  }
}

function TypePicker({ type, onChange }: { type: ScalarType; onChange: (type: ScalarType) => void }) {
  return (
    <select aria-label="Value type" className="type-picker" value={type} onChange={(e) => onChange(e.target.value as ScalarType)}>
      <option value="string">text</option>
      <option value="number">number</option>
      <option value="boolean">boolean</option>
    </select>
  );
}
