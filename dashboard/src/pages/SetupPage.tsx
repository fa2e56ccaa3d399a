import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, setCsrfToken } from "../api/client";
import type { Session } from "../api/types";
import { Field, FormError, fieldError } from "../components/ui";

/**
 * First run: creates the first admin, who is then signed in. From another machine than
 * the control plane's, the setup token from its log (or its configuration) is needed too.
 */
export function SetupPage({ tokenRequired }: { tokenRequired: boolean }) {
  const queryClient = useQueryClient();
  const [token, setToken] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const setup = useMutation({
    mutationFn: () =>
      api.post<Session>("/auth/setup", tokenRequired ? { email, password, setup_token: token } : { email, password }),
    onSuccess: async (session) => {
      setCsrfToken(session.csrf_token);
      await queryClient.invalidateQueries();
    },
  });
  const mismatch = confirm !== "" && confirm !== password ? "The passwords differ" : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!mismatch) setup.mutate();
  };
  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="setup-title">
        <h1 id="setup-title">Welcome to Togglerino</h1>
        <p>Create the first administrator. You can invite your team afterwards.</p>
        <FormError error={setup.error} fields={["email", "password"]} />
        {tokenRequired && (
          <Field
            label="Setup token"
            hint="Printed in the control plane's log when it started (or set with TOGGLERINO_SETUP_TOKEN); only needed when you are not on the control plane's machine"
          >
            {(props) => (
              <input {...props} autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} />
            )}
          </Field>
        )}
        <Field label="Email" error={fieldError(setup.error, "email")}>
          {(props) => (
            <input {...props} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Password" error={fieldError(setup.error, "password")} hint="At least 8 characters">
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <Field label="Confirm password" error={mismatch}>
          {(props) => (
            <input {...props} type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="primary" disabled={setup.isPending}>
          {setup.isPending ? "Creating…" : "Create administrator"}
        </button>
      </form>
    </div>
  );
}
