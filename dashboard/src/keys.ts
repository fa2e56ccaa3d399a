// Key rules, as the control plane enforces them (shared/src/validate/keys.rs), so forms
// can say what is wrong while people type.

export const MAX_KEY_LEN = 64;

/** Why `key` is not a valid key, or undefined when it is. */
export function keyProblem(noun: string, key: string): string | undefined {
  if (key === "") return `${noun} key must not be empty`;
  if (key.length > MAX_KEY_LEN) return `${noun} key must be at most ${MAX_KEY_LEN} characters`;
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(key)) {
    return "use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit";
  }
  return undefined;
}

/** A key suggested from a display name: "New checkout" → "new-checkout". */
export function keyFromName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .replace(/-+$/, "")
    .slice(0, MAX_KEY_LEN);
}
