import type { Endpoint } from "./transport.js";

/** How often reads are sent to the edge by default: once a minute, as edges report upstream. */
export const DEFAULT_USAGE_INTERVAL_MS = 60_000;
/** The edge takes at most this many counts per report. */
const MAX_COUNTS_PER_REPORT = 1_000;

type Count = { flag: string; variant: string | null; count: number };

const keyOf = (flag: string, variant: string | null) => `${variant ?? ""}\u0000${variant === null ? 0 : 1}\u0000${flag}`;

/**
 * Counts `get*` reads per flag and answer and sends them to the edge, which adds them to
 * the evaluations it reports to the control plane's insights. Only flags the client
 * holds are counted, so the counts are bounded by flags × variants. A report that fails
 * is kept for the next one; a page being hidden sends what is counted with
 * `navigator.sendBeacon`, which outlives the page.
 */
export class UsageCounter {
  private counts = new Map<string, Count>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private detachPage: (() => void) | null = null;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly intervalMs: number,
  ) {}

  count(flag: string, variant: string | null): void {
    const key = keyOf(flag, variant);
    const existing = this.counts.get(key);
    if (existing) existing.count++;
    else this.counts.set(key, { flag, variant, count: 1 });
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.send(), this.intervalMs);
    // Never what keeps a Node.js process alive.
    (this.timer as { unref?: () => void }).unref?.();
    if (typeof document !== "undefined" && typeof window !== "undefined") {
      const onHide = () => {
        if (document.visibilityState === "hidden") this.beacon();
      };
      const onPageHide = () => this.beacon();
      document.addEventListener("visibilitychange", onHide);
      window.addEventListener("pagehide", onPageHide);
      this.detachPage = () => {
        document.removeEventListener("visibilitychange", onHide);
        window.removeEventListener("pagehide", onPageHide);
      };
    }
  }

  /** Sends what is counted and stops counting into reports. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.detachPage?.();
    this.detachPage = null;
    void this.send(true);
  }

  private take(): Count[] {
    const taken = [...this.counts.values()].slice(0, MAX_COUNTS_PER_REPORT);
    for (const count of taken) this.counts.delete(keyOf(count.flag, count.variant));
    return taken;
  }

  private putBack(counts: Count[]): void {
    for (const { flag, variant, count } of counts) {
      const key = keyOf(flag, variant);
      const existing = this.counts.get(key);
      if (existing) existing.count += count;
      else this.counts.set(key, { flag, variant, count });
    }
  }

  private url(withKey: boolean): string {
    const { baseUrl, project, environment, sdkKey } = this.endpoint;
    const base = `${baseUrl.replace(/\/+$/, "")}/api/v1/usage/${encodeURIComponent(project)}/${encodeURIComponent(environment)}`;
    return withKey ? `${base}?sdk_key=${encodeURIComponent(sdkKey)}` : base;
  }

  /** Sends one report; `keepalive` lets it finish after the page or process moves on. */
  private async send(keepalive = false): Promise<void> {
    const counts = this.take();
    if (counts.length === 0) return;
    try {
      const response = await fetch(this.url(false), {
        method: "POST",
        headers: { authorization: `Bearer ${this.endpoint.sdkKey}`, "content-type": "application/json" },
        body: JSON.stringify({ counts }),
        keepalive,
      });
      // The edge refused these counts for good (a revoked key, a malformed report).
      if (response.status >= 500 || response.status === 429) this.putBack(counts);
    } catch {
      this.putBack(counts);
    }
  }

  /** A beacon carries no headers: the key goes in the URL, the body as text/plain, the one type sent across origins without a preflight. */
  private beacon(): void {
    if (typeof navigator === "undefined" || typeof navigator.sendBeacon !== "function") return;
    const counts = this.take();
    if (counts.length === 0) return;
    const body = new Blob([JSON.stringify({ counts })], { type: "text/plain" });
    if (!navigator.sendBeacon(this.url(true), body)) this.putBack(counts);
  }
}
