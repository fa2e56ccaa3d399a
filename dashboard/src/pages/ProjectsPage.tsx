import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Project } from "../api/types";
import { useAuth } from "../auth";
import { NameAndKeyFields, useNameAndKey } from "../components/forms";
import { Dialog, Empty, Failed, Field, FormError, Loading, fieldError, DialogActions } from "../components/ui";

export function ProjectsPage() {
  const { can } = useAuth();
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => api.get<Project[]>("/projects") });
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Project | null>(null);
  const [deleting, setDeleting] = useState<Project | null>(null);

  return (
    <section className="page">
      <div className="page-header">
        <h1>Projects</h1>
        {can("admin") && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New project
          </button>
        )}
      </div>
      {projects.isPending ? (
        <Loading what="projects" />
      ) : projects.isError ? (
        <Failed error={projects.error} retry={() => void projects.refetch()} />
      ) : projects.data.length === 0 ? (
        <Empty>
          <p>No projects yet.</p>
          {can("admin") ? <p>Create one to start adding flags.</p> : <p>Ask an admin to create one.</p>}
        </Empty>
      ) : (
        <ul className="card-list">
          {projects.data.map((project) => (
            <li key={project.id} className="card project-card">
              <div>
                <h2>
                  <Link to={`/projects/${seg(project.key)}/flags`}>{project.name}</Link>
                </h2>
                <code>{project.key}</code>
                {project.description && <p className="muted">{project.description}</p>}
              </div>
              {can("admin") && (
                <div className="actions">
                  <button type="button" onClick={() => setEditing(project)}>
                    Edit
                  </button>
                  <button type="button" className="danger" onClick={() => setDeleting(project)}>
                    Delete
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <Dialog title="New project" open={creating} onClose={() => setCreating(false)}>
        <ProjectForm onDone={() => setCreating(false)} />
      </Dialog>
      <Dialog title="Edit project" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && <ProjectForm project={editing} onDone={() => setEditing(null)} />}
      </Dialog>
      <Dialog title="Delete project" open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && <DeleteProject project={deleting} onDone={() => setDeleting(null)} />}
      </Dialog>
    </section>
  );
}

function ProjectForm({ project, onDone }: { project?: Project; onDone: () => void }) {
  const queryClient = useQueryClient();
  const form = useNameAndKey(project?.name, project?.key);
  const [description, setDescription] = useState(project?.description ?? "");
  const save = useMutation({
    mutationFn: () =>
      project
        ? api.put<Project>(`/projects/${seg(project.key)}`, { name: form.name, description })
        : api.post<Project>("/projects", { key: form.key, name: form.name, description }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["projects"] });
      onDone();
    },
  });
  const keyError = project ? undefined : form.keyError("project");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!keyError) save.mutate();
  };
  return (
    <form onSubmit={submit}>
      <FormError error={save.error} fields={["key", "name", "description"]} />
      <NameAndKeyFields
        form={form}
        noun="project"
        creating={!project}
        nameError={fieldError(save.error, "name")}
        keyError={fieldError(save.error, "key")}
        keyHint="Used in API paths; cannot change later"
      />
      <Field label="Description" error={fieldError(save.error, "description")}>
        {(props) => <textarea {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <DialogActions onCancel={onDone} label={project ? "Save" : "Create project"} disabled={save.isPending} />
    </form>
  );
}

function DeleteProject({ project, onDone }: { project: Project; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [typed, setTyped] = useState("");
  const remove = useMutation({
    mutationFn: () => api.delete(`/projects/${seg(project.key)}`),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["projects"] });
      onDone();
    },
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        remove.mutate();
      }}
    >
      <p>
        Deleting <strong>{project.name}</strong> removes all of its flags, segments, environments and SDK keys. Applications using
        its SDK keys will stop getting evaluations. This cannot be undone.
      </p>
      <FormError error={remove.error} />
      <Field label={`Type ${project.key} to confirm`}>
        {(props) => <input {...props} autoFocus value={typed} onChange={(e) => setTyped(e.target.value)} />}
      </Field>
      <DialogActions onCancel={onDone} label="Delete project" danger disabled={typed !== project.key || remove.isPending} />
    </form>
  );
}
