/**
 * The web UI's files, served by the management server outside /api: the page and its stylesheet
 * (src/mgmt/ui/), the browser modules the build compiles from src/mgmt/ui/*.ts (dist/src/mgmt/ui/),
 * and uPlot from node_modules. All are read once at start (a few hundred KiB) and answered from
 * memory with an ETag, so a reload costs a 304 and no request ever touches the file system or
 * names a path of its own: only the files listed here exist.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One file of the UI as it is answered. */
export interface UiFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** The package's root: this module is src/mgmt/ui-files.ts, run as dist/src/mgmt/ui-files.js. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/**
 * The UI's files by URL path ("/", "/ui/app.js", ...). Empty of the compiled modules when the UI
 * was not built (the page then says so instead of failing on a missing script).
 */
export function loadUiFiles(): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  const sourceDir = join(packageRoot, "src", "mgmt", "ui");
  const compiledDir = join(packageRoot, "dist", "src", "mgmt", "ui");
  for (const name of ["index.html", "app.css", "favicon.svg"]) {
    const path = join(sourceDir, name);
    if (existsSync(path)) files.set(`/ui/${name}`, uiFile(name, readFileSync(path)));
  }
  if (existsSync(compiledDir)) {
    for (const name of readdirSync(compiledDir)) {
      if (name.endsWith(".js") || name.endsWith(".js.map")) files.set(`/ui/${name}`, uiFile(name, readFileSync(join(compiledDir, name))));
    }
  }
  const uplotDir = dirname(createRequire(import.meta.url).resolve("uplot"));
  files.set("/ui/vendor/uPlot.esm.js", uiFile("uPlot.esm.js", readFileSync(join(uplotDir, "uPlot.esm.js"))));
  files.set("/ui/vendor/uPlot.min.css", uiFile("uPlot.min.css", readFileSync(join(uplotDir, "uPlot.min.css"))));
  const page = files.get("/ui/index.html");
  files.delete("/ui/index.html");
  // Built by `npm run build` (src/mgmt/ui/tsconfig.json); a bare `tsc -p tsconfig.json` leaves it out.
  files.set("/", files.has("/ui/app.js") && page !== undefined ? page : uiFile("index.html", Buffer.from(NOT_BUILT)));
  return files;
}

const NOT_BUILT =
  '<!doctype html><meta charset="utf-8"><title>Warren</title><p>The web UI is not built: run <code>npm run build</code> and restart Warren. ' +
  'The HTTP API is at <a href="/api/overview">/api/</a>.</p>';

function uiFile(name: string, body: Buffer): UiFile {
  const extension = name.endsWith(".js.map") ? ".map" : name.slice(name.lastIndexOf("."));
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  return { body, contentType: CONTENT_TYPES[extension] ?? "application/octet-stream", etag };
}

/**
 * Headers for every UI answer: the browser may run only the UI's own scripts and styles (no
 * inline script, nothing from elsewhere), may not frame it, and revalidates with the ETag.
 */
export const UI_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};
