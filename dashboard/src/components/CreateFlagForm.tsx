import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, seg } from "../api/client";
import type { Flag, FlagType, JsonValue } from "../api/types";
import { NameAndKeyFields, useNameAndKey } from "./forms";
import { Field, FormError, fieldError, DialogActions } from "./ui";
import { ValueInput, initialValue } from "./ValueInput";

export function CreateFlagForm({ projectKey, onDone }: { projectKey: string; onDone: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const form = useNameAndKey();
  const [description, setDescription] = useState("");
  const [type, setType] = useState<FlagType>("boolean");
  const [defaultValue, setDefaultValue] = useState<JsonValue | undefined>(false);
  const [tags, setTags] = useState("");
  const [clientVisible, setClientVisible] = useState(true);
  const create = useMutation({
    mutationFn: () =>
      api.post<Flag>(`/projects/${seg(projectKey)}/flags`, {
        key: form.key,
        name: form.name,
        description,
        type,
        default_value: defaultValue,
        tags: tags
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
        client_visible: clientVisible,
      }),
    onSuccess: async (flag) => {
      await queryClient.invalidateQueries({ queryKey: ["flags", projectKey] });
      onDone();
      navigate(`/projects/${seg(projectKey)}/flags/${seg(flag.key)}`);
    },
  });
  const keyError = form.keyError("flag");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!keyError && defaultValue !== undefined) create.mutate();
  };
  return (
    <form onSubmit={submit}>
      <FormError error={create.error} fields={["key", "name", "description", "type", "default_value", "tags"]} />
      <NameAndKeyFields
        form={form}
        noun="flag"
        creating
        nameError={fieldError(create.error, "name")}
        keyError={fieldError(create.error, "key")}
        keyHint="What applications ask for; cannot change later"
      />
      <Field label="Description" error={fieldError(create.error, "description")}>
        {(props) => <textarea {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <Field label="Type" error={fieldError(create.error, "type")}>
        {(props) => (
          <select
            {...props}
            value={type}
            onChange={(e) => {
              const next = e.target.value as FlagType;
              setType(next);
              setDefaultValue(initialValue(next));
            }}
          >
            <option value="boolean">Boolean</option>
            <option value="string">String</option>
            <option value="number">Number</option>
            <option value="json">JSON</option>
          </select>
        )}
      </Field>
      <ValueInput
        key={type}
        label="Default value"
        hint="Served when the flag is off"
        type={type}
        value={defaultValue}
        onChange={setDefaultValue}
        error={fieldError(create.error, "default_value")}
      />
      <Field label="Tags" error={fieldError(create.error, "tags")} hint="Separated by commas">
        {(props) => <input {...props} value={tags} onChange={(e) => setTags(e.target.value)} />}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={clientVisible} onChange={(e) => setClientVisible(e.target.checked)} /> Visible to
        client-side SDKs (browsers and mobile apps, whose users can read every answer); back ends always see it
      </label>
      <DialogActions onCancel={onDone} label="Create flag" disabled={create.isPending} />
    </form>
  );
}
