import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Role } from "../api/types";
import { SecretOnce } from "../components/forms";
import { Dialog, Empty, Failed, Field, FormError, Loading, fieldError, DialogActions } from "../components/ui";

interface Token {
  id: string;
  name: string;
  role?: Role;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

const KINDS = {
  api: {
    path: "/api-tokens",
    title: "API tokens",
    about: "For automation: send as Authorization: Bearer tgl_… to the management API, with the role you choose.",
  },
  edge: {
    path: "/edge-tokens",
    title: "Edge tokens",
    about: "For edges: togglerino-edge --edge-token reads every environment's snapshot with one.",
  },
} as const;

type Kind = keyof typeof KINDS;

/** API tokens and edge tokens: created with their secret shown once, revocable (admin). */
export function TokensPage() {
  return (
    <section className="page">
      <div className="page-header">
        <h1>Tokens</h1>
      </div>
      <TokenList kind="api" />
      <TokenList kind="edge" />
    </section>
  );
}

function TokenList({ kind }: { kind: Kind }) {
  const { path, title, about } = KINDS[kind];
  const tokens = useQuery({ queryKey: ["tokens", kind], queryFn: () => api.get<Token[]>(path) });
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<Token | null>(null);
  return (
    <section className="card token-section" aria-labelledby={`${kind}-tokens`}>
      <div className="page-header">
        <div>
          <h2 id={`${kind}-tokens`}>{title}</h2>
          <p className="muted">{about}</p>
        </div>
        <button type="button" onClick={() => setCreating(true)}>
          New {kind === "api" ? "API" : "edge"} token
        </button>
      </div>
      {tokens.isPending ? (
        <Loading what={title.toLowerCase()} />
      ) : tokens.isError ? (
        <Failed error={tokens.error} retry={() => void tokens.refetch()} />
      ) : tokens.data.length === 0 ? (
        <Empty>No {title.toLowerCase()} yet.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              {kind === "api" && <th scope="col">Role</th>}
              <th scope="col">Token</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                {kind === "api" && <td>{token.role}</td>}
                <td>
                  <code>{token.prefix}…</code>
                </td>
                <td>{new Date(token.created_at).toLocaleString()}</td>
                <td>{token.last_used_at ? new Date(token.last_used_at).toLocaleString() : "never"}</td>
                <td>
                  <button type="button" className="danger" onClick={() => setRevoking(token)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title={`New ${kind === "api" ? "API" : "edge"} token`} open={creating} onClose={() => setCreating(false)}>
        <CreateToken kind={kind} onDone={() => setCreating(false)} />
      </Dialog>
      <Dialog title="Revoke token" open={revoking !== null} onClose={() => setRevoking(null)}>
        {revoking && <RevokeToken kind={kind} token={revoking} onDone={() => setRevoking(null)} />}
      </Dialog>
    </section>
  );
}

function CreateToken({ kind, onDone }: { kind: Kind; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const create = useMutation({
    mutationFn: () => api.post<Token & { secret: string }>(KINDS[kind].path, kind === "api" ? { name, role } : { name }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["tokens", kind] }),
  });
  if (create.data) {
    return <SecretOnce secret={create.data.secret} label="The new token" onDone={onDone} />;
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit}>
      <FormError error={create.error} fields={["name", "role"]} />
      <Field label="Name" error={fieldError(create.error, "name")} hint="What uses it, e.g. deploy-pipeline">
        {(props) => <input {...props} required autoFocus value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      {kind === "api" && (
        <Field label="Role" error={fieldError(create.error, "role")}>
          {(props) => (
            <select {...props} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <option value="viewer">viewer</option>
              <option value="editor">editor</option>
              <option value="admin">admin</option>
            </select>
          )}
        </Field>
      )}
      <DialogActions onCancel={onDone} label="Create token" disabled={create.isPending} />
    </form>
  );
}

function RevokeToken({ kind, token, onDone }: { kind: Kind; token: Token; onDone: () => void }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.delete(`${KINDS[kind].path}/${seg(token.id)}`),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["tokens", kind] });
      onDone();
    },
  });
  return (
    <div>
      <p>
        {kind === "api"
          ? `Automation using ${token.name} is refused from now on.`
          : `Edges using ${token.name} can no longer pull snapshots; they keep serving what they have.`}
      </p>
      <FormError error={revoke.error} />
      <DialogActions onCancel={onDone} label={`Revoke ${token.name}`} danger disabled={revoke.isPending} onConfirm={() => revoke.mutate()} />
    </div>
  );
}
