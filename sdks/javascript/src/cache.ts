import { contextHash } from "./context.js";
import type { EvaluationContext, FlagValues, StorageLike } from "./types.js";

export const DEFAULT_CACHE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

interface Entry {
  savedAt: number;
  flags: FlagValues;
}

/** `localStorage` where there is one and it works (it throws in some private modes). */
export function defaultStorage(): StorageLike | null {
  try {
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    if (!storage) return null;
    const probe = "togglerino:probe";
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    return null;
  }
}

/**
 * The last values seen for each context, so a reload renders them at once. Keyed by
 * project, environment and a hash of the whole context; entries past their time to
 * live are neither served nor kept. Storage failures (quota, private mode) only cost
 * the cache.
 */
export class FlagCache {
  constructor(
    private readonly storage: StorageLike | null,
    private readonly scope: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private key(context: EvaluationContext): string {
    return `togglerino:${this.scope}:${contextHash(context)}`;
  }

  load(context: EvaluationContext): FlagValues | undefined {
    if (!this.storage) return undefined;
    const key = this.key(context);
    try {
      const text = this.storage.getItem(key);
      if (text === null) return undefined;
      const entry = JSON.parse(text) as Entry;
      if (typeof entry?.savedAt !== "number" || typeof entry.flags !== "object" || entry.flags === null) {
        this.storage.removeItem(key);
        return undefined;
      }
      if (this.now() - entry.savedAt > this.ttlMs) {
        this.storage.removeItem(key);
        return undefined;
      }
      return entry.flags;
    } catch {
      return undefined;
    }
  }

  save(context: EvaluationContext, flags: FlagValues): void {
    if (!this.storage) return;
    try {
      const entry: Entry = { savedAt: this.now(), flags };
      this.storage.setItem(this.key(context), JSON.stringify(entry));
    } catch {
      // Full or forbidden: the values still serve from memory.
    }
  }
}
