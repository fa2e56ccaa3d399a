import { useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Environment, Project } from "../api/types";
import { useAuth } from "../auth";
import { NameAndKeyFields, SecretOnce, useNameAndKey } from "../components/forms";
import { ProjectNav } from "../components/ProjectNav";
import { Dialog, Empty, Failed, Field, FormError, Loading, fieldError, DialogActions } from "../components/ui";

interface SdkKey {
  id: string;
  name: string;
  kind: "client" | "server";
  prefix: string;
  created_at: string;
}

/** A project's environments, each with the SDK keys applications use to reach it. */
export function EnvironmentsPage() {
  const { project: projectKey = "" } = useParams();
  const { can } = useAuth();
  const base = `/projects/${seg(projectKey)}`;
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api.get<Project>(base) });
  const environments = useQuery({
    queryKey: ["environments", projectKey],
    queryFn: () => api.get<Environment[]>(`${base}/environments`),
  });
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Environment | null>(null);

  return (
    <section className="page">
      <ProjectNav projectKey={projectKey} projectName={project.data?.name} />
      <div className="page-header">
        <h1>Environments and SDK keys</h1>
        {can("editor") && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New environment
          </button>
        )}
      </div>
      {environments.isPending ? (
        <Loading what="environments" />
      ) : environments.isError ? (
        <Failed error={environments.error} retry={() => void environments.refetch()} />
      ) : environments.data.length === 0 ? (
        <Empty>
          <p>This project has no environments.</p>
        </Empty>
      ) : (
        <div className="card-list">
          {environments.data.map((env) => (
            <EnvironmentCard key={env.id} projectKey={projectKey} environment={env} onDelete={() => setDeleting(env)} />
          ))}
        </div>
      )}
      <Dialog title="New environment" open={creating} onClose={() => setCreating(false)}>
        <EnvironmentForm projectKey={projectKey} onDone={() => setCreating(false)} />
      </Dialog>
      <Dialog title="Delete environment" open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && <DeleteEnvironment projectKey={projectKey} environment={deleting} onDone={() => setDeleting(null)} />}
      </Dialog>
    </section>
  );
}

