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

/** Changes to people, tokens and projects themselves (admin). */
export function GlobalAuditPage() {
  return (
    <section className="page">
      <div className="page-header">
        <h1>Audit log: people, tokens and projects</h1>
      </div>
      <AuditLog path="/audit-log" empty="Nothing recorded yet." />
    </section>
  );
}
