import { Link, NavLink } from "react-router-dom";

import { seg } from "../api/client";

/** Breadcrumb and the sections of a project. */
export function ProjectNav({ projectKey, projectName }: { projectKey: string; projectName?: string | undefined }) {
  const base = `/projects/${seg(projectKey)}`;
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Projects</Link> / <span>{projectName ?? projectKey}</span>
      </nav>
      <nav className="subnav" aria-label="Project">
        <NavLink to={`${base}/flags`} end>
          Flags
        </NavLink>
        <NavLink to={`${base}/stale-flags`}>Stale flags</NavLink>
        <NavLink to={`${base}/segments`}>Segments</NavLink>
        <NavLink to={`${base}/environments`}>Environments and SDK keys</NavLink>
        <NavLink to={`${base}/audit`}>Audit log</NavLink>
      </nav>
    </>
  );
}
