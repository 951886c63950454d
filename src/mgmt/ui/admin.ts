/** Admin: users (add, tags, delete), vhosts (add, delete), permissions (set, clear), with tabs for policies, limits and definitions. */
import type { AdminSection } from "./admin-section.js";
import { type Json, seg } from "./api.js";
import type { AppContext, Page } from "./context.js";
import { h, link, replace, section } from "./dom.js";
import { count, text } from "./format.js";
import { actionButton, errorText, form } from "./forms.js";
import { definitionsSection } from "./definitions.js";
import { limitsSection, policiesSection } from "./policies.js";
import { DataTable } from "./table.js";

const TABS = ["users", "vhosts", "permissions", "policies", "limits", "definitions"] as const;
type Tab = (typeof TABS)[number];

export function adminPage(ctx: AppContext, tab: string | undefined): Page {
  const current: Tab = (TABS as readonly string[]).includes(tab ?? "") ? (tab as Tab) : "users";
  const sections: Record<Tab, () => AdminSection> = {
    users: () => usersSection(ctx),
    vhosts: () => vhostsSection(ctx),
    permissions: () => permissionsSection(ctx),
    policies: () => policiesSection(ctx),
    limits: () => limitsSection(ctx),
    definitions: () => definitionsSection(ctx),
  };
  const shown = sections[current]();
  const tabs = h(
    "nav",
    { class: "tabs" },
    ...TABS.map((t) => h("a", { href: `#/admin/${t}`, class: t === current ? "active" : undefined }, t[0]!.toUpperCase() + t.slice(1))),
  );
  return { title: "Admin", root: h("div", { class: "page" }, tabs, shown.root), refresh: () => shown.refresh() };
}

/** Calls the API, tells the user how it went, then reloads. */
async function act(ctx: AppContext, call: () => Promise<unknown>, done: string, reload: () => Promise<void>): Promise<void> {
  try {
    await call();
    ctx.notify(done);
  } catch (err) {
    ctx.notify(errorText(err), "error");
  }
  await reload();
}

function usersSection(ctx: AppContext): AdminSection {
  const table = new DataTable<Json>(
    [
      { label: "Name", cell: (u) => String(u.name) },
      { label: "Tags", cell: (u) => h("span", { class: "badges" }, ...((u.tags ?? []) as string[]).map((t) => h("span", { class: "badge" }, t))) },
      { label: "Password", cell: (u) => (u.password_hash === "" ? "none" : "set") },
      {
        label: "",
        cell: (u) =>
          h(
            "span",
            { class: "row-actions" },
            h("button", { type: "button", class: "small", onclick: () => editTags(u) }, "Set tags"),
            u.name === ctx.user.name
              ? null
              : actionButton(
                  "Delete",
                  `Delete user ${u.name}?`,
                  () => act(ctx, () => ctx.api.delete(`/api/users/${seg(String(u.name))}`), `User ${u.name} deleted.`, refresh),
                  "danger small",
                ),
          ),
      },
    ],
    undefined,
  );
  const editTags = (u: Json): void => {
    const tags = prompt(`Tags for ${u.name} (comma-separated: administrator, monitoring, policymaker, management)`, ((u.tags ?? []) as string[]).join(","));
    if (tags === null) return;
    // A PUT without a password keeps the user's hash only when it is sent back.
    void act(
      ctx,
      () => ctx.api.put(`/api/users/${seg(String(u.name))}`, { password_hash: u.password_hash, hashing_algorithm: u.hashing_algorithm, tags }),
      `Tags of ${u.name} set.`,
      refresh,
    );
  };
  const add = form(
    [
      { name: "name", label: "Username", required: true },
      { name: "password", label: "Password", type: "password" },
      { name: "tags", label: "Tags", placeholder: "administrator, monitoring, policymaker, management", hint: "comma-separated" },
    ],
    "Add user",
    async (values) => {
      await ctx.api.put(`/api/users/${seg(String(values.name))}`, { password: values.password, tags: values.tags });
      await refresh();
      return `User ${values.name} added.`;
    },
  );
  const refresh = async (): Promise<void> => table.render(await ctx.api.get<Json[]>("/api/users"));
  return { root: h("div", { class: "stack" }, section("Users", table.root), section("Add a user", add)), refresh };
}

