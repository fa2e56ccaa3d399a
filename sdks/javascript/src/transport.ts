import { SseParser, type SseEvent } from "./sse.js";
import { TogglerinoError, type EvaluationContext, type FlagValues } from "./types.js";

/** Where an edge serves one project and environment, and the key for it. */
export interface Endpoint {
  baseUrl: string;
  sdkKey: string;
  project: string;
  environment: string;
}

/** The edge sends a heartbeat every 15 s; this long without a byte is a dead stream. */
export const STREAM_READ_TIMEOUT_MS = 20_000;

function url(endpoint: Endpoint, api: "evaluate" | "stream"): string {
  const base = endpoint.baseUrl.replace(/\/+$/, "");
  return `${base}/api/v1/${api}/${encodeURIComponent(endpoint.project)}/${encodeURIComponent(endpoint.environment)}`;
}

function headers(endpoint: Endpoint, extra: Record<string, string>): Record<string, string> {
  return { authorization: `Bearer ${endpoint.sdkKey}`, "content-type": "application/json", ...extra };
}

async function failure(response: Response): Promise<TogglerinoError> {
  let message = `the edge answered ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body.error?.message) message = `${message}: ${body.error.message}`;
  } catch {
    // not our error shape
  }
  const code = response.status === 401 ? "unauthorized" : response.status === 403 ? "forbidden" : "http";
  return new TogglerinoError(message, code, response.status);
}

function networkError(error: unknown): TogglerinoError {
  if (error instanceof TogglerinoError) return error;
  return new TogglerinoError(`cannot reach the edge: ${(error as Error)?.message ?? error}`, "network");
}

export function isAbort(error: unknown): boolean {
  return (error as { name?: string })?.name === "AbortError";
}

export type Fetched = { flags: FlagValues; revision: number; etag: string | null } | "not_modified";

/** Every flag's evaluation for `context`, or `not_modified` when `etag` still holds. */
export async function fetchFlags(
  endpoint: Endpoint,
  context: EvaluationContext,
  etag: string | null,
  signal: AbortSignal,
): Promise<Fetched> {
  let response: Response;
  try {
    response = await fetch(url(endpoint, "evaluate"), {
      method: "POST",
      headers: headers(endpoint, etag ? { "if-none-match": etag } : {}),
      body: JSON.stringify({ context }),
      signal,
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw networkError(error);
  }
  if (response.status === 304) return "not_modified";
  if (!response.ok) throw await failure(response);
  const body = (await response.json()) as { flags?: FlagValues; revision?: number };
  if (typeof body?.flags !== "object" || body.flags === null) {
    throw new TogglerinoError("the edge's answer has no flags", "invalid_response");
  }
  return { flags: body.flags, revision: body.revision ?? 0, etag: response.headers.get("etag") };
}

/**
 * Follows the edge's stream for `context`, handing each event to `onEvent`, until the
 * edge ends it (resolves), it fails or goes `readTimeoutMs` without a byte (rejects),
 * or `signal` aborts it (rejects with an AbortError). `onOpen` runs once the edge has
 * accepted the stream.
 */
export async function followStream(
  endpoint: Endpoint,
  context: EvaluationContext,
  lastEventId: string | undefined,
  signal: AbortSignal,
  onOpen: () => void,
  onEvent: (event: SseEvent) => void,
  readTimeoutMs = STREAM_READ_TIMEOUT_MS,
): Promise<void> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal.addEventListener("abort", abort);
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, readTimeoutMs);
  };
  try {
    arm();
    let response: Response;
    try {
      response = await fetch(url(endpoint, "stream"), {
        method: "POST",
        headers: headers(endpoint, {
          accept: "text/event-stream",
          ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId }),
        }),
        body: JSON.stringify({ context }),
        signal: controller.signal,
        cache: "no-store",
      });
    } catch (error) {
      throw rethrow(error, timedOut, signal);
    }
    if (!response.ok) throw await failure(response);
    if (!response.body) throw new TogglerinoError("the edge's stream has no body", "invalid_response");
    onOpen();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw rethrow(error, timedOut, signal);
      }
      if (chunk.done) return;
      arm();
      for (const event of parser.push(decoder.decode(chunk.value, { stream: true }))) {
        if (signal.aborted) return;
        onEvent(event);
      }
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
    controller.abort();
  }
}

function rethrow(error: unknown, timedOut: boolean, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  if (timedOut) return new TogglerinoError("the edge's stream went silent", "timeout");
  return networkError(error);
}
