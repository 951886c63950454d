/**
 * A list the API pages, filters and sorts: the browser holds one page of it, so a broker with
 * 10,000 queues costs the page what 20 queues would. Each poll fetches only the page on screen
 * (and only the columns it shows).
 */
import type { Paged } from "./api.js";
import type { AppContext } from "./context.js";
import { h, replace } from "./dom.js";
import { count } from "./format.js";
import { errorText } from "./forms.js";
import { type Column, DataTable, type SortState } from "./table.js";

export interface ListOptions<T> {
  /** The list's path for a vhost (undefined: every vhost), e.g. `/api/queues/%2F`. */
  path: (vhost: string | undefined) => string;
  columns: readonly Column<T>[];
  /** Keys to ask the API for (`columns=`), to keep the JSON small. */
  fields?: readonly string[];
  sort?: SortState;
  /** What the filter searches ("queue name"). */
  noun: string;
}

const PAGE_SIZES = ["20", "50", "100", "500"];

export class ServerList<T> {
  readonly root: HTMLElement;
  private readonly table: DataTable<T>;
  private readonly summary = h("span", { class: "muted" });
  private readonly pager = h("span", { class: "pager" });
  private readonly error = h("p", { class: "status error" });
  private readonly filter: HTMLInputElement;
  private readonly regex: HTMLInputElement;
  private readonly pageSize: HTMLSelectElement;
  private page = 1;
  private pageCount = 1;
  private filterTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly options: ListOptions<T>,
  ) {
    this.table = new DataTable(options.columns, options.sort, () => void this.refresh(), `No ${options.noun}s.`);
    this.filter = h("input", { type: "search", placeholder: `Filter by ${options.noun} name`, "aria-label": "Filter", class: "filter" });
    this.filter.addEventListener("input", () => {
      clearTimeout(this.filterTimer);
      this.filterTimer = setTimeout(() => {
        this.page = 1;
        void this.refresh();
      }, 250);
    });
    this.regex = h("input", { type: "checkbox", "aria-label": "Regular expression" });
    this.regex.addEventListener("change", () => void this.refresh());
    this.pageSize = h(
      "select",
      { "aria-label": "Page size" },
      ...PAGE_SIZES.map((size) => h("option", { value: size, selected: size === "50" }, `${size} per page`)),
    );
    this.pageSize.addEventListener("change", () => {
      this.page = 1;
      void this.refresh();
    });
    this.root = h(
      "div",
      { class: "list" },
      h("div", { class: "toolbar" }, this.filter, h("label", { class: "check" }, this.regex, "regex"), this.pageSize, this.summary, this.pager),
      this.error,
      this.table.root,
    );
  }

  async refresh(): Promise<void> {
    const query = new URLSearchParams({ page: String(this.page), page_size: this.pageSize.value });
    if (this.filter.value !== "") query.set("name", this.filter.value);
    if (this.regex.checked) query.set("use_regex", "true");
    const sort = this.table.sort;
    if (sort !== undefined) {
      query.set("sort", sort.key);
      query.set("sort_reverse", String(sort.reverse));
    }
    if (this.options.fields !== undefined) query.set("columns", this.options.fields.join(","));
    let result: Paged<T>;
    try {
      result = await this.ctx.api.get<Paged<T>>(`${this.options.path(this.ctx.vhost())}?${query}`);
    } catch (err) {
      if (this.page > 1 && (err as { error?: string }).error === "page_out_of_range") {
        this.page = 1;
        return this.refresh();
      }
      this.error.textContent = errorText(err);
      return;
    }
    this.error.textContent = "";
    this.pageCount = result.page_count;
    this.table.render(result.items);
    const shown =
      result.filtered_count === result.total_count ? `${count(result.total_count)}` : `${count(result.filtered_count)} of ${count(result.total_count)}`;
    this.summary.textContent = `${shown} ${this.options.noun}${result.total_count === 1 ? "" : "s"}`;
    replace(
      this.pager,
      h("button", { type: "button", disabled: this.page <= 1, onclick: () => this.go(this.page - 1), "aria-label": "Previous page" }, "‹"),
      h("span", { class: "page-of" }, `page ${this.page} of ${this.pageCount}`),
      h("button", { type: "button", disabled: this.page >= this.pageCount, onclick: () => this.go(this.page + 1), "aria-label": "Next page" }, "›"),
    );
  }

  private go(page: number): void {
    this.page = Math.min(Math.max(1, page), this.pageCount);
    void this.refresh();
  }
}
