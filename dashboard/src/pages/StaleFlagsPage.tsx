import { Link, useParams, useSearchParams } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Project, StaleFlags } from "../api/types";
import { ProjectNav } from "../components/ProjectNav";
import { Empty, Failed, Loading } from "../components/ui";
import { ago } from "../insights/format";

const HORIZONS = [7, 14, 30, 60, 90];

/** Flags that are candidates for removal, with why: one answer for everyone, or no evaluations. */
export function StaleFlagsPage() {
  const { project: projectKey = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const days = params.get("days");
  const base = `/projects/${seg(projectKey)}`;
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api.get<Project>(base) });
  const stale = useQuery({
    queryKey: ["stale-flags", projectKey, days],
    queryFn: () => api.get<StaleFlags>(`${base}/stale-flags${days ? `?days=${encodeURIComponent(days)}` : ""}`),
  });
  const horizon = stale.data?.days;
  return (
    <section className="page">
      <ProjectNav projectKey={projectKey} projectName={project.data?.name} />
      <div className="page-header">
        <h1>Stale flags</h1>
        <label>
          Unchanged or unused for{" "}
          <select
            aria-label="Days"
            value={horizon ?? ""}
            onChange={(e) => setParams({ days: e.target.value }, { replace: true })}
          >
            {[...new Set([...HORIZONS, ...(horizon ? [horizon] : [])])]
              .sort((a, b) => a - b)
              .map((d) => (
                <option key={d} value={d}>
                  {d} days
                </option>
              ))}
          </select>
        </label>
      </div>
      <p className="muted">
        Candidates for removal: flags that give everyone one answer in every environment with no config change for this
        long (hard-wire the answer), and flags nothing has evaluated for this long (the code no longer asks).
      </p>
      {stale.isPending ? (
        <Loading what="stale flags" />
      ) : stale.isError ? (
        <Failed error={stale.error} retry={() => void stale.refetch()} />
      ) : stale.data.flags.length === 0 ? (
        <Empty>
          <p>No stale flags: every flag changed or was evaluated in the last {stale.data.days} days.</p>
        </Empty>
      ) : (
        <table className="table" aria-label="Stale flags">
          <thead>
            <tr>
              <th scope="col">Flag</th>
              <th scope="col">Why</th>
              <th scope="col">Config changed</th>
              <th scope="col">Last evaluated</th>
            </tr>
          </thead>
          <tbody>
            {stale.data.flags.map((flag) => (
              <tr key={flag.flag}>
                <td>
                  <Link to={`${base}/flags/${seg(flag.flag)}`} className="flag-name">
                    {flag.name}
                  </Link>
                  <code className="muted">{flag.flag}</code>
                </td>
                <td>
                  <ul className="reasons">
                    {flag.reasons.map((r) => (
                      <li key={r.code}>{r.message}</li>
                    ))}
                  </ul>
                </td>
                <td title={new Date(flag.config_changed_at).toLocaleString()}>{ago(flag.config_changed_at)}</td>
                <td>{flag.last_evaluated_at ? ago(flag.last_evaluated_at) : <span className="muted">never</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
