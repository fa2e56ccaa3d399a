// The control plane's wire types, as its OpenAPI document (/api/v1/openapi.json)
// describes them. Only what the dashboard reads or writes.

export type Role = "admin" | "editor" | "viewer";

export interface User {
  id: string;
  email: string;
  role: Role;
  created_at: string;
}

export interface Session {
  user: User;
  csrf_token: string;
}

export interface Me {
  type: "user" | "api_token";
  id: string;
  name: string;
  role: Role;
  csrf_token?: string;
}

export interface Project {
  id: string;
  key: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface Environment {
  id: string;
  key: string;
  name: string;
  revision: number;
}

export type FlagType = "boolean" | "string" | "number" | "json";
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Flag {
  id: string;
  key: string;
  name: string;
  description: string;
  type: FlagType;
  default_value: JsonValue;
  tags: string[];
  archived: boolean;
  /** Whether client SDK keys (browsers, mobile apps) see the flag; server keys see every flag. */
  client_visible: boolean;
  created_at: string;
  updated_at: string;
}

/** A flag in the list, with whether it is on in each environment (by key). */
export interface FlagSummary extends Flag {
  environments: Record<string, { enabled: boolean; version: number }>;
}

export interface NewFlag {
  key: string;
  name: string;
  description: string;
  type: FlagType;
  default_value: JsonValue;
  tags: string[];
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; [extra: string]: unknown };
}

/** How many evaluations gave one answer; `variant` is null for the default value served while off. */
export interface VariantCount {
  variant: string | null;
  count: number;
}

export interface UsageBucket {
  start: string;
  counts: VariantCount[];
}

export interface EnvironmentUsage {
  environment: string;
  total: number;
  /** Most served first. */
  variants: VariantCount[];
  /** Buckets with evaluations only, oldest first. */
  buckets: UsageBucket[];
  last_evaluated_at: string | null;
}

export interface FlagUsage {
  step: "minute" | "hour";
  from: string;
  to: string;
  environments: EnvironmentUsage[];
}

/** Per flag key, per environment key: evaluations since `since`, and the last one. */
export interface ProjectActivity {
  since: string;
  flags: Record<string, Record<string, { count: number; last_evaluated_at: string | null }>>;
}

export interface StaleFlag {
  flag: string;
  name: string;
  reasons: { code: "one_answer" | "not_evaluated"; message: string }[];
  config_changed_at: string;
  last_evaluated_at: string | null;
}

export interface StaleFlags {
  days: number;
  flags: StaleFlag[];
}

export interface FleetEnvironment {
  project: string;
  environment: string;
  revision: number;
  current_revision: number | null;
  behind: number;
  applied_at: string;
}

/** An edge as its heartbeats describe it; `via` is the edge it follows, null for the control plane. */
export interface FleetEdge {
  id: string;
  via: string | null;
  state: "live" | "gone";
  version: string;
  upstream: string;
  listen: string;
  started_at: string;
  last_seen_at: string;
  sdk_streams: number;
  evaluations_per_second: number;
  sync_error: string | null;
  behind: number;
  environments: FleetEnvironment[];
}
