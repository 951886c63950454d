/**
 * The management web UI in a real browser: Debian's chromium (headless), driven by
 * playwright-core, against a Warren with the management listener on. The main flows: logging in
 * (a wrong password refused), a queue filling and draining in its chart, publishing and getting a
 * message, creating a user, closing a connection from its page, and the queue list's paging and
 * filter with a few hundred queues (fetched a page at a time). Each page is photographed at a
 * laptop's and a phone's width into test-output/screenshots/.
 *
 * Without chromium (`apt-get install -y chromium`) the file skips, saying so; under CI it fails.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Channel, type ChannelModel, connect } from "amqplib";
import { type Browser, chromium, type Page } from "playwright-core";
import { type BrokerHandle, startBroker } from "./helpers/broker.js";
import { underCi } from "./helpers/control.js";
import { Api, eventually } from "./helpers/management.js";
import { deepValue, tableBytes } from "./helpers/deep-table.js";
import { ArgWriter, M, RawClient } from "./helpers/raw-client.js";

const CHROMIUM = process.env.WARREN_CHROMIUM ?? "/usr/bin/chromium";
/** test-output/screenshots at the repository's root (this file runs as dist/test/management-ui.test.js). */
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test-output", "screenshots");
const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

const missing = !existsSync(CHROMIUM);
if (missing && underCi()) throw new Error(`CI is set and the UI tests need chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`);
const skip = missing ? `chromium not found at ${CHROMIUM}: apt-get install -y chromium (or WARREN_CHROMIUM=<path>) to run the browser tests` : false;

