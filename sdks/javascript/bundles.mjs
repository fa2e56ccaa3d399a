// How each of dist/'s bundles is built, shared by build.mjs and the tests that check
// the browser bundle (its size, and a page in Chromium).
const common = {
  entryPoints: [new URL("./src/index.ts", import.meta.url).pathname],
  bundle: true,
  target: "es2020",
  logLevel: "warning",
};

export const bundles = {
  esm: { ...common, format: "esm", platform: "neutral", outfile: "dist/index.js" },
  cjs: { ...common, format: "cjs", platform: "node", outfile: "dist/index.cjs" },
  /** For <script type="module"> and CDNs: minified, no Node.js. */
  browser: { ...common, format: "esm", platform: "browser", minify: true, outfile: "dist/togglerino.min.js" },
};
