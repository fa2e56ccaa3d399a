import { backoffDelay, BACKOFF_MAX_MS } from "./backoff.js";
import { DEFAULT_CACHE_TTL_MS, defaultStorage, FlagCache } from "./cache.js";
import { canonicalJson } from "./context.js";
import { Emitter } from "./emitter.js";
import type { SseEvent } from "./sse.js";
import { fetchFlags, followStream, isAbort, type Endpoint } from "./transport.js";
import { DEFAULT_USAGE_INTERVAL_MS, UsageCounter } from "./usage.js";
import {
  TogglerinoError,
  type EvaluationContext,
  type FlagDetails,
  type FlagValues,
  type Status,
  type TogglerinoOptions,
} from "./types.js";

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_POLL_INTERVAL_MS = 30_000;
/** Stream attempts in a row that bring no answer before polling takes over meanwhile. */
const STREAM_FAILURES_BEFORE_POLLING = 3;
/** A page hidden this long gives up its stream until it is shown again. */
const HIDDEN_CLOSE_MS = 60_000;

const NOT_FOUND: FlagDetails = Object.freeze({ value: undefined, variant: null, reason: "FLAG_NOT_FOUND" });

function sameAnswer(a: FlagDetails | undefined, b: FlagDetails | undefined): boolean {
  if (!a || !b) return a === b;
  return a.variant === b.variant && canonicalJson(a.value) === canonicalJson(b.value);
}

