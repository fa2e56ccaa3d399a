import { useId } from "react";

import type { Condition, Operator, Rule, Variant } from "./model";
import { OPERATORS, isStringOperator, operandKind, serveMode, withOperator, withServeMode } from "./model";
import { OperandInput } from "./OperandInput";
import { RolloutSplit } from "./RolloutSplit";

interface Props {
  rules: Rule[];
  variants: Variant[];
  segments: { key: string; name: string }[];
  disabled?: boolean;
  errorFor: (field: string) => string | undefined;
  onChange: (rules: Rule[]) => void;
}

/** Targeting rules, tried in order: conditions, and what a matching context is served. */
export function RuleBuilder({ rules, variants, segments, disabled, errorFor, onChange }: Props) {
  const update = (index: number, rule: Rule) => onChange(rules.map((r, i) => (i === index ? rule : r)));
  const move = (index: number, by: number) => {
    const next = [...rules];
    const [rule] = next.splice(index, 1);
    if (rule) next.splice(index + by, 0, rule);
    onChange(next);
  };
  return (
    <fieldset className="rules" disabled={disabled}>
      <legend>Targeting rules</legend>
      {rules.length === 0 && <p className="muted">No rules: everyone gets the default variant.</p>}
      <ol className="rule-list">
        {rules.map((rule, index) => (
          <li key={index} className="rule card" aria-label={`Rule ${index + 1}`}>
            <div className="rule-header">
              <strong>Rule {index + 1}</strong>
              {!disabled && (<div className="actions">
                <button type="button" aria-label={`Move rule ${index + 1} up`} disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button
                  type="button"
                  aria-label={`Move rule ${index + 1} down`}
                  disabled={index === rules.length - 1}
                  onClick={() => move(index, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Delete rule ${index + 1}`}
                  onClick={() => onChange(rules.filter((_, i) => i !== index))}
                >
                  Delete
                </button>
              </div>)}
            </div>
            <RuleEditor
              rule={rule}
              readOnly={disabled === true}
              path={`targeting_rules[${index}]`}
              variants={variants}
              segments={segments}
              errorFor={errorFor}
              onChange={(next) => update(index, next)}
            />
          </li>
        ))}
      </ol>
      {!disabled && (
        <button type="button" onClick={() => onChange([...rules, { conditions: [], variant: variants[0]?.key ?? "" }])}>
          Add rule
        </button>
      )}
    </fieldset>
  );
}

function RuleEditor({
  rule,
  readOnly,
  path,
  variants,
  segments,
  errorFor,
  onChange,
}: {
  rule: Rule;
  readOnly: boolean;
  path: string;
  variants: Variant[];
  segments: { key: string; name: string }[];
  errorFor: (field: string) => string | undefined;
  onChange: (rule: Rule) => void;
}) {
  const id = useId();
  const mode = serveMode(rule);
  const ruleError = errorFor(path);
  return (
    <>
      <div className="conditions">
        {rule.conditions.length === 0 ? (
          <p className="muted">Matches every context.</p>
        ) : (
          rule.conditions.map((condition, index) => (
            <ConditionEditor
              key={index}
              condition={condition}
              label={`${index === 0 ? "If" : "and"}`}
              segments={segments}
              readOnly={readOnly}
              error={errorFor(`${path}.conditions[${index}]`)}
              onChange={(next) => onChange({ ...rule, conditions: rule.conditions.map((c, i) => (i === index ? next : c)) })}
              onRemove={() => onChange({ ...rule, conditions: rule.conditions.filter((_, i) => i !== index) })}
            />
          ))
        )}
        {!readOnly && (
          <button
            type="button"
            onClick={() => onChange({ ...rule, conditions: [...rule.conditions, { attribute: "", operator: "equals", value: "" }] })}
          >
            Add condition
          </button>
        )}
      </div>
      <div className="serve">
        <label htmlFor={`${id}-mode`}>Serve</label>
        <select id={`${id}-mode`} value={mode} onChange={(e) => onChange(withServeMode(rule, e.target.value as typeof mode, variants))}>
          <option value="variant">a variant</option>
          <option value="percentage">a variant to a percentage</option>
          <option value="split">a weighted split</option>
        </select>
        {mode !== "split" && (
          <select aria-label="Variant served" value={rule.variant ?? ""} onChange={(e) => onChange({ ...rule, variant: e.target.value })}>
            {variants.map((v) => (
              <option key={v.key} value={v.key}>
                {v.key}
              </option>
            ))}
          </select>
        )}
        {mode === "percentage" && (
          <span className="percentage">
            to
            <input
              type="range"
              min={0}
              max={100}
              step={1}
              aria-label="Percentage of matching contexts (slider)"
              value={rule.percentage_rollout ?? 0}
              onChange={(e) => onChange({ ...rule, percentage_rollout: Number(e.target.value) })}
            />
            <input
              type="number"
              min={0}
              max={100}
              step="any"
              className="split-number"
              aria-label="Percentage of matching contexts"
              value={rule.percentage_rollout ?? 0}
              onChange={(e) => onChange({ ...rule, percentage_rollout: e.target.value === "" ? 0 : Number(e.target.value) })}
            />
            % of matching contexts; the rest fall through to the next rule
          </span>
        )}
      </div>
      {mode === "split" && rule.rollout && (
        <RolloutSplit rollout={rule.rollout} variants={variants} onChange={(rollout) => onChange({ ...rule, rollout })} />
      )}
      {mode !== "variant" && (
        <label className="bucket-by">
          Bucket by attribute{" "}
          <input
            placeholder="user_id"
            value={rule.bucket_by ?? ""}
            onChange={(e) => {
              const { bucket_by: _old, ...rest } = rule;
              onChange(e.target.value ? { ...rest, bucket_by: e.target.value } : rest);
            }}
          />
        </label>
      )}
      {ruleError && (
        <p className="field-error" role="alert">
          {ruleError}
        </p>
      )}
    </>
  );
}

/** One condition: attribute, operator from the full list, and an operand that fits. */
export function ConditionEditor({
  condition,
  readOnly = false,
  label,
  segments,
  error,
  onChange,
  onRemove,
}: {
  condition: Condition;
  readOnly?: boolean;
  label: string;
  segments: { key: string; name: string }[];
  error: string | undefined;
  onChange: (condition: Condition) => void;
  onRemove: () => void;
}) {
  const id = useId();
  const kind = operandKind(condition.operator);
  return (
    <div className="condition" role="group" aria-label="Condition">
      <span className="condition-label">{label}</span>
      {kind !== "segment" && (
        <input
          aria-label="Attribute"
          placeholder="attribute, e.g. plan"
          value={condition.attribute ?? ""}
          onChange={(e) => onChange({ ...condition, attribute: e.target.value })}
        />
      )}
      <select aria-label="Operator" value={condition.operator} onChange={(e) => onChange(withOperator(condition, e.target.value as Operator))}>
        {OPERATORS.map((o) => (
          <option key={o.op} value={o.op}>
            {o.label}
          </option>
        ))}
      </select>
      <OperandInput
        key={`${condition.operator}`}
        id={`${id}-value`}
        operator={condition.operator}
        value={condition.value}
        caseInsensitive={condition.case_insensitive === true}
        segments={segments}
        readOnly={readOnly}
        onChange={(value) => onChange({ ...condition, value })}
      />
      {isStringOperator(condition.operator) && (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={condition.case_insensitive === true}
            onChange={(e) => {
              const { case_insensitive: _old, ...rest } = condition;
              onChange(e.target.checked ? { ...rest, case_insensitive: true } : rest);
            }}
          />{" "}
          ignore case
        </label>
      )}
      {!readOnly && (
        <button type="button" className="link" aria-label="Remove condition" onClick={onRemove}>
          Remove
        </button>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
