/** Admin's policies (and operator policies) and vhost limits. */
import { type Json, seg } from "./api.js";
import type { AdminSection } from "./admin-section.js";
import type { AppContext } from "./context.js";
import { h, section } from "./dom.js";
import { text } from "./format.js";
import { actionButton, errorText, form, keyValues, parseArguments } from "./forms.js";
import { DataTable } from "./table.js";

function policyKind(ctx: AppContext, kind: "policies" | "operator-policies", title: string): AdminSection {
  const refresh = async (): Promise<void> => table.render(await ctx.api.get<Json[]>(`/api/${kind}`));
  const table = new DataTable<Json>(
    [
      { label: "Vhost", cell: (p) => String(p.vhost) },
      { label: "Name", cell: (p) => String(p.name) },
      { label: "Pattern", cell: (p) => h("code", {}, String(p.pattern)) },
      { label: "Apply to", cell: (p) => text(p["apply-to"]) },
      { label: "Definition", cell: (p) => keyValues(p.definition) },
      { label: "Priority", numeric: true, cell: (p) => text(p.priority) },
      {
        label: "",
        cell: (p) =>
          actionButton(
            "Delete",
            `Delete policy ${p.name}?`,
            async () => {
              try {
                await ctx.api.delete(`/api/${kind}/${seg(String(p.vhost))}/${seg(String(p.name))}`);
                ctx.notify(`Policy ${p.name} deleted.`);
              } catch (err) {
                ctx.notify(errorText(err), "error");
              }
              await refresh();
            },
            "danger small",
          ),
      },
    ],
    undefined,
    undefined,
    "No policies.",
  );
  const add = form(
    [
      { name: "vhost", label: "Vhost", type: "select", options: ctx.vhosts(), value: ctx.vhost() ?? "/" },
      { name: "name", label: "Name", required: true },
      { name: "pattern", label: "Pattern", required: true, placeholder: "^orders\\." },
      { name: "apply-to", label: "Apply to", type: "select", options: ["all", "queues", "exchanges"], value: "all" },
      { name: "priority", label: "Priority", type: "number", value: "0" },
      {
        name: "definition",
        label: "Definition",
        type: "textarea",
        placeholder: "max-length = 1000\ndead-letter-exchange = dlx",
        hint: "name = value, one per line",
      },
    ],
    "Add / update",
    async (values) => {
      await ctx.api.put(`/api/${kind}/${seg(String(values.vhost))}/${seg(String(values.name))}`, {
        pattern: values.pattern,
        "apply-to": values["apply-to"],
        priority: Number(values.priority),
        definition: parseArguments(String(values.definition)),
      });
      await refresh();
      return `Policy ${values.name} set.`;
    },
  );
  return { root: h("div", { class: "stack" }, section(title, table.root), section(`Add or update (${title.toLowerCase()})`, add)), refresh };
}

export function policiesSection(ctx: AppContext): AdminSection {
  const user = policyKind(ctx, "policies", "Policies");
  const operator = ctx.user.tags.includes("administrator") ? policyKind(ctx, "operator-policies", "Operator policies") : undefined;
  return {
    root: h("div", { class: "stack" }, user.root, operator?.root),
    refresh: async () => {
      await Promise.all([user.refresh(), operator?.refresh()]);
    },
  };
}

export function limitsSection(ctx: AppContext): AdminSection {
  const refresh = async (): Promise<void> => {
    const limits = await ctx.api.get<Json[]>("/api/vhost-limits");
    table.render(limits.flatMap((l) => Object.entries((l.value ?? {}) as Record<string, unknown>).map(([name, value]) => ({ vhost: l.vhost, name, value }))));
  };
  const table = new DataTable<Json>(
    [
      { label: "Vhost", cell: (l) => String(l.vhost) },
      { label: "Limit", cell: (l) => String(l.name) },
      { label: "Value", numeric: true, cell: (l) => text(l.value) },
      {
        label: "",
        cell: (l) =>
          actionButton(
            "Clear",
            `Clear ${l.name} on ${l.vhost}?`,
            async () => {
              try {
                await ctx.api.delete(`/api/vhost-limits/${seg(String(l.vhost))}/${seg(String(l.name))}`);
                ctx.notify("Limit cleared.");
              } catch (err) {
                ctx.notify(errorText(err), "error");
              }
              await refresh();
            },
            "danger small",
          ),
      },
    ],
    undefined,
    undefined,
    "No limits.",
  );
  const add = form(
    [
      { name: "vhost", label: "Vhost", type: "select", options: ctx.vhosts(), value: ctx.vhost() ?? "/" },
      { name: "name", label: "Limit", type: "select", options: ["max-connections", "max-queues"], value: "max-connections" },
      { name: "value", label: "Value", type: "number", required: true, hint: "-1: no limit" },
    ],
    "Set limit",
    async (values) => {
      await ctx.api.put(`/api/vhost-limits/${seg(String(values.vhost))}/${seg(String(values.name))}`, { value: Number(values.value) });
      await refresh();
      return "Limit set.";
    },
  );
  return { root: h("div", { class: "stack" }, section("Virtual host limits", table.root), section("Set a limit", add)), refresh };
}
