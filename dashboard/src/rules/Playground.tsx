import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { JsonValue } from "../api/types";
import { FormError } from "../components/ui";
import type { Condition, Rule } from "./model";
import { OPERATORS, serveMode } from "./model";

interface RuleTrace {
  conditions: boolean[];
  bucket: number | null;
  threshold: number | null;
  outcome: "not_reached" | "conditions_failed" | "no_bucketing_value" | "outside_percentage" | "served";
}

export interface Trace {
  flag: string;
  result: { value: JsonValue; variant: string | null; reason: string };
  off: "archived" | "disabled" | "prerequisite_failed" | null;
  prerequisites: { flag: string; required_variant: string; served_variant: string | null; met: boolean }[];
  rules: RuleTrace[];
}

function describe(condition: Condition): string {
  const label = OPERATORS.find((o) => o.op === condition.operator)?.label ?? condition.operator;
  const value = condition.value === undefined ? "" : ` ${JSON.stringify(condition.value)}`;
  return `${condition.attribute ? `${condition.attribute} ` : ""}${label}${value}${condition.case_insensitive ? " (ignoring case)" : ""}`;
}

const OUTCOME: Record<RuleTrace["outcome"], string> = {
  not_reached: "not reached",
  conditions_failed: "a condition did not match",
  no_bucketing_value: "the context has no value to bucket by",
  outside_percentage: "outside the percentage: on to the next rule",
  served: "served",
};

const OFF: Record<NonNullable<Trace["off"]>, string> = {
  archived: "The flag is archived: it serves its default value.",
  disabled: "The flag is off in this environment: it serves its default value.",
  prerequisite_failed: "A prerequisite did not serve its required variant: the flag serves its default value.",
};

/**
 * Evaluates a context against the saved configuration of one environment, with the
 * edge's engine on the control plane, and shows why each rule did or did not serve.
 */
export function Playground({
  projectKey,
  flagKey,
  environments,
  initialEnvironment,
  rulesOf,
}: {
  projectKey: string;
  flagKey: string;
  environments: { key: string; name: string }[];
  initialEnvironment: string;
  rulesOf: (environment: string) => Rule[];
}) {
  const [environmentKey, setEnvironmentKey] = useState(initialEnvironment);
  const rules = rulesOf(environmentKey);
  const [userId, setUserId] = useState("");
  const [attributes, setAttributes] = useState("{\n  \n}");
  let parsed: Record<string, JsonValue> | undefined;
  let problem: string | undefined;
  try {
    const value = JSON.parse(attributes) as JsonValue;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) parsed = value;
    else problem = "Attributes must be a JSON object";
  } catch (error) {
    problem = `Not valid JSON: ${(error as Error).message}`;
  }
  const run = useMutation({
    mutationFn: () =>
      api.post<{ revision: number; traces: Trace[] }>(
        `/projects/${seg(projectKey)}/environments/${seg(environmentKey)}/evaluate`,
        { flag: flagKey, context: { ...(userId ? { user_id: userId } : {}), attributes: parsed ?? {} } },
      ),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (parsed) run.mutate();
  };
  const trace = run.data?.traces[0];
  return (
    <section className="playground card" aria-labelledby="playground-title">
      <h2 id="playground-title">Playground</h2>
      <p className="muted">Evaluates the saved configuration, exactly as edges do.</p>
      <form onSubmit={submit} className="playground-form">
        <label>
          Environment
          <select
            value={environmentKey}
            onChange={(e) => {
              setEnvironmentKey(e.target.value);
              run.reset();
            }}
          >
            {environments.map((env) => (
              <option key={env.key} value={env.key}>
                {env.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          User id
          <input value={userId} onChange={(e) => setUserId(e.target.value)} placeholder="e.g. user-42" />
        </label>
        <label>
          Attributes (JSON)
          <textarea className="code" rows={4} value={attributes} aria-invalid={Boolean(problem)} onChange={(e) => setAttributes(e.target.value)} />
          {problem && <span className="field-error">{problem}</span>}
        </label>
        <button type="submit" className="primary" disabled={!parsed || run.isPending}>
          Evaluate
        </button>
      </form>
      <FormError error={run.error} />
      {trace && (
        <div className="trace" aria-live="polite">
          <p className="trace-result">
            <strong>{JSON.stringify(trace.result.value)}</strong> · variant <code>{trace.result.variant ?? "none"}</code> · reason{" "}
            <code>{trace.result.reason}</code> <span className="muted">(revision {run.data?.revision})</span>
          </p>
          {trace.off && <p>{OFF[trace.off]}</p>}
          {trace.prerequisites.length > 0 && (
            <ul className="trace-list" aria-label="Prerequisites">
              {trace.prerequisites.map((p) => (
                <li key={p.flag} className={p.met ? "ok" : "failed"}>
                  {p.met ? "✓" : "✗"} {p.flag} must serve <code>{p.required_variant}</code>: it served{" "}
                  <code>{p.served_variant ?? "nothing (off)"}</code>
                </li>
              ))}
            </ul>
          )}
          <ol className="trace-list" aria-label="Rules">
            {trace.rules.map((rule, index) => (
              <li key={index} className={`trace-rule trace-${rule.outcome}`}>
                <strong>Rule {index + 1}</strong>: {OUTCOME[rule.outcome]}
                {rule.conditions.length > 0 && (
                  <ul>
                    {rule.conditions.map((matched, c) => {
                      const condition = rules[index]?.conditions[c];
                      return (
                        <li key={c} className={matched ? "ok" : "failed"}>
                          {matched ? "✓" : "✗"} {condition ? describe(condition) : `condition ${c + 1}`}
                        </li>
                      );
                    })}
                  </ul>
                )}
                {rule.bucket !== null && (
                  <p className="muted">
                    Bucket {rule.bucket.toLocaleString()} of 100,000
                    {rule.threshold !== null && ` (served below ${rule.threshold.toLocaleString()}, that is ${rule.threshold / 1000}%)`}
                    {rules[index] && serveMode(rules[index] as Rule) === "split" && " (placed in the split by this bucket)"}
                  </p>
                )}
              </li>
            ))}
          </ol>
          {trace.rules.length > 0 && !trace.off && !trace.rules.some((r) => r.outcome === "served") && (
            <p>No rule served: the default variant.</p>
          )}
        </div>
      )}
    </section>
  );
}
