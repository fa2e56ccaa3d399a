import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Role, User } from "../api/types";
import { useAuth } from "../auth";
import { Dialog, Failed, Field, FormError, Loading, errorMessage, fieldError, DialogActions } from "../components/ui";

const ROLES: { role: Role; what: string }[] = [
  { role: "viewer", what: "reads everything, changes nothing" },
  { role: "editor", what: "flags, segments, environments and SDK keys" },
  { role: "admin", what: "everything, including people, tokens and projects" },
];

/** The people who can sign in, and what each may do (admin). */
export function TeamPage() {
  const { me } = useAuth();
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: ["users"], queryFn: () => api.get<User[]>("/users") });
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<User | null>(null);
  const setRole = useMutation({
    mutationFn: ({ user, role }: { user: User; role: Role }) => api.put<User>(`/users/${seg(user.id)}`, { role }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["users"] }),
  });
  return (
    <section className="page">
      <div className="page-header">
        <h1>Team</h1>
        <button type="button" className="primary" onClick={() => setAdding(true)}>
          Add person
        </button>
      </div>
      {setRole.isError && (
        <p className="form-error" role="alert">
          {errorMessage(setRole.error)}
        </p>
      )}
      {users.isPending ? (
        <Loading what="the team" />
      ) : users.isError ? (
        <Failed error={users.error} retry={() => void users.refetch()} />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Since</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {users.data.map((user) => (
              <tr key={user.id}>
                <td>
                  {user.email} {user.id === me.id && <span className="badge">you</span>}
                </td>
                <td>
                  <select
                    aria-label={`Role of ${user.email}`}
                    value={user.role}
                    disabled={setRole.isPending}
                    onChange={(e) => setRole.mutate({ user, role: e.target.value as Role })}
                  >
                    {ROLES.map((r) => (
                      <option key={r.role} value={r.role}>
                        {r.role}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{new Date(user.created_at).toLocaleDateString()}</td>
                <td>
                  <button type="button" className="danger" onClick={() => setRemoving(user)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title="Add a person" open={adding} onClose={() => setAdding(false)}>
        <AddUser onDone={() => setAdding(false)} />
      </Dialog>
      <Dialog title="Remove a person" open={removing !== null} onClose={() => setRemoving(null)}>
        {removing && <RemoveUser user={removing} onDone={() => setRemoving(null)} />}
      </Dialog>
    </section>
  );
}

function AddUser({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const [password, setPassword] = useState("");
  const add = useMutation({
    mutationFn: () => api.post<User>("/users", { email, role, password }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["users"] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form onSubmit={submit}>
      <FormError error={add.error} fields={["email", "role", "password"]} />
      <Field label="Email" error={fieldError(add.error, "email")}>
        {(props) => <input {...props} type="email" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
      <fieldset className="radio-group">
        <legend>Role</legend>
        {ROLES.map((r) => (
          <label key={r.role} className="checkbox">
            <input type="radio" name="role" checked={role === r.role} onChange={() => setRole(r.role)} /> {r.role}: {r.what}
          </label>
        ))}
      </fieldset>
      <Field label="Initial password" error={fieldError(add.error, "password")} hint="At least 8 characters; they can change it">
        {(props) => (
          <input {...props} type="password" autoComplete="new-password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} />
        )}
      </Field>
      <DialogActions onCancel={onDone} label="Add person" disabled={add.isPending} />
    </form>
  );
}

function RemoveUser({ user, onDone }: { user: User; onDone: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.delete(`/users/${seg(user.id)}`),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["users"] });
      onDone();
    },
  });
  return (
    <div>
      <p>
        <strong>{user.email}</strong> will be signed out everywhere and can no longer sign in. Their past changes stay in the audit
        log.
      </p>
      <FormError error={remove.error} />
      <DialogActions onCancel={onDone} label={`Remove ${user.email}`} danger disabled={remove.isPending} onConfirm={() => remove.mutate()} />
    </div>
  );
}
