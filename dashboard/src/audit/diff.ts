// A line diff of two JSON values, pretty-printed with sorted keys so that only real
// changes show: what the audit log's old and new values need.

import type { JsonValue } from "../api/types";

export type DiffLine = { kind: "same" | "added" | "removed"; text: string };

function sorted(value: JsonValue | null | undefined): JsonValue | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map(sorted) as JsonValue;
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted(value[k])]),
    ) as JsonValue;
  }
  return value;
}

function linesOf(value: JsonValue | null | undefined): string[] {
  return value === undefined || value === null ? [] : JSON.stringify(sorted(value), null, 2).split("\n");
}

/** Lines of `before` and `after` in order, marked kept, removed or added (LCS). */
export function diffJson(before: JsonValue | null | undefined, after: JsonValue | null | undefined): DiffLine[] {
  const a = linesOf(before);
  const b = linesOf(after);
  // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  const at = (i: number, j: number) => (common[i] as number[])[j] as number;
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (common[i] as number[])[j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: "same", text: a[i] as string });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || at(i + 1, j) >= at(i, j + 1))) {
      out.push({ kind: "removed", text: a[i] as string });
      i++;
    } else {
      out.push({ kind: "added", text: b[j] as string });
      j++;
    }
  }
  return out;
}
