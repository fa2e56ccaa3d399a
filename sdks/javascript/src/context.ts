import type { EvaluationContext } from "./types.js";

/** JSON with object keys sorted, so equal contexts give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

/**
 * A 64-bit FNV-1a digest of the context's canonical JSON, as 16 hex digits: the cache
 * key for a context's values (the context itself, which may be personal, is never
 * written to storage).
 */
export function contextHash(context: EvaluationContext): string {
  return fnv1a64(canonicalJson(context));
}

/** FNV-1a, 64 bits, over UTF-16 code units, as 16 hex digits. */
export function fnv1a64(text: string): string {
  // Two 32-bit halves of a 64-bit FNV-1a, in plain number arithmetic.
  let h0 = 0x2325,
    h1 = 0x8422,
    h2 = 0x9ce4,
    h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    // Multiply by the 64-bit FNV prime 0x100000001b3 in 16-bit limbs.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3;
    const t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    const c1 = t1 + (t0 >>> 16);
    const c2 = t2 + (c1 >>> 16);
    h0 = t0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = (t3 + (c2 >>> 16)) & 0xffff;
  }
  return [h3, h2, h1, h0].map((h) => h.toString(16).padStart(4, "0")).join("");
}
