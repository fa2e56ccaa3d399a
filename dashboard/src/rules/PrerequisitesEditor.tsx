import { useQuery } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { ConfigOut, Prerequisite } from "./model";

/** Flags that must serve a given variant, in this environment, before this one can. */
export function PrerequisitesEditor({
  projectKey,
  environmentKey,
  flagKey,
  flags,
  prerequisites,
  errorFor,
  onChange,
}: {
  projectKey: string;
  environmentKey: string;
  flagKey: string;
  flags: { key: string; name: string }[];
  prerequisites: Prerequisite[];
  errorFor: (field: string) => string | undefined;
  onChange: (prerequisites: Prerequisite[]) => void;
}) {
  const candidates = flags.filter((f) => f.key !== flagKey);
  const unused = candidates.filter((f) => !prerequisites.some((p) => p.flag === f.key));
  return (
    <fieldset className="prerequisites">
      <legend>Prerequisites</legend>
      {prerequisites.length === 0 && <p className="muted">None: this flag does not depend on others.</p>}
      {prerequisites.map((prerequisite, index) => (
        <div key={index} className="condition" role="group" aria-label={`Prerequisite ${index + 1}`}>
          <select
            aria-label="Prerequisite flag"
            value={prerequisite.flag}
            onChange={(e) => onChange(prerequisites.map((p, i) => (i === index ? { flag: e.target.value, variant: "" } : p)))}
          >
            {candidates.map((f) => (
              <option key={f.key} value={f.key}>
                {f.name} ({f.key})
              </option>
            ))}
          </select>
          <span>must serve</span>
          <PrerequisiteVariant
            projectKey={projectKey}
            environmentKey={environmentKey}
            flagKey={prerequisite.flag}
            value={prerequisite.variant}
            onChange={(variant) => onChange(prerequisites.map((p, i) => (i === index ? { ...p, variant } : p)))}
          />
          <button type="button" className="link" onClick={() => onChange(prerequisites.filter((_, i) => i !== index))}>
            Remove
          </button>
          {errorFor(`prerequisites[${index}]`) && (
            <p className="field-error" role="alert">
              {errorFor(`prerequisites[${index}]`)}
            </p>
          )}
        </div>
      ))}
      <button
        type="button"
        disabled={unused.length === 0}
        onClick={() => {
          const first = unused[0];
          if (first) onChange([...prerequisites, { flag: first.key, variant: "" }]);
        }}
      >
        Add prerequisite
      </button>
    </fieldset>
  );
}

function PrerequisiteVariant({
  projectKey,
  environmentKey,
  flagKey,
  value,
  onChange,
}: {
  projectKey: string;
  environmentKey: string;
  flagKey: string;
  value: string;
  onChange: (variant: string) => void;
}) {
  const config = useQuery({
    queryKey: ["config", projectKey, flagKey, environmentKey],
    queryFn: () =>
      api.get<ConfigOut>(`/projects/${seg(projectKey)}/flags/${seg(flagKey)}/environments/${seg(environmentKey)}`),
  });
  return (
    <select aria-label="Required variant" value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="" disabled>
        {config.isPending ? "Loading…" : "Choose a variant"}
      </option>
      {(config.data?.variants ?? []).map((v) => (
        <option key={v.key} value={v.key}>
          {v.key}
        </option>
      ))}
    </select>
  );
}
