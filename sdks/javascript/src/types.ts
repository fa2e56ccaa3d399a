/** Who is asking: the user and what is known about them. */
export interface EvaluationContext {
  user_id?: string;
  attributes?: Record<string, unknown>;
}

/** One flag's answer for a context, as the edge sends it. */
export interface FlagDetails<T = unknown> {
  value: T;
  /** `null` when the flag is off (disabled, or a prerequisite failed). */
  variant: string | null;
  /** `TARGETING_MATCH`, `SPLIT`, `DEFAULT`, `DISABLED`, `PREREQUISITE_FAILED`, or `FLAG_NOT_FOUND` for a key the client does not know. */
  reason: string;
}

export type FlagValues = Record<string, FlagDetails>;

/** `connecting` until the first answer; `streaming` while the edge's stream is open; `polling` after repeated stream failures (or with `streaming: false`); `offline` while nothing reaches the edge. */
export type Status = "connecting" | "streaming" | "polling" | "offline";

/** The part of the Web Storage API the cache uses; `localStorage` in browsers. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface TogglerinoOptions {
  /** The edge, e.g. `https://flags.example.com`. */
  baseUrl: string;
  sdkKey: string;
  project: string;
  environment: string;
  context?: EvaluationContext;
  /** Values to serve at once, e.g. from server rendering; `initialize()` resolves immediately. */
  bootstrap?: FlagValues;
  /** Follow the edge's stream (default). With `false`, poll every `pollIntervalMs`, or fetch once. */
  streaming?: boolean;
  /** How often to poll when not streaming; default 30 s. */
  pollIntervalMs?: number;
  /** How long `initialize()` and `identify()` wait for the edge before settling for what they have; default 5 s. */
  timeoutMs?: number;
  /** Where last values are kept per context; `localStorage` in browsers, none elsewhere. `null` turns caching off. */
  storage?: StorageLike | null;
  /** How long cached values may be served; default 7 days. */
  cacheTtlMs?: number;
  /** Count `get*` reads per flag and variant and send the counts to the edge, for the dashboard's insights (default). `false` sends nothing. */
  sendUsage?: boolean;
  /** How often read counts are sent; default a minute. Pages also send them when hidden. */
  usageIntervalMs?: number;
}

/** What `error` listeners receive. */
export class TogglerinoError extends Error {
  constructor(
    message: string,
    /** `network`, `timeout`, `unauthorized`, `forbidden`, `http`, `invalid_response`. */
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "TogglerinoError";
  }
}