describe("management web UI in headless chromium", { skip }, () => {
  let broker: BrokerHandle;
  let api: Api;
  let browser: Browser;
  let page: Page;
  let amqp: ChannelModel;
  let channel: Channel;
  /** Every API request the page made (path and query), to check what the lists fetch. */
  const requests: string[] = [];
  /** Errors thrown in the page (checked by the last test). */
  const pageErrors: string[] = [];

  before(async () => {
    broker = await startBroker({ forceLocal: true, management: true });
    api = new Api(broker.managementUrl!);
    amqp = await connect(broker.url);
    channel = await amqp.createChannel();
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"], timeout: 30_000 });
    page = await browser.newPage({ viewport: LAPTOP });
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith("/api/")) requests.push(url.pathname + url.search);
    });
  });

  after(async () => {
    await browser?.close();
    await amqp?.close().catch(() => {});
    await broker?.stop();
  });

  /** Goes to a route of the app and waits for its first refresh. */
  async function open(route: string): Promise<void> {
    await page.goto(`${broker.managementUrl}/#/${route}`);
    await page.locator(".updated", { hasText: "Updated" }).waitFor();
  }

  /** The page at a laptop's width, then at a phone's. */
  async function photograph(name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-laptop.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(LAPTOP);
  }

  test("the UI is served at / with its modules and uPlot, from the broker itself", async () => {
    for (const path of ["/", "/ui/app.js", "/ui/app.css", "/ui/vendor/uPlot.esm.js", "/ui/vendor/uPlot.min.css"]) {
      const res = await fetch(broker.managementUrl + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/, path);
      const etag = res.headers.get("etag")!;
      assert.equal((await fetch(broker.managementUrl + path, { headers: { "if-none-match": etag } })).status, 304, path);
    }
    assert.equal((await fetch(`${broker.managementUrl}/ui/../package.json`)).status, 404);
    assert.equal((await fetch(`${broker.managementUrl}/api/overview`)).status, 401, "the API still needs a login");
  });

  test("login: a wrong password is refused, guest/guest logs in, log out returns to the login", async () => {
    await page.goto(`${broker.managementUrl}/`);
    await page.locator("form.login").waitFor();
    await photograph("login");
    await page.fill("input[name=username]", "guest");
    await page.fill("input[name=password]", "wrong");
    await page.click("form.login button[type=submit]");
    await page.locator("form.login [role=alert]", { hasText: "Login failed" }).waitFor();
    assert.equal(await page.locator("nav.nav").count(), 0);
    assert.equal(await page.evaluate("sessionStorage.length + localStorage.length"), 0, "nothing kept for a failed login");

    await page.fill("input[name=password]", "guest");
    await page.click("form.login button[type=submit]");
    await page.locator("nav.nav").waitFor();
    assert.ok(!page.url().includes("guest"), "credentials never in the URL");
    await page.click("button:has-text('Log out')");
    await page.locator("form.login").waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("warren.credentials")'), null);

    await page.fill("input[name=username]", "guest");
    await page.fill("input[name=password]", "guest");
    await page.click("form.login button[type=submit]");
    await page.locator("nav.nav").waitFor();
    await page.locator(".tile[data-tile=queues]").waitFor();
    await page.locator("figure[data-chart='Queued messages'] canvas").first().waitFor();
    await photograph("overview");
  });

  test("a queue fills and drains in its chart on the queue page and in the Overview", async () => {
    const queue = "ui-fill-drain";
    await channel.assertQueue(queue, { durable: false });
    await page.selectOption("select[aria-label='Refresh every']", "2");
    await open(`queues/%2F/${queue}`);
    const chart = page.locator("figure[data-chart='Queued messages']");
    const ready = async () => Number(((await chart.getAttribute("data-latest")) ?? "0").split(",")[0]);
    for (let i = 0; i < 300; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`));
    await eventually(async () => ((await ready()) === 300 ? true : undefined), 20_000);
    await page.locator("[data-field=messages_ready]", { hasText: "300" }).waitFor();
    await photograph("queue");

    await open("");
    const overviewChart = page.locator("figure[data-chart='Queued messages']");
    await eventually(async () => (Number(((await overviewChart.getAttribute("data-latest")) ?? "0").split(",")[0]) >= 300 ? true : undefined), 20_000);

    await open(`queues/%2F/${queue}`);
    await eventually(async () => ((await ready()) === 300 ? true : undefined), 20_000);
    await channel.consume(queue, () => {}, { noAck: true });
    await eventually(async () => ((await ready()) === 0 ? true : undefined), 20_000);
    assert.ok(Number(await chart.getAttribute("data-points")) >= 2, "the chart holds both the full and the drained points");
    await channel.deleteQueue(queue);
  });

  test("publish a message and get it back through the queue page", async () => {
    const queue = "ui-publish-get";
    await channel.assertQueue(queue, { durable: false });
    await open(`queues/%2F/${queue}`);
    const publish = page.locator("section.panel", { has: page.locator("h2", { hasText: "Publish message" }) });
    await publish.locator("textarea[name=payload]").fill("hello from the UI");
    await publish.locator("textarea[name=headers]").fill("origin = browser");
    await publish.locator("button[type=submit]").click();
    await publish.locator(".status.ok", { hasText: "Message published." }).waitFor();
    await eventually(async () => ((await api.get(`/api/queues/%2F/${queue}`)).body as { messages?: number }).messages === 1 || undefined);

    const get = page.locator("section.panel", { has: page.locator("h2", { hasText: "Get messages" }) });
    await get.locator("select[name=ackmode]").selectOption("ack_requeue_false");
    await get.locator("button[type=submit]").click();
    await get.locator("pre.payload", { hasText: "hello from the UI" }).waitFor();
    await get.locator(".kv dd", { hasText: "browser" }).first().waitFor();
    const left = await channel.checkQueue(queue);
    assert.equal(left.messageCount, 0, "taken with ack_requeue_false");
    await channel.deleteQueue(queue);
  });

  test("create a user on the Admin page, who can then log in to the API", async () => {
    await open("admin/users");
    const add = page.locator("section.panel", { has: page.locator("h2", { hasText: "Add a user" }) });
    await add.locator("input[name=name]").fill("ui-created");
    await add.locator("input[name=password]").fill("s3cret-ui");
    await add.locator("input[name=tags]").fill("monitoring");
    await add.locator("button[type=submit]").click();
    await add.locator(".status.ok").waitFor();
    await page.locator("table.data td", { hasText: "ui-created" }).waitFor();
    const whoami = await api.as("ui-created", "s3cret-ui").get("/api/whoami");
    assert.equal(whoami.status, 200);
    assert.deepEqual(whoami.body, { name: "ui-created", tags: ["monitoring"] });
    await photograph("admin-users");
    for (const tab of ["vhosts", "permissions", "policies", "limits", "definitions"]) {
      await open(`admin/${tab}`);
      await photograph(`admin-${tab}`);
    }
  });

  test("close a connection from its page, with a reason the client receives", async () => {
    const victim = await connect(broker.url, { clientProperties: { connection_name: "ui-close-me" } });
    // amqplib reports a 320 CONNECTION_FORCED (not fatal to it) on "close" only, not as an "error".
    const closed = new Promise<Error | undefined>((resolve) => victim.on("close", resolve));
    victim.on("error", () => {});
    const name = await eventually(async () => {
      const list = (await api.get("/api/connections")).body as Array<{ name: string; user_provided_name?: string }>;
      return list.find((c) => c.user_provided_name === "ui-close-me")?.name;
    });
    await open("connections");
    await page.locator("table.data a", { hasText: name }).waitFor();
    await photograph("connections");
    await page.locator("table.data a", { hasText: name }).click();
    await page.locator(".kv dt", { hasText: "connection_name" }).waitFor();
    await photograph("connection");
    page.once("dialog", (dialog) => void dialog.accept());
    await page.fill("input[name=reason]", "maintenance from the UI");
    await page.click("button:has-text('Close connection')");
    const err = (await Promise.race([closed, page.waitForTimeout(15_000).then(() => new Error("the client was not closed in 15 s"))])) as
      | (Error & { code?: number })
      | undefined;
    assert.ok(err !== undefined, "closed with an error");
    assert.equal(err.code, 320);
    assert.match(err.message, /CONNECTION_FORCED - maintenance from the UI/);
    await page.waitForURL(/#\/connections$/);
    await open("channels");
    await photograph("channels");
  });

  test("the queue list pages and filters on the server with a few hundred queues", async () => {
    const names = Array.from({ length: 320 }, (_, i) => `page-q-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 40) {
      await Promise.all(names.slice(i, i + 40).map((n) => api.put(`/api/queues/%2F/${n}`, { durable: false })));
    }
    requests.length = 0;
    await open("queues");
    const rows = page.locator("table.data tbody tr");
    await page.locator(".pager .page-of", { hasText: "page 1 of 7" }).waitFor();
    assert.equal(await rows.count(), 50);
    await page.click("button[aria-label='Next page']");
    await page.locator(".pager .page-of", { hasText: "page 2 of 7" }).waitFor();
    await page.locator("table.data a", { hasText: "page-q-050" }).waitFor();

    await page.fill("input[aria-label=Filter]", "page-q-01");
    await page.locator(".pager .page-of", { hasText: "page 1 of 1" }).waitFor();
    await page.locator(".list .muted", { hasText: "10 of 320 queues" }).waitFor();
    assert.equal(await rows.count(), 10);

    await page.check("input[aria-label='Regular expression']");
    await page.fill("input[aria-label=Filter]", "^page-q-(007|300)$");
    await page.locator(".list .muted", { hasText: "2 of 320 queues" }).waitFor();
    assert.equal(await rows.count(), 2);

    // Sorting is the API's too: the largest name first.
    await page.uncheck("input[aria-label='Regular expression']");
    await page.fill("input[aria-label=Filter]", "");
    await page.locator(".list .muted", { hasText: /^320 queues/ }).waitFor();
    await page.click("button.sort:has-text('Name')");
    await page.locator("table.data tbody tr:first-child a", { hasText: "page-q-319" }).waitFor();
    await photograph("queues");

    const lists = requests.filter((r) => r.startsWith("/api/queues?") || r === "/api/queues");
    assert.ok(lists.length > 0);
    for (const r of lists) assert.match(r, /[?&]page=\d+&page_size=50\b/, `every list request is one page: ${r}`);
  });

  test("exchanges: the list, an exchange's page with a binding made through its form", async () => {
    await channel.assertQueue("ui-bound", { durable: false });
    await open("exchanges");
    await page.locator("table.data a", { hasText: "amq.topic" }).click();
    await page.locator(".crumbs strong", { hasText: "amq.topic" }).waitFor();
    const bind = page.locator("details", { has: page.locator("summary", { hasText: "Add a binding from this exchange" }) });
    await bind.locator("summary").click();
    await bind.locator("input[name=other]").fill("ui-bound");
    await bind.locator("input[name=routing_key]").fill("orders.#");
    await bind.locator("button[type=submit]").click();
    await page.locator("table.data td", { hasText: "orders.#" }).waitFor();
    const bindings = (await api.get("/api/exchanges/%2F/amq.topic/bindings/source")).body as Array<{ destination: string; routing_key: string }>;
    assert.ok(bindings.some((b) => b.destination === "ui-bound" && b.routing_key === "orders.#"));
    await photograph("exchange");
    await open("exchanges");
    await photograph("exchanges");
  });

  test("a queue whose arguments nest 6,000 tables deep shows its page, the deep levels as an ellipsis", async () => {
    const queue = "ui-deep-arguments";
    const c = await RawClient.connect(broker.port);
    try {
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(
        1,
        M.queueDeclare,
        new ArgWriter()
          .short(0)
          .shortstr(queue)
          .bits(false, false, false, false, false)
          .raw(tableBytes([["x-deep", deepValue(6_000)]])),
      );
      await c.expectMethod(M.queueDeclareOk, { channel: 1 });
      await open(`queues/%2F/${queue}`);
      await page.locator("dt", { hasText: "x-deep" }).waitFor();
      await page.locator("span[title^='nested deeper']").first().waitFor();
      c.sendMethod(1, M.queueDelete, new ArgWriter().short(0).shortstr(queue).bits(false, false, false));
      await c.expectMethod(M.queueDeleteOk, { channel: 1 });
    } finally {
      c.destroy();
    }
  });

  test("no script error in the page through all of the above", () => {
    assert.deepEqual(pageErrors, []);
  });
});
