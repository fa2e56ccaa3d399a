// Small building blocks every screen uses, so forms, states and dialogs look and behave
// alike everywhere.

import { useEffect, useId, useRef, type ReactNode } from "react";

import { ApiError } from "../api/client";

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}) {
  const id = useId();
  const messageId = `${id}-message`;
  const message = error ?? hint;
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), ...(message ? { "aria-describedby": messageId } : {}) })}
      {message && (
        <p id={messageId} className={error ? "field-error" : "field-hint"} role={error ? "alert" : undefined}>
          {message}
        </p>
      )}
    </div>
  );
}

/** The message of an error for people, naming nothing internal. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `Could not reach the server: ${error.message}`;
  return "Something went wrong";
}

/** The error for one form field: the API names fields by their JSON path. */
export function fieldError(error: unknown, field: string): string | undefined {
  if (error instanceof ApiError && error.field !== undefined) {
    return error.field === field || error.field.startsWith(`${field}.`) || error.field.startsWith(`${field}[`)
      ? error.message
      : undefined;
  }
  return undefined;
}

/** An error not tied to one field, for the top of a form. */
export function FormError({ error, fields = [] }: { error: unknown; fields?: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError && error.field && fields.some((f) => fieldError(error, f))) return null;
  return (
    <p className="form-error" role="alert">
      {errorMessage(error)}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Failed({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p>{errorMessage(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

/** A modal dialog on the native <dialog>: focus moves in, Escape closes, focus returns. */
export function Dialog({
  title,
  open,
  onClose,
  children,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      // jsdom has no showModal; the attribute is enough there.
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} onCancel={onClose} className="dialog">
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

export function Switch({
  checked,
  label,
  disabled,
  onChange,
}: {
  checked: boolean;
  label: string;
  disabled?: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      className="switch"
      onClick={() => onChange(!checked)}
    >
      <span className="switch-knob" />
    </button>
  );
}

/**
 * The buttons at the foot of a dialog: Cancel, and the action. The action submits the
 * surrounding form unless `onConfirm` is given.
 */
export function DialogActions({
  onCancel,
  label,
  danger = false,
  disabled = false,
  onConfirm,
}: {
  onCancel: () => void;
  label: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm?: () => void;
}) {
  return (
    <div className="dialog-actions">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button
        type={onConfirm ? "button" : "submit"}
        className={danger ? "danger" : "primary"}
        disabled={disabled}
        onClick={onConfirm}
      >
        {label}
      </button>
    </div>
  );
}
