import { fetchFlags } from "./transport.js";
import type { EvaluationContext, FlagValues } from "./types.js";

export interface BootstrapOptions {
  baseUrl: string;
  sdkKey: string;
  project: string;
  environment: string;
  context?: EvaluationContext;
  /** How long the page may wait for the edge; default 1 s. */
  timeoutMs?: number;
}

/**
 * Every flag's answer for a request's context, evaluated by an edge on the server, to
 * pass as `bootstrap` so the page's first render already shows them. `undefined` when
 * the edge does not answer in time: the page then renders defaults and the client
 * fetches as usual, so a slow edge never breaks a page.
 */
export async function fetchBootstrap(options: BootstrapOptions): Promise<FlagValues | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 1_000);
  try {
    const fetched = await fetchFlags(options, options.context ?? {}, null, controller.signal);
    return fetched === "not_modified" ? undefined : fetched.flags;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
