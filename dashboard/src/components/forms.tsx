// Form pieces several screens share: a name that suggests its key, and a secret shown
// once after it is created.

import { useState } from "react";

import { keyFromName, keyProblem } from "../keys";
import { Field } from "./ui";

/** A name and, when creating, the key suggested from it until the key is edited. */
export function useNameAndKey(initialName = "", initialKey = "") {
  const [name, setName] = useState(initialName);
  const [key, setKey] = useState(initialKey);
  const [keyTouched, setKeyTouched] = useState(false);
  return {
    name,
    key,
    /** Why the key is not valid yet, once there is something to judge. */
    keyError: (noun: string) => (keyTouched || key ? keyProblem(noun, key) : undefined),
    setName: (value: string, suggestKey: boolean) => {
      setName(value);
      if (suggestKey && !keyTouched) setKey(keyFromName(value));
    },
    setKey: (value: string) => {
      setKeyTouched(true);
      setKey(value);
    },
  };
}

export function NameAndKeyFields({
  form,
  noun,
  creating,
  nameError,
  keyError,
  keyHint,
}: {
  form: ReturnType<typeof useNameAndKey>;
  noun: string;
  creating: boolean;
  nameError: string | undefined;
  keyError: string | undefined;
  keyHint?: string;
}) {
  return (
    <>
      <Field label="Name" error={nameError}>
        {(props) => (
          <input {...props} required autoFocus value={form.name} onChange={(e) => form.setName(e.target.value, creating)} />
        )}
      </Field>
      {creating && (
        <Field label="Key" error={form.keyError(noun) ?? keyError} hint={keyHint}>
          {(props) => <input {...props} required value={form.key} onChange={(e) => form.setKey(e.target.value)} />}
        </Field>
      )}
    </>
  );
}

/** A newly created secret: shown this once, with a copy button. */
export function SecretOnce({ secret, label, onDone }: { secret: string; label: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div>
      <p>
        Copy it now: <strong>it is shown only once</strong>. Togglerino keeps only its hash.
      </p>
      <div className="secret">
        <code aria-label={label}>{secret}</code>
        <button type="button" onClick={() => void navigator.clipboard?.writeText(secret).then(() => setCopied(true))}>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
