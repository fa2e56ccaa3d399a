import type { BuildOptions } from "esbuild";

export const bundles: Record<"esm" | "cjs" | "browser", BuildOptions & { outfile: string }>;
