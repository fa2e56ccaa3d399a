import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api, seg } from "../api/client";
import type { Environment, Flag, FlagSummary, JsonValue } from "../api/types";
import { useAuth } from "../auth";
import { AuditLog } from "../audit/AuditLog";
import { diffJson } from "../audit/diff";
import { Dialog, Failed, FormError, Loading, Switch, errorMessage, DialogActions } from "../components/ui";
import { FlagUsage } from "../insights/FlagUsage";
import type { ConfigOut, FlagConfig } from "../rules/model";
import { totalWeight } from "../rules/model";
import { Playground } from "../rules/Playground";
import { PrerequisitesEditor } from "../rules/PrerequisitesEditor";
import { RuleBuilder } from "../rules/RuleBuilder";
import { VariantsEditor } from "../rules/VariantsEditor";

interface FlagDetail extends Flag {
  environments: Record<string, ConfigOut>;
}

interface Segment {
  key: string;
  name: string;
}

export function FlagDetailPage() {
  const { project: projectKey = "", flag: flagKey = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const base = `/projects/${seg(projectKey)}`;
  const flag = useQuery({
    queryKey: ["flag", projectKey, flagKey],
    queryFn: () => api.get<FlagDetail>(`${base}/flags/${seg(flagKey)}`),
  });
  const environments = useQuery({
    queryKey: ["environments", projectKey],
    queryFn: () => api.get<Environment[]>(`${base}/environments`),
  });
  const segments = useQuery({ queryKey: ["segments", projectKey], queryFn: () => api.get<Segment[]>(`${base}/segments`) });
  const flags = useQuery({
    queryKey: ["flags", projectKey, "", "", false],
    queryFn: () => api.get<FlagSummary[]>(`${base}/flags`),
  });

  if (flag.isPending || environments.isPending) return <Loading what="the flag" />;
  if (flag.isError) return <Failed error={flag.error} retry={() => void flag.refetch()} />;
  if (environments.isError) return <Failed error={environments.error} retry={() => void environments.refetch()} />;

  const selected = environments.data.find((e) => e.key === params.get("env")) ?? environments.data[0];
  return (
    <section className="page">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Projects</Link> / <Link to={`${base}/flags`}>{projectKey}</Link> / <span>{flag.data.key}</span>
      </nav>
      <FlagHeader projectKey={projectKey} flag={flag.data} />
      <div role="tablist" aria-label="Environments" className="tabs">
        {environments.data.map((env) => (
          <button
            key={env.id}
            type="button"
            role="tab"
            aria-selected={env.key === selected?.key}
            className="tab"
            onClick={() => setParams({ env: env.key }, { replace: true })}
          >
            {env.name}
            <span className={flag.data.environments[env.key]?.enabled ? "dot dot-on" : "dot"} aria-hidden />
          </button>
        ))}
      </div>
      {selected && flag.data.environments[selected.key] && (
        <div role="tabpanel" aria-label={selected.name}>
          <ConfigEditor
            // A fresh editor per environment; new versions from the server are merged in.
            key={selected.key}
            projectKey={projectKey}
            flag={flag.data}
            environment={selected}
            environments={environments.data}
            config={flag.data.environments[selected.key] as ConfigOut}
            segments={segments.data ?? []}
            flags={(flags.data ?? []).map((f) => ({ key: f.key, name: f.name }))}
          />
        </div>
      )}
      {selected && <FlagUsage projectKey={projectKey} flagKey={flag.data.key} environment={selected} />}
      {selected && flag.data.environments[selected.key] && (
        <Playground
          key={selected.key}
          projectKey={projectKey}
          flagKey={flag.data.key}
          environments={environments.data}
          initialEnvironment={selected.key}
          rulesOf={(env) => flag.data.environments[env]?.targeting_rules ?? []}
        />
      )}
      <section className="history" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <AuditLog
          path={`${base}/audit-log`}
          query={{ flag: flag.data.key }}
          empty="No changes recorded for this flag."
          receipts
        />
      </section>
    </section>
  );
}

function FlagHeader({ projectKey, flag }: { projectKey: string; flag: FlagDetail }) {
  const { can } = useAuth();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const path = `/projects/${seg(projectKey)}/flags/${seg(flag.key)}`;
  const archive = useMutation({
    mutationFn: () => api.post(`${path}/${flag.archived ? "unarchive" : "archive"}`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["flag", projectKey, flag.key] }),
  });
  const visibility = useMutation({
    mutationFn: () =>
      api.put(path, {
        name: flag.name,
        description: flag.description,
        default_value: flag.default_value,
        tags: flag.tags,
        client_visible: !flag.client_visible,
      }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["flag", projectKey, flag.key] }),
  });
  const remove = useMutation({
    mutationFn: () => api.delete(path),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["flags", projectKey] });
      navigate(`/projects/${seg(projectKey)}/flags`);
    },
  });
  return (
    <div className="page-header">
      <div>
        <h1>
          {flag.name} <span className={`badge badge-type-${flag.type}`}>{flag.type}</span>
          {flag.archived && <span className="badge">archived</span>}
          {!flag.client_visible && (
            <span className="badge" title="Client SDK keys do not see this flag; server keys do">
              server keys only
            </span>
          )}
        </h1>
        <code>{flag.key}</code>
        {flag.description && <p className="muted">{flag.description}</p>}
        <div>
          {flag.tags.map((t) => (
            <span key={t} className="tag">
              {t}
            </span>
          ))}
        </div>
      </div>
      {can("editor") && (
        <div className="actions">
          <button type="button" onClick={() => visibility.mutate()} disabled={visibility.isPending}>
            {flag.client_visible ? "Hide from client keys" : "Show to client keys"}
          </button>
          <button type="button" onClick={() => archive.mutate()} disabled={archive.isPending}>
            {flag.archived ? "Unarchive" : "Archive"}
          </button>
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        </div>
      )}
      <FormError error={archive.error ?? visibility.error} />
      <Dialog title="Delete flag" open={deleting} onClose={() => setDeleting(false)}>
        <p>
          Deleting <strong>{flag.key}</strong> removes it from every environment. Applications asking for it get their code
          default. Archiving keeps its history and can be undone.
        </p>
        <FormError error={remove.error} />
        <DialogActions onCancel={() => setDeleting(false)} label="Delete flag" danger disabled={remove.isPending} onConfirm={() => remove.mutate()} />
      </Dialog>
    </div>
  );
}

