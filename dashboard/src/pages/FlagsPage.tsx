import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api, seg } from "../api/client";
import type { Environment, FlagSummary, Project, ProjectActivity } from "../api/types";
import { useAuth } from "../auth";
import { CreateFlagForm } from "../components/CreateFlagForm";
import { ProjectNav } from "../components/ProjectNav";
import { Dialog, Empty, Failed, Loading, Switch, errorMessage } from "../components/ui";
import { ago, compactCount } from "../insights/format";

export function FlagsPage() {
  const { project: projectKey = "" } = useParams();
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const tag = params.get("tag") ?? "";
  const archived = params.get("archived") === "true";
  const [creating, setCreating] = useState(false);

  const base = `/projects/${seg(projectKey)}`;
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api.get<Project>(base) });
  const environments = useQuery({
    queryKey: ["environments", projectKey],
    queryFn: () => api.get<Environment[]>(`${base}/environments`),
  });
  const search = new URLSearchParams();
  if (q) search.set("q", q);
  if (tag) search.set("tag", tag);
  // Archived flags join the list, marked as archived.
  if (archived) search.set("archived", "include");
  const flags = useQuery({
    queryKey: ["flags", projectKey, q, tag, archived],
    queryFn: () => api.get<FlagSummary[]>(`${base}/flags?${search.toString()}`),
    placeholderData: (previous) => previous,
  });
  // Every tag in use, for the filter: from the unfiltered list.
  const all = useQuery({
    queryKey: ["flags", projectKey, "", "", false],
    queryFn: () => api.get<FlagSummary[]>(`${base}/flags`),
  });
  const tags = [...new Set((all.data ?? []).flatMap((f) => f.tags))].sort();
  // Evaluations in the last day, per flag: the activity column. Optional: the list
  // works without it.
  const activity = useQuery({
    queryKey: ["activity", projectKey],
    queryFn: () => api.get<ProjectActivity>(`${base}/usage`),
    refetchInterval: 60_000,
  });

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  if (project.isError) return <Failed error={project.error} retry={() => void project.refetch()} />;

  return (
    <section className="page">
      <ProjectNav projectKey={projectKey} projectName={project.data?.name} />
      <div className="page-header">
        <h1>Flags</h1>
        {can("editor") && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New flag
          </button>
        )}
      </div>
      <div className="filters" role="search">
        <label>
          <span className="visually-hidden">Search flags</span>
          <input type="search" placeholder="Search by key or name" value={q} onChange={(e) => setFilter("q", e.target.value)} />
        </label>
        <label>
          Tag{" "}
          <select aria-label="Filter by tag" value={tag} onChange={(e) => setFilter("tag", e.target.value)}>
            <option value="">Any</option>
            {tags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={archived} onChange={(e) => setFilter("archived", e.target.checked ? "true" : "")} />{" "}
          Show archived flags
        </label>
      </div>
      {flags.isPending || environments.isPending ? (
        <Loading what="flags" />
      ) : flags.isError ? (
        <Failed error={flags.error} retry={() => void flags.refetch()} />
      ) : environments.isError ? (
        <Failed error={environments.error} retry={() => void environments.refetch()} />
      ) : flags.data.length === 0 ? (
        <Empty>
          {q || tag || archived ? <p>No flags match these filters.</p> : <p>No flags yet in this project.</p>}
        </Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Flag</th>
              <th scope="col">Type</th>
              <th scope="col">Tags</th>
              <th scope="col" title="Evaluations in the last 24 hours, in every environment">
                Activity
              </th>
              {environments.data.map((env) => (
                <th scope="col" key={env.id} className="center">
                  {env.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {flags.data.map((summary) => (
              <tr key={summary.id}>
                <td>
                  <Link to={`/projects/${seg(projectKey)}/flags/${seg(summary.key)}`} className="flag-name">
                    {summary.name}
                  </Link>
                  <code className="muted">{summary.key}</code>
                  {summary.archived && <span className="badge">archived</span>}
                </td>
                <td>
                  <span className={`badge badge-type-${summary.type}`}>{summary.type}</span>
                </td>
                <td>
                  {summary.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </td>
                <td className="activity" data-testid={`activity-${summary.key}`}>
                  {activity.data && <Activity perEnvironment={activity.data.flags[summary.key]} />}
                </td>
                {environments.data.map((env) => (
                  <td key={env.id} className="center">
                    <EnvironmentSwitch projectKey={projectKey} summary={summary} environment={env} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title="New flag" open={creating} onClose={() => setCreating(false)}>
        <CreateFlagForm projectKey={projectKey} onDone={() => setCreating(false)} />
      </Dialog>
    </section>
  );
}

/** Evaluations in the last day across environments, and when the flag was last evaluated. */
function Activity({ perEnvironment }: { perEnvironment: ProjectActivity["flags"][string] | undefined }) {
  const entries = Object.values(perEnvironment ?? {});
  const count = entries.reduce((sum, e) => sum + e.count, 0);
  const last = entries
    .map((e) => e.last_evaluated_at)
    .filter((at): at is string => at !== null)
    .sort()
    .at(-1);
  if (!last) return <span className="muted" title="No evaluations reported">—</span>;
  return (
    <span title={`Last evaluated ${new Date(last).toLocaleString()}`}>
      {compactCount(count)} <span className="muted">· {ago(last)}</span>
    </span>
  );
}

function EnvironmentSwitch({
  projectKey,
  summary,
  environment,
}: {
  projectKey: string;
  summary: FlagSummary;
  environment: Environment;
}) {
  const { can } = useAuth();
  const queryClient = useQueryClient();
  const state = summary.environments[environment.key];
  const toggle = useMutation({
    mutationFn: (enabled: boolean) =>
      api.post(
        `/projects/${seg(projectKey)}/flags/${seg(summary.key)}/environments/${seg(environment.key)}/toggle`,
        { enabled, version: state?.version },
      ),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["flags", projectKey] }),
  });
  if (!state) return <span className="muted">—</span>;
  const conflict = toggle.error instanceof ApiError && toggle.error.status === 409;
  return (
    <>
      <Switch
        checked={toggle.isPending ? !state.enabled : state.enabled}
        label={`${summary.key} in ${environment.name}`}
        disabled={!can("editor") || summary.archived || toggle.isPending}
        onChange={(enabled) => toggle.mutate(enabled)}
      />
      {toggle.isError && (
        <p className="field-error" role="alert">
          {conflict ? "Someone changed this flag meanwhile; reloaded." : errorMessage(toggle.error)}
        </p>
      )}
    </>
  );
}
