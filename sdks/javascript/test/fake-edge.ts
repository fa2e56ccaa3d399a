// An edge in memory, answering the SDK's fetches: streams the test drives event by
// event, evaluations it answers, and an outage it can switch on.
import type { EvaluationContext, FlagValues, StorageLike } from "../src/types.js";

export function memoryStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

export class FakeStream {
  closed = false;
  private readonly encoder = new TextEncoder();

  constructor(
    readonly context: EvaluationContext,
    readonly lastEventId: string | null,
    readonly headers: Headers,
    private readonly controller: ReadableStreamDefaultController<Uint8Array>,
  ) {}

  raw(text: string): void {
    if (!this.closed) this.controller.enqueue(this.encoder.encode(text));
  }

  flags(flags: FlagValues, revision: number): void {
    this.raw(`event: flags\nid: ${revision}\ndata: ${JSON.stringify({ flags, revision })}\n\n`);
  }

  patch(flags: FlagValues, removed: string[], revision: number): void {
    this.raw(`event: patch\nid: ${revision}\ndata: ${JSON.stringify({ flags, removed, revision })}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.close();
  }

  abort(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.error(error);
  }
}

export class FakeEdge {
  streams: FakeStream[] = [];
  evaluations: { context: EvaluationContext; ifNoneMatch: string | null }[] = [];
  /** Read counts the SDK reported, as sent. */
  usage: { url: string; counts: { flag: string; variant: string | null; count: number }[] }[] = [];
  /** What the usage endpoint answers. */
  usageStatus = 202;
  /** Nothing reachable: every fetch fails as a refused connection does. */
  down = false;
  /** Streams refused with this status while set (evaluations still answer). */
  streamStatus: number | null = null;
  /** What the evaluate endpoint answers for a context. */
  answer: (context: EvaluationContext) => { flags: FlagValues; revision: number } = () => ({ flags: {}, revision: 1 });
  /** Delays evaluation answers until the returned promise settles. */
  gate: (context: EvaluationContext) => Promise<void> = () => Promise.resolve();

  get open(): FakeStream[] {
    return this.streams.filter((s) => !s.closed);
  }

  get last(): FakeStream {
    const stream = this.streams.at(-1);
    if (!stream) throw new Error("no stream was opened");
    return stream;
  }

  fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
    if (this.down) throw new TypeError("fetch failed");
    const headers = new Headers(init.headers);
    if (url.includes("/api/v1/usage/")) {
      if (headers.get("authorization") !== "Bearer sdk_test" && !url.endsWith("?sdk_key=sdk_test")) {
        return json(401, { error: { code: "unauthenticated", message: "unknown key" } });
      }
      const { counts } = JSON.parse(String(init.body)) as { counts: FakeEdge["usage"][number]["counts"] };
      this.usage.push({ url, counts });
      return json(this.usageStatus, { accepted: counts.length, ignored: 0 });
    }
    if (headers.get("authorization") !== "Bearer sdk_test") return json(401, { error: { code: "unauthenticated", message: "unknown key" } });
    const { context } = JSON.parse(String(init.body)) as { context: EvaluationContext };
    if (url.includes("/api/v1/stream/")) {
      if (this.streamStatus !== null) return json(this.streamStatus, { error: { code: "x", message: "refused" } });
      let stream!: FakeStream;
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          stream = new FakeStream(context, headers.get("last-event-id"), headers, controller);
        },
      });
      signal?.addEventListener("abort", () => stream.abort(new DOMException("aborted", "AbortError")));
      this.streams.push(stream);
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
    }
    if (url.includes("/api/v1/evaluate/")) {
      const ifNoneMatch = headers.get("if-none-match");
      this.evaluations.push({ context, ifNoneMatch });
      await this.gate(context);
      if (signal?.aborted) throw new DOMException("aborted", "AbortError");
      const { flags, revision } = this.answer(context);
      const etag = `"${revision}-${JSON.stringify(context).length}"`;
      if (ifNoneMatch === etag) return new Response(null, { status: 304, headers: { etag } });
      return json(200, { flags, revision }, { etag });
    }
    return json(404, { error: { code: "not_found", message: url } });
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