function editable(config: FlagConfig): FlagConfig {
  return {
    enabled: config.enabled,
    variants: config.variants,
    default_variant: config.default_variant,
    targeting_rules: config.targeting_rules ?? [],
    prerequisites: config.prerequisites ?? [],
  };
}

function ConfigEditor({
  projectKey,
  flag,
  environment,
  environments,
  config,
  segments,
  flags,
}: {
  projectKey: string;
  flag: FlagDetail;
  environment: Environment;
  environments: Environment[];
  config: ConfigOut;
  segments: Segment[];
  flags: { key: string; name: string }[];
}) {
  const { can } = useAuth();
  const queryClient = useQueryClient();
  const readOnly = !can("editor");
  // The server's config the draft started from, and the version a save must carry.
  const [baseline, setBaseline] = useState<ConfigOut>(config);
  const [draft, setDraft] = useState<FlagConfig>(() => editable(config));
  const [conflict, setConflict] = useState<ConfigOut | null>(null);
  const version = baseline.version;
  const dirty = JSON.stringify(draft) !== JSON.stringify(editable(baseline));
  const startFrom = (next: ConfigOut) => {
    setBaseline(next);
    setDraft(editable(next));
  };
  // A newer version read from the server (someone else, a refetch) replaces a clean
  // draft; a draft with unsaved edits is kept, and its save will meet the 409 flow.
  const [seen, setSeen] = useState(config.version);
  if (config.version !== seen) {
    setSeen(config.version);
    if (!dirty && config.version > baseline.version) startFrom(config);
  }
  const path = `/projects/${seg(projectKey)}/flags/${seg(flag.key)}/environments/${seg(environment.key)}`;
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["flag", projectKey, flag.key] });

  const save = useMutation({
    mutationFn: () => api.put<ConfigOut>(path, { ...draft, version }),
    onSuccess: async (saved) => {
      setConflict(null);
      startFrom(saved);
      await refresh();
      await queryClient.invalidateQueries({ queryKey: ["audit"] });
      await queryClient.invalidateQueries({ queryKey: ["flags", projectKey] });
    },
    onError: (error) => {
      if (error instanceof ApiError && error.status === 409) {
        const current = (error.body?.error as { details?: { current?: ConfigOut } }).details?.current;
        if (current) setConflict(current);
      }
    },
  });
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => api.post<ConfigOut>(`${path}/toggle`, { enabled, version }),
    onSuccess: (updated) => {
      setBaseline((b) => ({ ...b, enabled: updated.enabled, version: updated.version, updated_by: updated.updated_by }));
      setDraft((d) => ({ ...d, enabled: updated.enabled }));
      void refresh();
      void queryClient.invalidateQueries({ queryKey: ["flags", projectKey] });
      void queryClient.invalidateQueries({ queryKey: ["audit"] });
    },
    onError: (error) => {
      if (error instanceof ApiError && error.status === 409) void refresh();
    },
  });

  const errorFor = (field: string) => {
    const error = save.error;
    if (!(error instanceof ApiError) || error.status !== 422 || !error.field) return undefined;
    return error.field === field || error.field.startsWith(`${field}.`) ? error.message : undefined;
  };
  const unfinished =
    draft.variants.some((v) => v.value === undefined) ||
    draft.targeting_rules.some((r) => r.rollout !== undefined && totalWeight(r.rollout) !== 100);
  const others = environments.filter((e) => e.key !== environment.key);

  return (
    <form
      className="config"
      onSubmit={(event) => {
        event.preventDefault();
        save.mutate();
      }}
    >
      <div className="config-bar">
        <label className="checkbox">
          <Switch
            checked={draft.enabled}
            label={`${flag.key} enabled in ${environment.name}`}
            disabled={readOnly || toggle.isPending}
            onChange={(enabled) => toggle.mutate(enabled)}
          />{" "}
          {draft.enabled ? "On" : "Off"} in {environment.name}
        </label>
        {!readOnly && others.length > 0 && (
          <CopyFrom
            environments={others}
            onCopy={(from) => {
              const source = flag.environments[from.key];
              if (source) setDraft((d) => ({ ...editable(source), enabled: d.enabled }));
            }}
          />
        )}
        <span className="muted">
          Version {version}
          {baseline.updated_by ? `, last changed by ${baseline.updated_by}` : ""}
        </span>
      </div>
      {toggle.isError && <FormError error={toggle.error} />}
      {conflict && (
        <div className="conflict" role="alert">
          <p>
            <strong>{conflict.updated_by ?? "Someone"}</strong> saved this environment at{" "}
            {new Date(conflict.updated_at).toLocaleString()} (version {conflict.version}) after you opened it. Your changes are
            not saved.
          </p>
          <details open>
            <summary>How their version differs from yours (- yours, + theirs)</summary>
            <pre className="code diff" aria-label="Their changes">
              {diffJson(draft as unknown as JsonValue, editable(conflict) as unknown as JsonValue)
                .filter((line, index, lines) => line.kind !== "same" || lines[index - 1]?.kind !== "same" || lines[index + 1]?.kind !== "same")
                .map((line, index) => (
                  <div key={index} className={`diff-${line.kind}`}>
                    {line.kind === "added" ? "+ " : line.kind === "removed" ? "- " : "  "}
                    {line.text}
                  </div>
                ))}
            </pre>
          </details>
          <div className="actions">
            <button
              type="button"
              onClick={() => {
                startFrom(conflict);
                setConflict(null);
                save.reset();
              }}
            >
              Reload their version (discard mine)
            </button>
            <button
              type="button"
              onClick={() => {
                setBaseline((b) => ({ ...conflict, ...editable(b) }));
                setConflict(null);
                save.reset();
              }}
            >
              Keep mine and save over theirs
            </button>
          </div>
        </div>
      )}
      {save.error && !conflict && !(save.error instanceof ApiError && save.error.field) && <FormError error={save.error} />}
      {save.error instanceof ApiError && save.error.field && !conflict && (
        <p className="form-error" role="alert">
          {save.error.field}: {errorMessage(save.error)}
        </p>
      )}
      <VariantsEditor
        type={flag.type}
        variants={draft.variants}
        defaultVariant={draft.default_variant}
        disabled={readOnly}
        errorFor={errorFor}
        onChange={(variants) => setDraft((d) => ({ ...d, variants }))}
        onDefaultChange={(default_variant) => setDraft((d) => ({ ...d, default_variant }))}
      />
      <RuleBuilder
        rules={draft.targeting_rules}
        variants={draft.variants}
        segments={segments}
        disabled={readOnly}
        errorFor={errorFor}
        onChange={(targeting_rules) => setDraft((d) => ({ ...d, targeting_rules }))}
      />
      {!readOnly && (
        <PrerequisitesEditor
          projectKey={projectKey}
          environmentKey={environment.key}
          flagKey={flag.key}
          flags={flags}
          prerequisites={draft.prerequisites}
          errorFor={errorFor}
          onChange={(prerequisites) => setDraft((d) => ({ ...d, prerequisites }))}
        />
      )}
      {!readOnly && (
        <div className="save-bar">
          {save.isSuccess && !dirty && (
            <span className="notice" role="status">
              Saved.
            </span>
          )}
          <button type="button" disabled={!dirty} onClick={() => setDraft(editable(baseline))}>
            Discard changes
          </button>
          <button type="submit" className="primary" disabled={!dirty || unfinished || save.isPending}>
            {save.isPending ? "Saving…" : `Save ${environment.name}`}
          </button>
        </div>
      )}
    </form>
  );
}

function CopyFrom({ environments, onCopy }: { environments: Environment[]; onCopy: (from: Environment) => void }) {
  const [from, setFrom] = useState("");
  return (
    <span className="copy-from">
      <select aria-label="Copy the configuration from" value={from} onChange={(e) => setFrom(e.target.value)}>
        <option value="">Copy from…</option>
        {environments.map((e) => (
          <option key={e.key} value={e.key}>
            {e.name}
          </option>
        ))}
      </select>
      <button
        type="button"
        disabled={!from}
        onClick={() => {
          const source = environments.find((e) => e.key === from);
          if (source) onCopy(source);
        }}
      >
        Copy
      </button>
    </span>
  );
}