function EnvironmentCard({ projectKey, environment, onDelete }: { projectKey: string; environment: Environment; onDelete: () => void }) {
  const { can } = useAuth();
  const path = `/projects/${seg(projectKey)}/environments/${seg(environment.key)}/sdk-keys`;
  const keys = useQuery({ queryKey: ["sdk-keys", projectKey, environment.key], queryFn: () => api.get<SdkKey[]>(path) });
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<SdkKey | null>(null);
  return (
    <section className="card" aria-labelledby={`env-${environment.id}`}>
      <div className="page-header">
        <div>
          <h2 id={`env-${environment.id}`}>{environment.name}</h2>
          <code>{environment.key}</code> <span className="muted">revision {environment.revision}</span>
        </div>
        {can("editor") && (
          <div className="actions">
            <button type="button" onClick={() => setCreating(true)}>
              New SDK key
            </button>
            <button type="button" className="danger" onClick={onDelete}>
              Delete environment
            </button>
          </div>
        )}
      </div>
      {keys.isPending ? (
        <Loading what="SDK keys" />
      ) : keys.isError ? (
        <Failed error={keys.error} retry={() => void keys.refetch()} />
      ) : keys.data.length === 0 ? (
        <p className="muted">No SDK keys yet: applications need one to evaluate flags here.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Key</th>
              <th scope="col">Created</th>
              {can("editor") && <th scope="col" />}
            </tr>
          </thead>
          <tbody>
            {keys.data.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>
                  <span className="badge">{key.kind}</span>
                </td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{new Date(key.created_at).toLocaleString()}</td>
                {can("editor") && (
                  <td>
                    <button type="button" className="danger" onClick={() => setRevoking(key)}>
                      Revoke
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title={`New SDK key for ${environment.name}`} open={creating} onClose={() => setCreating(false)}>
        <SdkKeyForm projectKey={projectKey} environment={environment} onDone={() => setCreating(false)} />
      </Dialog>
      <Dialog title="Revoke SDK key" open={revoking !== null} onClose={() => setRevoking(null)}>
        {revoking && <RevokeKey path={`${path}/${seg(revoking.id)}`} sdkKey={revoking} projectKey={projectKey} environment={environment} onDone={() => setRevoking(null)} />}
      </Dialog>
    </section>
  );
}

function SdkKeyForm({ projectKey, environment, onDone }: { projectKey: string; environment: Environment; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"server" | "client">("server");
  const create = useMutation({
    mutationFn: () =>
      api.post<SdkKey & { key: string }>(`/projects/${seg(projectKey)}/environments/${seg(environment.key)}/sdk-keys`, { name, kind }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["sdk-keys", projectKey, environment.key] }),
  });
  if (create.data) {
    return <SecretOnce secret={create.data.key} label="The new SDK key" onDone={onDone} />;
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit}>
      <FormError error={create.error} fields={["name", "kind"]} />
      <Field label="Name" error={fieldError(create.error, "name")} hint="Which application uses it, e.g. checkout-service">
        {(props) => <input {...props} required autoFocus value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <fieldset className="radio-group">
        <legend>Kind</legend>
        <label className="checkbox">
          <input type="radio" name="kind" checked={kind === "server"} onChange={() => setKind("server")} /> Server: for backends,
          kept secret
        </label>
        <label className="checkbox">
          <input type="radio" name="kind" checked={kind === "client"} onChange={() => setKind("client")} /> Client: for browsers and
          mobile apps, visible to users
        </label>
      </fieldset>
      <DialogActions onCancel={onDone} label="Create SDK key" disabled={create.isPending} />
    </form>
  );
}

function RevokeKey({
  path,
  sdkKey,
  projectKey,
  environment,
  onDone,
}: {
  path: string;
  sdkKey: SdkKey;
  projectKey: string;
  environment: Environment;
  onDone: () => void;
}) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.delete(path),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["sdk-keys", projectKey, environment.key] });
      onDone();
    },
  });
  return (
    <div>
      <p>
        Applications using <strong>{sdkKey.name}</strong> (<code>{sdkKey.prefix}…</code>) in {environment.name} will be refused by
        every edge as soon as they receive the next snapshot, usually within a second.
      </p>
      <FormError error={revoke.error} />
      <DialogActions onCancel={onDone} label="Revoke key" danger disabled={revoke.isPending} onConfirm={() => revoke.mutate()} />
    </div>
  );
}

function EnvironmentForm({ projectKey, onDone }: { projectKey: string; onDone: () => void }) {
  const queryClient = useQueryClient();
  const form = useNameAndKey();
  const create = useMutation({
    mutationFn: () => api.post<Environment>(`/projects/${seg(projectKey)}/environments`, { key: form.key, name: form.name }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["environments", projectKey] });
      onDone();
    },
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (!form.keyError("environment")) create.mutate();
      }}
    >
      <p className="muted">Every existing flag starts disabled in a new environment.</p>
      <FormError error={create.error} fields={["key", "name"]} />
      <NameAndKeyFields
        form={form}
        noun="environment"
        creating
        nameError={fieldError(create.error, "name")}
        keyError={fieldError(create.error, "key")}
      />
      <DialogActions onCancel={onDone} label="Create environment" disabled={create.isPending} />
    </form>
  );
}

function DeleteEnvironment({ projectKey, environment, onDone }: { projectKey: string; environment: Environment; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [typed, setTyped] = useState("");
  const remove = useMutation({
    mutationFn: () => api.delete(`/projects/${seg(projectKey)}/environments/${seg(environment.key)}`),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["environments", projectKey] });
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
        Deleting <strong>{environment.name}</strong> removes every flag's configuration there and revokes its SDK keys:
        applications using them stop getting evaluations.
      </p>
      <FormError error={remove.error} />
      <Field label={`Type ${environment.key} to confirm`}>
        {(props) => <input {...props} autoFocus value={typed} onChange={(e) => setTyped(e.target.value)} />}
      </Field>
      <DialogActions onCancel={onDone} label="Delete environment" danger disabled={typed !== environment.key || remove.isPending} />
    </form>
  );
}
