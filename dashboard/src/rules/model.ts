// Targeting rules as the API sends and takes them (docs/flag-model.md), and what the
// editors need to know about each operator.

import type { JsonValue } from "../api/types";

export type Scalar = string | number | boolean;

export interface Condition {
  attribute?: string;
  operator: Operator;
  value?: JsonValue;
  case_insensitive?: boolean;
}

export interface WeightedVariant {
  variant: string;
  weight: number;
}

export interface Rule {
  description?: string;
  conditions: Condition[];
  variant?: string;
  percentage_rollout?: number;
  rollout?: WeightedVariant[];
  bucket_by?: string;
  salt?: string;
}

export interface Variant {
  key: string;
  /** Undefined while its input holds something that is not a value yet (bad JSON). */
  value: JsonValue | undefined;
}

export interface Prerequisite {
  flag: string;
  variant: string;
}

export interface FlagConfig {
  enabled: boolean;
  variants: Variant[];
  default_variant: string;
  targeting_rules: Rule[];
  prerequisites: Prerequisite[];
}

export interface ConfigOut extends FlagConfig {
  version: number;
  updated_at: string;
  updated_by: string | null;
}

/** What an operator's operand looks like, which decides the input shown for it. */
export type OperandKind = "scalar" | "list" | "string" | "regex" | "number" | "semver" | "timestamp" | "none" | "segment";

export const OPERATORS = [
  { op: "equals", label: "equals", kind: "scalar" },
  { op: "not_equals", label: "does not equal", kind: "scalar" },
  { op: "in", label: "is one of", kind: "list" },
  { op: "not_in", label: "is not one of", kind: "list" },
  { op: "contains", label: "contains", kind: "string" },
  { op: "not_contains", label: "does not contain", kind: "string" },
  { op: "starts_with", label: "starts with", kind: "string" },
  { op: "ends_with", label: "ends with", kind: "string" },
  { op: "matches", label: "matches regex", kind: "regex" },
  { op: "greater_than", label: ">", kind: "number" },
  { op: "gte", label: "≥", kind: "number" },
  { op: "less_than", label: "<", kind: "number" },
  { op: "lte", label: "≤", kind: "number" },
  { op: "semver_eq", label: "version =", kind: "semver" },
  { op: "semver_gt", label: "version >", kind: "semver" },
  { op: "semver_gte", label: "version ≥", kind: "semver" },
  { op: "semver_lt", label: "version <", kind: "semver" },
  { op: "semver_lte", label: "version ≤", kind: "semver" },
  { op: "before", label: "is before", kind: "timestamp" },
  { op: "after", label: "is after", kind: "timestamp" },
  { op: "exists", label: "exists", kind: "none" },
  { op: "not_exists", label: "does not exist", kind: "none" },
  { op: "in_segment", label: "is in segment", kind: "segment" },
  { op: "not_in_segment", label: "is not in segment", kind: "segment" },
] as const satisfies readonly { op: string; label: string; kind: OperandKind }[];

export type Operator = (typeof OPERATORS)[number]["op"];

export function operandKind(operator: Operator): OperandKind {
  return OPERATORS.find((o) => o.op === operator)?.kind ?? "string";
}

/** Operators that take `case_insensitive`. */
export function isStringOperator(operator: Operator): boolean {
  return ["scalar", "list", "string", "regex"].includes(operandKind(operator));
}

/** A sensible operand when the operator changes, keeping what still fits. */
export function operandFor(operator: Operator, previous: JsonValue | undefined): JsonValue | undefined {
  const kind = operandKind(operator);
  switch (kind) {
    case "none":
      return undefined;
    case "list":
      if (Array.isArray(previous)) return previous;
      return previous === undefined || previous === "" ? [] : [previous as Scalar];
    case "number":
      return typeof previous === "number" ? previous : 0;
    case "scalar":
      return typeof previous === "string" || typeof previous === "number" || typeof previous === "boolean" ? previous : "";
    default:
      return typeof previous === "string" ? previous : "";
  }
}

/** Changes a condition's operator, adjusting the fields that depend on it. */
export function withOperator(condition: Condition, operator: Operator): Condition {
  const kind = operandKind(operator);
  const next: Condition = { operator };
  if (kind !== "segment") next.attribute = condition.attribute ?? "";
  const value = operandFor(operator, kind === operandKind(condition.operator) ? condition.value : condition.value);
  if (value !== undefined) next.value = value;
  if (condition.case_insensitive && isStringOperator(operator)) next.case_insensitive = true;
  return next;
}

/** How a rule serves: one variant, a share of contexts, or a weighted split. */
export type ServeMode = "variant" | "percentage" | "split";

export function serveMode(rule: Rule): ServeMode {
  if (rule.rollout) return "split";
  if (rule.percentage_rollout !== undefined) return "percentage";
  return "variant";
}

export function withServeMode(rule: Rule, mode: ServeMode, variants: Variant[]): Rule {
  const { variant, percentage_rollout: _percentage, rollout: _rollout, ...rest } = rule;
  const first = variant ?? variants[0]?.key ?? "";
  switch (mode) {
    case "variant":
      return { ...rest, variant: first };
    case "percentage":
      return { ...rest, variant: first, percentage_rollout: rule.percentage_rollout ?? 50 };
    case "split":
      return { ...rest, rollout: evenSplit(variants.map((v) => v.key)) };
  }
}

/** Weights over `keys` summing to exactly 100 with at most 3 decimals. */
export function evenSplit(keys: string[]): WeightedVariant[] {
  if (keys.length === 0) return [];
  const share = Math.floor((100_000 / keys.length)) / 1000;
  const weights = keys.map((variant) => ({ variant, weight: share }));
  const rest = Math.round((100 - share * keys.length) * 1000) / 1000;
  weights[0] = { variant: keys[0] as string, weight: Math.round((share + rest) * 1000) / 1000 };
  return weights;
}

/** The sum of a split's weights, exact to the 3 decimals weights may have. */
export function totalWeight(rollout: WeightedVariant[]): number {
  return rollout.reduce((sum, w) => sum + Math.round(w.weight * 1000), 0) / 1000;
}

/** Why a weight is not acceptable, or undefined. */
export function weightProblem(weight: number): string | undefined {
  if (!Number.isFinite(weight) || weight < 0 || weight > 100) return "between 0 and 100";
  if (Math.abs(weight * 1000 - Math.round(weight * 1000)) > 1e-6) return "at most 3 decimals";
  return undefined;
}

/** Problems the browser can see in a regex before the server checks it with Rust's. */
export function regexProblem(pattern: string, caseInsensitive: boolean): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) return "look-around is not supported";
  if (/\\[1-9]/.test(pattern)) return "back-references are not supported";
  try {
    new RegExp(pattern, caseInsensitive ? "iu" : "u");
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^Invalid regular expression: /, "");
  }
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function semverProblem(text: string): string | undefined {
  return SEMVER.test(text) ? undefined : "a semantic version such as 1.4.0 or 2.0.0-beta.1";
}
