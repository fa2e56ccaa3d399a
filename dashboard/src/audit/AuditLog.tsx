import { useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";

import { api } from "../api/client";
import type { JsonValue } from "../api/types";
import { Empty, Failed, Loading } from "../components/ui";
import { diffJson } from "./diff";
import { Receipt } from "./Receipt";

export interface AuditEntry {
  id: number;
  project_key: string | null;
  environment_key: string | null;
  actor_type: string;
  actor_name: string;
  action: string;
  entity_type: string;
  entity_key: string;
  old_value: JsonValue | null;
  new_value: JsonValue | null;
  created_at: string;
}

interface Page {
  entries: AuditEntry[];
  next_before: number | null;
}

/** Audit entries newest first, a page at a time, each with its old/new diff. */
export function AuditLog({
  path,
  query,
  empty,
  receipts = false,
}: {
  path: string;
  query?: Record<string, string>;
  empty: string;
  /** Show, per entry, whether the change reached every edge. */
  receipts?: boolean;
}) {
  const params = new URLSearchParams(query);
  const pages = useInfiniteQuery({
    queryKey: ["audit", path, params.toString()],
    queryFn: ({ pageParam }) => {
      const page = new URLSearchParams(params);
      page.set("limit", "25");
      if (pageParam !== null) page.set("before", String(pageParam));
      return api.get<Page>(`${path}?${page.toString()}`);
    },
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next_before,
  });
  if (pages.isPending) return <Loading what="the audit log" />;
  if (pages.isError) return <Failed error={pages.error} retry={() => void pages.refetch()} />;
  const entries = pages.data.pages.flatMap((p) => p.entries);
  if (entries.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div>
      <ol className="audit" aria-label="Audit entries">
        {entries.map((entry) => (
          <AuditItem key={entry.id} entry={entry} receipt={receipts} />
        ))}
      </ol>
      {pages.hasNextPage && (
        <button type="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          {pages.isFetchingNextPage ? "Loading…" : "Older entries"}
        </button>
      )}
    </div>
  );
}

function AuditItem({ entry, receipt }: { entry: AuditEntry; receipt: boolean }) {
  const [open, setOpen] = useState(false);
  const lines = open ? diffJson(entry.old_value, entry.new_value) : [];
  return (
    <li className="audit-entry">
      <div className="audit-summary">
        <time dateTime={entry.created_at}>{new Date(entry.created_at).toLocaleString()}</time>
        <strong>{entry.actor_name}</strong>
        {entry.actor_type !== "user" && <span className="badge">{entry.actor_type.replace("_", " ")}</span>}
        <code>{entry.action}</code>
        <span>
          {entry.entity_type} <strong>{entry.entity_key}</strong>
          {entry.environment_key && <> in {entry.environment_key}</>}
          {entry.project_key && <span className="muted"> ({entry.project_key})</span>}
        </span>
        {(entry.old_value !== null || entry.new_value !== null) && (
          <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "Hide changes" : "Show changes"}
          </button>
        )}
      </div>
      {receipt && <Receipt entryId={entry.id} />}
      {open && (
        <pre className="code diff" aria-label={`Changes of entry ${entry.id}`}>
          {lines.map((line, index) => (
            <div key={index} className={`diff-${line.kind}`}>
              {line.kind === "added" ? "+ " : line.kind === "removed" ? "- " : "  "}
              {line.text}
            </div>
          ))}
        </pre>
      )}
    </li>
  );
}
