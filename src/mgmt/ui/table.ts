/**
 * A table of API objects: columns say how to show a value and which API key sorts by it. Sorting
 * is the caller's (the API sorts, so a sorted list of 10,000 queues is still one page); the table
 * shows the arrows and reports clicks.
 */
import { h, replace } from "./dom.js";

export interface Column<T> {
  label: string;
  /** The API's sort key (dotted: "message_stats.publish_details.rate"); no key, no sorting. */
  sort?: string;
  /** Numbers are right-aligned. */
  numeric?: boolean;
  cell: (row: T) => Node | string;
}

export interface SortState {
  key: string;
  reverse: boolean;
}

export class DataTable<T> {
  readonly root: HTMLElement;
  private readonly head: HTMLTableRowElement;
  private readonly body: HTMLTableSectionElement;

  constructor(
    private readonly columns: readonly Column<T>[],
    private sortState: SortState | undefined,
    private readonly onSort: (state: SortState) => void = () => {},
    private readonly emptyText = "Nothing here.",
  ) {
    this.head = h("tr");
    this.body = h("tbody");
    this.root = h("div", { class: "table-wrap" }, h("table", { class: "data" }, h("thead", {}, this.head), this.body));
    this.renderHead();
  }

  get sort(): SortState | undefined {
    return this.sortState;
  }

  /** Shows these rows (replacing the previous ones). */
  render(rows: readonly T[]): void {
    if (rows.length === 0) {
      replace(this.body, h("tr", {}, h("td", { class: "empty", colspan: this.columns.length }, this.emptyText)));
      return;
    }
    replace(
      this.body,
      ...rows.map((row) => h("tr", {}, ...this.columns.map((column) => h("td", { class: column.numeric ? "num" : undefined }, column.cell(row))))),
    );
  }

  private renderHead(): void {
    replace(
      this.head,
      ...this.columns.map((column) => {
        if (column.sort === undefined) return h("th", { class: column.numeric ? "num" : undefined }, column.label);
        const active = this.sortState?.key === column.sort;
        const arrow = active ? (this.sortState!.reverse ? " ▼" : " ▲") : "";
        const button = h("button", { type: "button", class: "sort", onclick: () => this.toggle(column.sort!) }, column.label, arrow);
        return h(
          "th",
          { class: column.numeric ? "num" : undefined, "aria-sort": active ? (this.sortState!.reverse ? "descending" : "ascending") : undefined },
          button,
        );
      }),
    );
  }

  private toggle(key: string): void {
    this.sortState = { key, reverse: this.sortState?.key === key ? !this.sortState.reverse : false };
    this.renderHead();
    this.onSort(this.sortState);
  }
}
