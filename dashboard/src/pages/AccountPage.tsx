import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";

import { api } from "../api/client";
import { useAuth } from "../auth";
import { Field, FormError, fieldError } from "../components/ui";

export function AccountPage() {
  const { me } = useAuth();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () => api.put("/auth/password", { current_password: current, new_password: next }),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate();
  };
  return (
    <section className="page narrow">
      <h1>Your account</h1>
      <p>
        Signed in as <strong>{me.name}</strong> ({me.role}).
      </p>
      {me.type === "user" && (
        <form className="card" onSubmit={submit} aria-labelledby="password-title">
          <h2 id="password-title">Change password</h2>
          <p className="muted">Your other sessions are signed out when the password changes.</p>
          <FormError error={change.error} fields={["current_password", "new_password"]} />
          {change.isSuccess && (
            <p className="notice" role="status">
              Password changed.
            </p>
          )}
          <Field label="Current password" error={fieldError(change.error, "current_password")}>
            {(props) => (
              <input
                {...props}
                type="password"
                autoComplete="current-password"
                required
                value={current}
                onChange={(e) => setCurrent(e.target.value)}
              />
            )}
          </Field>
          <Field label="New password" error={fieldError(change.error, "new_password")} hint="At least 8 characters">
            {(props) => (
              <input
                {...props}
                type="password"
                autoComplete="new-password"
                required
                minLength={8}
                value={next}
                onChange={(e) => setNext(e.target.value)}
              />
            )}
          </Field>
          <button type="submit" className="primary" disabled={change.isPending}>
            Change password
          </button>
        </form>
      )}
    </section>
  );
}
