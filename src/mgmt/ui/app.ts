/**
 * The web UI's entry point: log in, draw the frame (header, navigation, vhost and refresh
 * choices), route `#/...` to a page, and poll the page on screen, and only it, every few
 * seconds while the browser tab is visible.
 */
import { adminPage } from "./admin.js";
import { Api, type Json } from "./api.js";
import { connectionPage } from "./connection.js";
import { channelsPage, connectionsPage } from "./connections.js";
import type { AppContext, Page } from "./context.js";
import { h, replace, route } from "./dom.js";
import { exchangePage } from "./exchange.js";
import { exchangesPage } from "./exchanges.js";
import { errorText } from "./forms.js";
import { loginScreen } from "./login.js";
import { overviewPage } from "./overview.js";
import { queuePage } from "./queue.js";
import { queuesPage } from "./queues.js";

const INTERVALS = [2, 5, 10, 30, 0];
const NAV = [
  ["", "Overview"],
  ["connections", "Connections"],
  ["channels", "Channels"],
  ["exchanges", "Exchanges"],
  ["queues", "Queues"],
  ["admin", "Admin"],
] as const;

class App {
  private readonly api = new Api();
  private readonly body = document.body;
  private page: Page | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private intervalSeconds = Number(localStorage.getItem("warren.interval") ?? "5");
  private selectedVhost: string | undefined = sessionStorage.getItem("warren.vhost") ?? undefined;
  private vhostNames: string[] = [];
  private readonly content = h("main", { class: "content", id: "content" });
  private readonly toast = h("div", { class: "toast", role: "status", "aria-live": "polite" });
  private readonly updated = h("span", { class: "updated muted" });
  /** The page whose refresh is in flight, so one page is never polled twice at once. */
  private refreshing: Page | undefined;

  start(): void {
    this.api.onUnauthorised = () => this.showLogin("Your login is no longer valid. Please log in again.");
    if (!this.api.loggedIn) return this.showLogin();
    this.api.get<Json>("/api/whoami").then(
      (whoami) => void this.showApp(whoami),
      () => this.showLogin(),
    );
  }

  private showLogin(notice?: string): void {
    this.stopPolling();
    this.page?.dispose?.();
    this.page = undefined;
    this.api.logout();
    replace(
      this.body,
      loginScreen(this.api, (whoami) => void this.showApp(whoami), notice),
    );
  }

  private async showApp(whoami: Json): Promise<void> {
    const user = { name: String(whoami.name), tags: Array.isArray(whoami.tags) ? whoami.tags.map(String) : String(whoami.tags ?? "").split(",") };
    this.vhostNames = (await this.api.get<Json[]>("/api/vhosts").catch(() => [] as Json[])).map((v) => String(v.name));
    if (this.selectedVhost !== undefined && !this.vhostNames.includes(this.selectedVhost)) this.selectedVhost = undefined;
    const ctx: AppContext = {
      api: this.api,
      user,
      vhost: () => this.selectedVhost,
      vhosts: () => this.vhostNames,
      navigate: (segments) => {
        location.hash = route(segments);
      },
      notify: (message, kind = "ok") => this.notify(message, kind),
    };
    const vhostSelect = h(
      "select",
      { "aria-label": "Virtual host" },
      h("option", { value: "" }, "All vhosts"),
      ...this.vhostNames.map((v) => h("option", { value: v, selected: v === this.selectedVhost }, v)),
    );
    vhostSelect.addEventListener("change", () => {
      this.selectedVhost = vhostSelect.value === "" ? undefined : vhostSelect.value;
      if (this.selectedVhost === undefined) sessionStorage.removeItem("warren.vhost");
      else sessionStorage.setItem("warren.vhost", this.selectedVhost);
      this.show(ctx);
    });
    const intervalSelect = h(
      "select",
      { "aria-label": "Refresh every" },
      ...INTERVALS.map((s) => h("option", { value: s, selected: s === this.intervalSeconds }, s === 0 ? "Paused" : `Every ${s} s`)),
    );
    intervalSelect.addEventListener("change", () => {
      this.intervalSeconds = Number(intervalSelect.value);
      localStorage.setItem("warren.interval", intervalSelect.value);
      this.schedule();
    });
    const nav = h("nav", { class: "nav" }, ...NAV.map(([path, label]) => h("a", { href: `#/${path}`, "data-nav": path === "" ? "overview" : path }, label)));
    const header = h(
      "header",
      { class: "top" },
      h("a", { class: "brand", href: "#/" }, h("img", { src: "/ui/favicon.svg", alt: "" }), "Warren"),
      nav,
      h(
        "div",
        { class: "controls" },
        vhostSelect,
        intervalSelect,
        h("span", { class: "user", title: user.tags.join(", ") }, user.name),
        h("button", { type: "button", class: "small", onclick: () => this.showLogin() }, "Log out"),
      ),
    );
    replace(this.body, header, this.content, h("footer", { class: "foot" }, this.updated), this.toast);
    window.onhashchange = () => this.show(ctx);
    document.onvisibilitychange = () => {
      if (!document.hidden) void this.tick();
    };
    this.show(ctx);
  }

