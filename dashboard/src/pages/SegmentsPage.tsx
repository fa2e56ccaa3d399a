import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api, seg } from "../api/client";
import type { Project } from "../api/types";
import { useAuth } from "../auth";
import { NameAndKeyFields, useNameAndKey } from "../components/forms";
import { ProjectNav } from "../components/ProjectNav";
import { Dialog, Empty, Failed, Field, FormError, Loading, fieldError, DialogActions } from "../components/ui";
import type { Condition } from "../rules/model";
import { ConditionEditor } from "../rules/RuleBuilder";

interface Segment {
  id: string;
  key: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  conditions: Condition[];
}

/** Reusable groups of users that flag rules target with `in_segment`. */
export function SegmentsPage() {
  const { project: projectKey = "" } = useParams();
  const { can } = useAuth();
  const base = `/projects/${seg(projectKey)}`;
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api.get<Project>(base) });
  const segments = useQuery({ queryKey: ["segments", projectKey], queryFn: () => api.get<Segment[]>(`${base}/segments`) });
  const [editing, setEditing] = useState<Segment | "new" | null>(null);
  const [deleting, setDeleting] = useState<Segment | null>(null);
  return (
    <section className="page">
      <ProjectNav projectKey={projectKey} projectName={project.data?.name} />
      <div className="page-header">
        <h1>Segments</h1>
        {can("editor") && (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            New segment
          </button>
        )}
      </div>
      {segments.isPending ? (
        <Loading what="segments" />
      ) : segments.isError ? (
        <Failed error={segments.error} retry={() => void segments.refetch()} />
      ) : segments.data.length === 0 ? (
        <Empty>
          <p>No segments yet. A segment names a group of users once, for any flag's rules to target.</p>
        </Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Segment</th>
              <th scope="col">Included</th>
              <th scope="col">Excluded</th>
              <th scope="col">Conditions</th>
              {can("editor") && <th scope="col" />}
            </tr>
          </thead>
          <tbody>
            {segments.data.map((s) => (
              <tr key={s.id}>
                <td>
                  <span className="flag-name">{s.name}</span>
                  <code className="muted">{s.key}</code>
                  {s.description && <p className="muted">{s.description}</p>}
                </td>
                <td>{s.included.length} users</td>
                <td>{s.excluded.length} users</td>
                <td>{s.conditions.length}</td>
                {can("editor") && (
                  <td>
                    <div className="actions">
                      <button type="button" onClick={() => setEditing(s)}>
                        Edit
                      </button>
                      <button type="button" className="danger" onClick={() => setDeleting(s)}>
                        Delete
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title={editing === "new" ? "New segment" : "Edit segment"} open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <SegmentForm projectKey={projectKey} segment={editing === "new" ? undefined : editing} onDone={() => setEditing(null)} />
        )}
      </Dialog>
      <Dialog title="Delete segment" open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && <DeleteSegment projectKey={projectKey} segment={deleting} onDone={() => setDeleting(null)} />}
      </Dialog>
    </section>
  );
}

function lines(text: string): string[] {
  return [...new Set(text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean))];
}

function SegmentForm({ projectKey, segment, onDone }: { projectKey: string; segment?: Segment | undefined; onDone: () => void }) {
  const queryClient = useQueryClient();
  const form = useNameAndKey(segment?.name, segment?.key);
  const [description, setDescription] = useState(segment?.description ?? "");
  const [included, setIncluded] = useState((segment?.included ?? []).join("\n"));
  const [excluded, setExcluded] = useState((segment?.excluded ?? []).join("\n"));
  const [conditions, setConditions] = useState<Condition[]>(segment?.conditions ?? []);
  const base = `/projects/${seg(projectKey)}/segments`;
  const save = useMutation({
    mutationFn: () => {
      const body = { name: form.name, description, included: lines(included), excluded: lines(excluded), conditions };
      return segment ? api.put(`${base}/${seg(segment.key)}`, body) : api.post(base, { key: form.key, ...body });
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["segments", projectKey] });
      onDone();
    },
  });
  const keyError = segment ? undefined : form.keyError("segment");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!keyError) save.mutate();
  };
  return (
    <form onSubmit={submit} className="wide-form">
      <FormError error={save.error} fields={["key", "name", "description", "included", "excluded", "conditions"]} />
      <NameAndKeyFields
        form={form}
        noun="segment"
        creating={!segment}
        nameError={fieldError(save.error, "name")}
        keyError={fieldError(save.error, "key")}
      />
      <Field label="Description" error={fieldError(save.error, "description")}>
        {(props) => <input {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <Field label="Always included (user ids, one per line)" error={fieldError(save.error, "included")}>
        {(props) => <textarea {...props} rows={3} value={included} onChange={(e) => setIncluded(e.target.value)} />}
      </Field>
      <Field label="Never included (user ids, one per line)" error={fieldError(save.error, "excluded")}>
        {(props) => <textarea {...props} rows={2} value={excluded} onChange={(e) => setExcluded(e.target.value)} />}
      </Field>
      <fieldset>
        <legend>Conditions</legend>
        <p className="muted">With conditions, a context matching all of them is in the segment too.</p>
        {conditions.map((condition, index) => (
          <ConditionEditor
            key={index}
            condition={condition}
            label={index === 0 ? "If" : "and"}
            segments={[]}
            error={fieldError(save.error, `conditions[${index}]`)}
            onChange={(next) => setConditions(conditions.map((c, i) => (i === index ? next : c)))}
            onRemove={() => setConditions(conditions.filter((_, i) => i !== index))}
          />
        ))}
        <button type="button" onClick={() => setConditions([...conditions, { attribute: "", operator: "equals", value: "" }])}>
          Add condition
        </button>
      </fieldset>
      <DialogActions onCancel={onDone} label={segment ? "Save segment" : "Create segment"} disabled={save.isPending} />
    </form>
  );
}

function DeleteSegment({ projectKey, segment, onDone }: { projectKey: string; segment: Segment; onDone: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.delete(`/projects/${seg(projectKey)}/segments/${seg(segment.key)}`),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["segments", projectKey] });
      onDone();
    },
  });
  const inUse =
    remove.error instanceof ApiError && remove.error.code === "segment_in_use"
      ? ((remove.error.body?.error as { details?: { flags?: string[] } }).details?.flags ?? [])
      : null;
  return (
    <div>
      {inUse ? (
        <div role="alert">
          <p>
            <strong>{segment.name}</strong> cannot be deleted while flag rules use it. Remove it from the rules of:
          </p>
          <ul>
            {inUse.map((flag) => (
              <li key={flag}>
                <Link to={`/projects/${seg(projectKey)}/flags/${seg(flag)}`} onClick={onDone}>
                  {flag}
                </Link>
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <>
          <p>
            Delete the segment <strong>{segment.name}</strong>? Flags can no longer target it.
          </p>
          <FormError error={remove.error} />
        </>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onDone}>
          {inUse ? "Close" : "Cancel"}
        </button>
        {!inUse && (
          <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
            Delete segment
          </button>
        )}
      </div>
    </div>
  );
}