function vhostsSection(ctx: AppContext): AdminSection {
  const table = new DataTable<Json>(
    [
      { label: "Name", cell: (v) => link(["admin", "permissions"], String(v.name)) },
      { label: "Description", cell: (v) => text(v.description) },
      { label: "Ready", numeric: true, cell: (v) => count(v.messages_ready) },
      { label: "Unacked", numeric: true, cell: (v) => count(v.messages_unacknowledged) },
      { label: "Total", numeric: true, cell: (v) => count(v.messages) },
      {
        label: "",
        cell: (v) =>
          actionButton(
            "Delete",
            `Delete vhost ${v.name} and everything in it?`,
            () => act(ctx, () => ctx.api.delete(`/api/vhosts/${seg(String(v.name))}`), `Vhost ${v.name} deleted.`, refresh),
            "danger small",
          ),
      },
    ],
    undefined,
  );
  const add = form(
    [
      { name: "name", label: "Name", required: true },
      { name: "description", label: "Description" },
    ],
    "Add vhost",
    async (values) => {
      await ctx.api.put(`/api/vhosts/${seg(String(values.name))}`, { description: values.description });
      await refresh();
      return `Vhost ${values.name} added (reload to see it in the vhost menu).`;
    },
  );
  const refresh = async (): Promise<void> => table.render(await ctx.api.get<Json[]>("/api/vhosts"));
  return { root: h("div", { class: "stack" }, section("Virtual hosts", table.root), section("Add a vhost", add)), refresh };
}

function permissionsSection(ctx: AppContext): AdminSection {
  const table = new DataTable<Json>(
    [
      { label: "User", cell: (p) => String(p.user) },
      { label: "Vhost", cell: (p) => String(p.vhost) },
      { label: "Configure", cell: (p) => h("code", {}, String(p.configure)) },
      { label: "Write", cell: (p) => h("code", {}, String(p.write)) },
      { label: "Read", cell: (p) => h("code", {}, String(p.read)) },
      {
        label: "",
        cell: (p) =>
          actionButton(
            "Clear",
            `Clear ${p.user}'s permissions on ${p.vhost}?`,
            () => act(ctx, () => ctx.api.delete(`/api/permissions/${seg(String(p.vhost))}/${seg(String(p.user))}`), "Permissions cleared.", refresh),
            "danger small",
          ),
      },
    ],
    undefined,
  );
  const formHolder = h("div");
  const refresh = async (): Promise<void> => {
    const [permissions, users] = await Promise.all([ctx.api.get<Json[]>("/api/permissions"), ctx.api.get<Json[]>("/api/users")]);
    table.render(permissions);
    if (formHolder.childElementCount === 0) {
      replace(
        formHolder,
        form(
          [
            { name: "user", label: "User", type: "select", options: users.map((u) => String(u.name)) },
            { name: "vhost", label: "Vhost", type: "select", options: ctx.vhosts(), value: ctx.vhost() ?? "/" },
            { name: "configure", label: "Configure regexp", value: ".*" },
            { name: "write", label: "Write regexp", value: ".*" },
            { name: "read", label: "Read regexp", value: ".*" },
          ],
          "Set permissions",
          async (values) => {
            await ctx.api.put(`/api/permissions/${seg(String(values.vhost))}/${seg(String(values.user))}`, {
              configure: values.configure,
              write: values.write,
              read: values.read,
            });
            await refresh();
            return "Permissions set.";
          },
        ),
      );
    }
  };
  return { root: h("div", { class: "stack" }, section("Permissions", table.root), section("Set permissions", formHolder)), refresh };
}