  /** Builds the page the hash names and polls it. */
  private show(ctx: AppContext): void {
    this.stopPolling();
    this.page?.dispose?.();
    const segments = location.hash
      .replace(/^#\/?/, "")
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    this.page = this.pageFor(ctx, segments);
    for (const a of document.querySelectorAll<HTMLAnchorElement>("nav.nav a")) a.classList.toggle("active", a.dataset.nav === (segments[0] ?? "overview"));
    document.title = `${this.page.title} · Warren`;
    replace(this.content, this.page.root);
    this.updated.textContent = "Loading…";
    void this.tick();
  }

  private pageFor(ctx: AppContext, [first, ...rest]: string[]): Page {
    switch (first) {
      case undefined:
      case "overview":
        return overviewPage(ctx);
      case "connections":
        return rest[0] === undefined ? connectionsPage(ctx) : connectionPage(ctx, rest[0]);
      case "channels":
        return channelsPage(ctx);
      case "exchanges":
        return rest.length < 2 ? exchangesPage(ctx) : exchangePage(ctx, rest[0]!, rest[1]!);
      case "queues":
        return rest.length < 2 ? queuesPage(ctx) : queuePage(ctx, rest[0]!, rest[1]!);
      case "admin":
        return adminPage(ctx, rest[0]);
      default:
        return { title: "Not found", root: h("div", { class: "page" }, h("p", {}, "No such page.")), refresh: async () => {} };
    }
  }

  /** Refreshes the page on screen, then schedules the next poll. */
  private async tick(): Promise<void> {
    clearTimeout(this.timer);
    const page = this.page;
    if (page === undefined || this.refreshing === page) return;
    this.refreshing = page;
    let failure: unknown;
    try {
      await page.refresh();
    } catch (err) {
      failure = err;
    }
    if (this.refreshing === page) this.refreshing = undefined;
    // A page left while it was loading says nothing about the page now on screen.
    if (page !== this.page) return;
    this.updated.textContent = failure === undefined ? `Updated ${new Date().toLocaleTimeString()}` : `Update failed: ${errorText(failure)}`;
    this.updated.classList.toggle("stale", failure !== undefined);
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    // A hidden tab is not polled; it catches up when shown again (visibilitychange).
    if (this.intervalSeconds > 0) this.timer = setTimeout(() => (document.hidden ? this.schedule() : void this.tick()), this.intervalSeconds * 1000);
  }

  private stopPolling(): void {
    clearTimeout(this.timer);
  }

  private notify(message: string, kind: "ok" | "error"): void {
    this.toast.textContent = message;
    this.toast.className = `toast show ${kind}`;
    setTimeout(() => {
      if (this.toast.textContent === message) this.toast.className = "toast";
    }, 4000);
  }
}

new App().start();
