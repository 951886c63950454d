/** Admin's definitions: export (download as a JSON file) and import (upload, merged as RabbitMQ merges). */
import type { AdminSection } from "./admin-section.js";
import { seg } from "./api.js";
import type { AppContext } from "./context.js";
import { h, section } from "./dom.js";
import { errorText } from "./forms.js";

export function definitionsSection(ctx: AppContext): AdminSection {
  const scope = (): string => ctx.vhost() ?? "";
  const exportStatus = h("output", { class: "status" });
  const download = h("button", { type: "button", class: "primary" }, "Download definitions");
  download.addEventListener("click", async () => {
    try {
      const vhost = scope();
      const definitions = await ctx.api.get(vhost === "" ? "/api/definitions" : `/api/definitions/${seg(vhost)}`);
      const blob = new Blob([JSON.stringify(definitions, null, 2)], { type: "application/json" });
      const anchor = h("a", {
        href: URL.createObjectURL(blob),
        download: `warren-definitions${vhost === "" ? "" : `-${vhost.replace(/[^\w.-]/g, "_")}`}.json`,
      });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(anchor.href), 10_000);
      exportStatus.className = "status ok";
      exportStatus.textContent = "Downloaded.";
    } catch (err) {
      exportStatus.className = "status error";
      exportStatus.textContent = errorText(err);
    }
  });
  const file = h("input", { type: "file", accept: "application/json,.json", "aria-label": "Definitions file" });
  const importStatus = h("output", { class: "status" });
  const upload = h("button", { type: "button", class: "primary" }, "Upload definitions");
  upload.addEventListener("click", async () => {
    const chosen = file.files?.[0];
    if (chosen === undefined) {
      importStatus.className = "status error";
      importStatus.textContent = "Choose a file first.";
      return;
    }
    try {
      const definitions: unknown = JSON.parse(await chosen.text());
      const vhost = scope();
      await ctx.api.post(vhost === "" ? "/api/definitions" : `/api/definitions/${seg(vhost)}`, definitions);
      importStatus.className = "status ok";
      importStatus.textContent = `Imported ${chosen.name}.`;
    } catch (err) {
      importStatus.className = "status error";
      importStatus.textContent = err instanceof SyntaxError ? `${chosen.name} is not JSON: ${err.message}` : errorText(err);
    }
  });
  const where = (): string => (ctx.vhost() === undefined ? "the whole broker" : `vhost ${ctx.vhost()}`);
  return {
    root: h(
      "div",
      { class: "stack" },
      section(
        "Export definitions",
        h("p", {}, `Users, vhosts, permissions, policies, queues, exchanges and bindings of ${where()}, as RabbitMQ writes them.`),
        h("div", { class: "actions" }, download, exportStatus),
      ),
      section(
        "Import definitions",
        h("p", {}, `A RabbitMQ or Warren definitions file, merged into ${where()}: what exists is kept, what the file adds is created.`),
        h("div", { class: "actions" }, file, upload, importStatus),
      ),
    ),
    refresh: async () => {},
  };
}
