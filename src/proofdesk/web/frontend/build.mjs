// Builds the front-end bundles into the package's static files (src/proofdesk/web/static/vendor,
// not tracked): run by `make web` (and so by `make run` and `make test`).
//
// - verifier.js: the receipt verifier (verify-core.js and its page), with @noble/hashes and
//   @noble/curves from node_modules;
// - proofdesk-verifier.html: the verifier page with that script and its style inlined, one
//   self-contained file that works from file:// (served at /verify too);
// - editor.js: the admin's rule editor (CodeMirror 6).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "vendor");
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, format: "iife", target: "es2022", legalComments: "inline", write: false };

async function bundle(entry) {
  const result = await build({ ...common, entryPoints: [join(here, entry)] });
  return result.outputFiles[0].text;
}

const verifier = await bundle("verifier-ui.js");
if (verifier.includes("</script")) throw new Error("the verifier bundle holds </script>: it cannot be inlined");
writeFileSync(join(out, "verifier.js"), verifier);
const css = readFileSync(join(here, "verifier.css"), "utf8");
const page = readFileSync(join(here, "verifier.html"), "utf8")
  .replace("<!--STYLE-->", () => `<style>\n${css}</style>`)
  .replace("<!--SCRIPT-->", () => `<script>\n${verifier}</script>`);
writeFileSync(join(out, "proofdesk-verifier.html"), page);

writeFileSync(join(out, "editor.js"), await bundle("editor.js"));
