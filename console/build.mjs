// Bundles the console into one script and one stylesheet, with index.html beside them, in the Python package
// that serves it (trainforge/console_assets), so local mode, `trainforge console` and the wheel all carry it.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = "../layers/trainforge/trainforge/console_assets/static";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.tsx" },
  bundle: true,
  splitting: true, // uPlot in a chunk of its own, fetched by the first chart (lazy-chart.tsx)
  format: "esm",
  minify: true,
  sourcemap: "linked",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out,
  legalComments: "linked",
  logLevel: "warning",
});
copyFileSync("index.html", `${out}/index.html`);
console.log(`console built in ${out}`);
