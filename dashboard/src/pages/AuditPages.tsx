import { useState } from "react";
import { useParams } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Project } from "../api/types";
import { AuditLog } from "../audit/AuditLog";
import { ProjectNav } from "../components/ProjectNav";

/** Everything that changed in a project, optionally about one flag. */
export function ProjectAuditPage() {
  const { project: projectKey = "" } = useParams();
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api.get<Project>(`/projects/${seg(projectKey)}`) });
  const [flag, setFlag] = useState("");
  const [applied, setApplied] = useState("");
  return (
    <section className="page">
      <ProjectNav projectKey={projectKey} projectName={project.data?.name} />
      <div className="page-header">
        <h1>Audit log</h1>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(flag.trim());
        }}
      >
        <label>
          Flag{" "}
          <input aria-label="Only changes to flag" placeholder="flag key" value={flag} onChange={(e) => setFlag(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
        {applied && (
          <button
            type="button"
            className="link"
            onClick={() => {
              setFlag("");
              setApplied("");
            }}
          >
            Show all
          </button>
        )}
      </form>
      <AuditLog
        path={`/projects/${seg(projectKey)}/audit-log`}
        query={applied ? { flag: applied } : {}}
        empty={applied ? `No changes to ${applied}.` : "Nothing has changed in this project yet."}
      />
    </section>
  );
}

interface GlobalFilters {
  project: string;
  actor: string;
  action: string;
  since: string;
  until: string;
  instanceOnly: boolean;
}

const noFilters: GlobalFilters = { project: "", actor: "", action: "", since: "", until: "", instanceOnly: false };

/** A `datetime-local` value (the browser's time zone) as RFC 3339, or nothing. */
function instant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function globalQuery(filters: GlobalFilters): Record<string, string> {
  const query: Record<string, string> = {};
  if (filters.project.trim()) query.project = filters.project.trim();
  if (filters.actor.trim()) query.actor = filters.actor.trim();
  if (filters.action.trim()) query.action = filters.action.trim();
  const since = instant(filters.since);
  if (since) query.since = since;
  const until = instant(filters.until);
  if (until) query.until = until;
  if (filters.instanceOnly) query.scope = "instance";
  return query;
}

/** Every change, in every project (deleted ones too) and outside them (admin). */
export function GlobalAuditPage() {
  const [draft, setDraft] = useState<GlobalFilters>(noFilters);
  const [applied, setApplied] = useState<GlobalFilters>(noFilters);
  const set = (field: keyof GlobalFilters) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setDraft({ ...draft, [field]: event.target.type === "checkbox" ? event.target.checked : event.target.value });
  const query = globalQuery(applied);
  const filtered = Object.keys(query).length > 0;
  return (
    <section className="page">
      <div className="page-header">
        <h1>Audit log</h1>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(draft);
        }}
      >
        <label>
          Project <input aria-label="Only project" placeholder="project key" value={draft.project} onChange={set("project")} />
        </label>
        <label>
          Actor <input aria-label="Only actor" placeholder="email or token name" value={draft.actor} onChange={set("actor")} />
        </label>
        <label>
          Action <input aria-label="Only action" placeholder="flag.updated, or flag." value={draft.action} onChange={set("action")} />
        </label>
        <label>
          From <input aria-label="From" type="datetime-local" value={draft.since} onChange={set("since")} />
        </label>
        <label>
          To <input aria-label="To" type="datetime-local" value={draft.until} onChange={set("until")} />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={draft.instanceOnly} onChange={set("instanceOnly")} /> Only people and tokens
        </label>
        <button type="submit">Filter</button>
        {filtered && (
          <button
            type="button"
            className="link"
            onClick={() => {
              setDraft(noFilters);
              setApplied(noFilters);
            }}
          >
            Show all
          </button>
        )}
      </form>
      <AuditLog path="/audit-log" query={query} empty={filtered ? "Nothing matches these filters." : "Nothing recorded yet."} />
    </section>
  );
}
