/** One exchange: details, bindings from and to it with a bind form, publish, delete. */
import { type Json, seg } from "./api.js";
import { LiveChart } from "./chart.js";
import type { AppContext, Page } from "./context.js";
import { facts, h, link, replace, section } from "./dom.js";
import { at, rate, text } from "./format.js";
import { actionButton, keyValues } from "./forms.js";
import { exchangeLabel } from "./exchanges.js";
import { bindForm, bindingsTable, publishForm } from "./messaging.js";

export function exchangePage(ctx: AppContext, vhost: string, name: string): Page {
  const path = `/api/exchanges/${seg(vhost)}/${seg(name)}`;
  const isDefault = name === "amq.default" || name === "";
  const rates = new LiveChart(
    "Message rates",
    [
      { label: "In", color: "#2f6fdf" },
      { label: "Out", color: "#1f9d6a" },
    ],
    rate,
  );
  const details = h("div");
  const refreshBindings = async (): Promise<void> => {
    const [from, to] = await Promise.all([ctx.api.get<Json[]>(`${path}/bindings/source`), ctx.api.get<Json[]>(`${path}/bindings/destination`)]);
    source.render(from);
    destination.render(to);
  };
  const source = bindingsTable(ctx, vhost, () => void refreshBindings());
  const destination = bindingsTable(ctx, vhost, () => void refreshBindings());
  const root = h(
    "div",
    { class: "page" },
    h(
      "p",
      { class: "crumbs" },
      link(["exchanges"], "Exchanges"),
      " › ",
      h("strong", {}, exchangeLabel(isDefault ? "" : name)),
      h("span", { class: "muted" }, ` in vhost ${vhost}`),
    ),
    h("div", { class: "charts" }, rates.root),
    section("Details", details),
    section(
      "Bindings from this exchange",
      source.root,
      isDefault
        ? null
        : h(
            "details",
            {},
            h("summary", {}, "Add a binding from this exchange"),
            bindForm(ctx, vhost, { kind: "exchange", name }, () => void refreshBindings()),
          ),
    ),
    section("Bindings to this exchange", destination.root),
    section("Publish message", publishForm(ctx, vhost, name)),
    isDefault || name.startsWith("amq.")
      ? null
      : section(
          "Delete",
          actionButton("Delete", `Delete exchange ${name}?`, async () => {
            try {
              await ctx.api.delete(path);
              ctx.notify(`Exchange ${name} deleted.`);
              ctx.navigate(["exchanges"]);
            } catch (err) {
              ctx.notify(String((err as Error).message), "error");
            }
          }),
        ),
  );
  let bindingsLoaded = false;
  return {
    title: `Exchange ${exchangeLabel(isDefault ? "" : name)}`,
    root,
    async refresh() {
      const e = await ctx.api.get<Json>(path);
      rates.push([Number(at(e, "message_stats.publish_in_details.rate") ?? 0), Number(at(e, "message_stats.publish_out_details.rate") ?? 0)]);
      replace(
        details,
        facts([
          ["Type", text(e.type)],
          ["Durable", text(e.durable)],
          ["Auto delete", text(e.auto_delete)],
          ["Internal", text(e.internal)],
          ["Policy", text(e.policy)],
          ["Arguments", keyValues(e.arguments)],
        ]),
      );
      if (!bindingsLoaded) {
        bindingsLoaded = true;
        await refreshBindings();
      }
    },
    dispose: () => rates.dispose(),
  };
}