/** Entries the edge may send, kept only if they look like answers. */
function answers(flags: unknown): Map<string, FlagDetails> {
  const out = new Map<string, FlagDetails>();
  if (typeof flags !== "object" || flags === null) return out;
  for (const [key, details] of Object.entries(flags as Record<string, unknown>)) {
    if (typeof details === "object" && details !== null && "value" in details) {
      const d = details as Partial<FlagDetails>;
      out.set(key, {
        value: d.value,
        variant: typeof d.variant === "string" ? d.variant : null,
        reason: typeof d.reason === "string" ? d.reason : "UNKNOWN",
      });
    }
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

type Waiter = { generation: number; resolve: () => void };

/**
 * Flags for one context from a Togglerino edge, kept current over the edge's stream.
 * Construction is inert (safe during server rendering); `initialize()` connects.
 */
export class Togglerino {
  private readonly endpoint: Endpoint;
  private readonly streaming: boolean;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly cache: FlagCache;
  private readonly emitter = new Emitter();
  private readonly bootstrap: Map<string, FlagDetails> | undefined;
  private readonly usage: UsageCounter | null;

  private context: EvaluationContext;
  private values: Map<string, FlagDetails>;
  /** Bumped by `identify`: answers for an older context are dropped. */
  private generation = 0;
  private connection: AbortController | null = null;
  private waiters: Waiter[] = [];
  private started: Promise<void> | null = null;
  private closed = false;
  private hasLiveValues = false;
  private currentStatus: Status = "connecting";
  private error: TogglerinoError | null = null;
  private lastEventId: string | undefined;
  private etag: string | null = null;
  private hiddenTimer: ReturnType<typeof setTimeout> | undefined;
  private pausedWhileHidden = false;
  private detachPage: (() => void) | null = null;

  constructor(options: TogglerinoOptions) {
    for (const name of ["baseUrl", "sdkKey", "project", "environment"] as const) {
      if (typeof options[name] !== "string" || options[name] === "") {
        throw new TypeError(`Togglerino: option ${name} is required`);
      }
    }
    this.endpoint = {
      baseUrl: options.baseUrl,
      sdkKey: options.sdkKey,
      project: options.project,
      environment: options.environment,
    };
    this.streaming = options.streaming ?? true;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.context = { ...(options.context ?? {}) };
    const storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.cache = new FlagCache(
      storage,
      `${options.project}:${options.environment}`,
      options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS,
    );
    this.usage =
      options.sendUsage === false ? null : new UsageCounter(this.endpoint, options.usageIntervalMs ?? DEFAULT_USAGE_INTERVAL_MS);
    this.bootstrap = options.bootstrap ? answers(options.bootstrap) : undefined;
    this.values = new Map(this.bootstrap ?? answers(this.cache.load(this.context)));
    this.hasLiveValues = this.bootstrap !== undefined;
  }

  /** Connects. Resolves once the edge's first answer is in, at once with `bootstrap`, or after `timeoutMs` (with an `error`) whatever happens; never rejects. */
  initialize(): Promise<void> {
    if (this.started) return this.started;
    if (this.closed) return (this.started = Promise.resolve());
    this.attachPage();
    this.usage?.start();
    if (this.bootstrap) {
      this.emitter.emit("ready");
      this.started = Promise.resolve();
    } else {
      this.started = this.firstAnswer(this.generation);
    }
    this.connect();
    return this.started;
  }

  /** Switches to another context: keeps serving the old values until the new ones arrive, then emits `change` for what differs. Resolves like `initialize()`. */
  identify(context: EvaluationContext): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.generation++;
    this.context = { ...context };
    this.etag = null;
    this.lastEventId = undefined;
    const cached = this.cache.load(this.context);
    if (cached) this.replaceAll(answers(cached), this.generation, false);
    const answered = this.firstAnswer(this.generation);
    if (this.started) this.connect();
    else void this.initialize();
    return answered;
  }

  /** The flag's answer, counted as read for the edge's insights. */
  private read(key: string): FlagDetails | undefined {
    const details = this.values.get(key);
    if (details && !this.closed) this.usage?.count(key, details.variant);
    return details;
  }

  getBool(key: string, defaultValue: boolean): boolean {
    const value = this.read(key)?.value;
    return typeof value === "boolean" ? value : defaultValue;
  }

  getString(key: string, defaultValue: string): string {
    const value = this.read(key)?.value;
    return typeof value === "string" ? value : defaultValue;
  }

  getNumber(key: string, defaultValue: number): number {
    const value = this.read(key)?.value;
    return typeof value === "number" && Number.isFinite(value) ? value : defaultValue;
  }

  /** The flag's JSON value when it has the default's shape (array, object, or any value for a primitive default). */
  getJson<T>(key: string, defaultValue: T): T {
    const value = this.read(key)?.value;
    if (value === undefined) return defaultValue;
    if (Array.isArray(defaultValue)) return Array.isArray(value) ? (value as T) : defaultValue;
    if (typeof defaultValue === "object" && defaultValue !== null) {
      return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as T) : defaultValue;
    }
    return value as T;
  }

  getDetails(key: string): FlagDetails {
    return this.read(key) ?? NOT_FOUND;
  }

  /** `getDetails` without counting a read: for frameworks that ask again and again while rendering once. */
  peekDetails(key: string): FlagDetails {
    return this.values.get(key) ?? NOT_FOUND;
  }

  allFlags(): FlagValues {
    return Object.fromEntries(this.values);
  }

  /** The values bootstrap gave, for rendering on the server and hydrating the same markup. */
  bootstrapFlags(): FlagValues | undefined {
    return this.bootstrap ? Object.fromEntries(this.bootstrap) : undefined;
  }

  get status(): Status {
    return this.currentStatus;
  }

  /** True once values from the edge or `bootstrap` are served. */
  get ready(): boolean {
    return this.hasLiveValues;
  }

  /** The latest failure, until the edge answers again. */
  get lastError(): TogglerinoError | null {
    return this.error;
  }

  on(event: "ready", listener: () => void): void;
  on(event: "change", listener: (changedKeys: string[]) => void): void;
  on(event: `change:${string}`, listener: (details: FlagDetails) => void): void;
  on(event: "error", listener: (error: TogglerinoError) => void): void;
  on(event: "status", listener: (status: Status) => void): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): void {
    if (!this.closed) this.emitter.on(event, listener);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): void {
    this.emitter.off(event, listener);
  }

  /** Releases every timer, stream and listener; the values stay readable. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.usage?.stop();
    this.connection?.abort();
    this.connection = null;
    clearTimeout(this.hiddenTimer);
    this.detachPage?.();
    this.detachPage = null;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    this.emitter.clear();
  }

  // --- connection ---------------------------------------------------------------

  /** (Re)starts the connection for the current context. */
  private connect(): void {
    this.connection?.abort();
    if (this.closed) return;
    const connection = new AbortController();
    this.connection = connection;
    this.pausedWhileHidden = false;
    this.setStatus("connecting");
    const generation = this.generation;
    const run = this.streaming
      ? this.streamLoop(generation, connection.signal)
      : this.pollLoop(generation, connection.signal, false);
    void run.catch((error: unknown) => {
      if (!isAbort(error)) this.fail(error);
    });
  }

  private async streamLoop(generation: number, signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let failures = 0;
    let polling: AbortController | null = null;
    const stopPolling = () => {
      polling?.abort();
      polling = null;
    };
    signal.addEventListener("abort", stopPolling);
    while (!signal.aborted) {
      let answered = false;
      let problem: unknown;
      try {
        await followStream(
          this.endpoint,
          this.context,
          this.lastEventId,
          signal,
          () => undefined,
          (event) => {
            if (this.onStreamEvent(event, generation) && !answered) {
              answered = true;
              attempt = 0;
              failures = 0;
              stopPolling();
              this.setStatus("streaming");
            }
          },
        );
        problem = new TogglerinoError("the edge ended the stream", "network");
      } catch (error) {
        problem = error;
      }
      if (signal.aborted) return;
      this.fail(problem);
      failures = answered ? 1 : failures + 1;
      if (failures >= STREAM_FAILURES_BEFORE_POLLING && !polling) {
        polling = new AbortController();
        // Aborted with the connection too: `stopPolling` listens on `signal`.
        void this.pollLoop(generation, polling.signal, true);
      } else if (!polling) {
        this.setStatus("offline");
      }
      const code = (problem as TogglerinoError)?.code;
      const refused = code === "unauthorized" || code === "forbidden";
      await sleep(refused ? BACKOFF_MAX_MS : backoffDelay(attempt++), signal);
      if (!polling && !signal.aborted) this.setStatus("connecting");
    }
  }

  /** Polls the evaluate endpoint; with `interim`, only while the stream is failing. */
  private async pollLoop(generation: number, signal: AbortSignal, interim: boolean): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.refresh(generation, signal);
      } catch (error) {
        if (signal.aborted || isAbort(error)) return;
        this.fail(error);
        this.setStatus("offline");
      }
      if (!interim && this.pollIntervalMs <= 0) return;
      await sleep(this.pollIntervalMs > 0 ? this.pollIntervalMs : DEFAULT_POLL_INTERVAL_MS, signal);
    }
  }

  private async refresh(generation: number, signal: AbortSignal): Promise<void> {
    const fetched = await fetchFlags(this.endpoint, this.context, this.etag, signal);
    if (generation !== this.generation || signal.aborted) return;
    this.error = null;
    // Before the values land, so whoever awaits them sees the status that brought them.
    this.setStatus("polling");
    if (fetched === "not_modified") return;
    this.etag = fetched.etag;
    this.replaceAll(answers(fetched.flags), generation, true);
  }

  /** Applies one stream event; true if it carried answers. */
  private onStreamEvent(event: SseEvent, generation: number): boolean {
    if (generation !== this.generation) return false;
    let body: { flags?: unknown; removed?: unknown };
    try {
      body = JSON.parse(event.data) as typeof body;
    } catch {
      this.fail(new TogglerinoError(`the edge sent a ${event.event} event that is not JSON`, "invalid_response"));
      return false;
    }
    if (event.event === "flags") {
      if (typeof body.flags !== "object" || body.flags === null) {
        // Never wipe what is served over an event that does not say what to serve.
        this.fail(new TogglerinoError("the edge sent a flags event without flags", "invalid_response"));
        return false;
      }
      this.lastEventId = event.id;
      this.error = null;
      this.replaceAll(answers(body.flags), generation, true);
      return true;
    }
    if (event.event === "patch") {
      this.lastEventId = event.id;
      const removed = Array.isArray(body.removed) ? body.removed.filter((k) => typeof k === "string") : [];
      this.patch(answers(body.flags), removed, generation);
      return true;
    }
    return false;
  }

  // --- values -------------------------------------------------------------------

  private replaceAll(next: Map<string, FlagDetails>, generation: number, live: boolean): void {
    if (generation !== this.generation || this.closed) return;
    const changed: string[] = [];
    for (const [key, details] of next) {
      const previous = this.values.get(key);
      if (!sameAnswer(previous, details)) changed.push(key);
      else if (previous?.reason === details.reason) next.set(key, previous);
    }
    for (const key of this.values.keys()) if (!next.has(key)) changed.push(key);
    this.values = next;
    if (live) {
      this.cache.save(this.context, Object.fromEntries(next));
      this.markReady();
      for (const waiter of this.waiters.filter((w) => w.generation === generation)) waiter.resolve();
      this.waiters = this.waiters.filter((w) => w.generation !== generation);
    }
    this.announce(changed);
  }

  private patch(upserts: Map<string, FlagDetails>, removed: string[], generation: number): void {
    if (generation !== this.generation || this.closed) return;
    const next = new Map(this.values);
    const changed: string[] = [];
    for (const [key, details] of upserts) {
      const previous = next.get(key);
      if (!sameAnswer(previous, details)) changed.push(key);
      // An unmoved answer keeps its object, so what renders from it need not.
      else if (previous?.reason === details.reason) continue;
      next.set(key, details);
    }
    for (const key of removed) {
      if (next.delete(key)) changed.push(key);
    }
    this.values = next;
    this.cache.save(this.context, Object.fromEntries(next));
    this.announce(changed);
  }

  private announce(changed: string[]): void {
    if (changed.length === 0) return;
    for (const key of changed) this.emitter.emit(`change:${key}`, this.values.get(key) ?? NOT_FOUND);
    this.emitter.emit("change", changed);
  }

  private markReady(): void {
    if (this.hasLiveValues) return;
    this.hasLiveValues = true;
    this.emitter.emit("ready");
  }

  /** Resolves when the first answer for `generation` is in, or after the timeout. */
  private firstAnswer(generation: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiters.some((w) => w.resolve === done)) {
          this.fail(new TogglerinoError(`no answer from the edge within ${this.timeoutMs} ms`, "timeout"));
        }
        done();
      }, this.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve();
      };
      this.waiters.push({ generation, resolve: done });
    });
  }

  private setStatus(status: Status): void {
    if (status === this.currentStatus || this.closed) return;
    this.currentStatus = status;
    this.emitter.emit("status", status);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const failure =
      error instanceof TogglerinoError ? error : new TogglerinoError(String((error as Error)?.message ?? error), "network");
    this.error = failure;
    this.emitter.emit("error", failure);
  }

  // --- the page -----------------------------------------------------------------

  /** In browsers: no stream while the page is hidden for a while, a refresh when it is shown, a retry when the network returns. */
  private attachPage(): void {
    if (typeof document === "undefined" || typeof window === "undefined") return;
    const onVisibility = () => {
      if (document.visibilityState === "hidden") {
        clearTimeout(this.hiddenTimer);
        this.hiddenTimer = setTimeout(() => {
          this.connection?.abort();
          this.connection = null;
          this.pausedWhileHidden = true;
        }, HIDDEN_CLOSE_MS);
      } else {
        clearTimeout(this.hiddenTimer);
        if (this.pausedWhileHidden) this.connect();
      }
    };
    const onOnline = () => {
      if (this.currentStatus === "offline") this.connect();
    };
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("online", onOnline);
    this.detachPage = () => {
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("online", onOnline);
    };
  }
}
