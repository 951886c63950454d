/**
 * The query-string conventions every list endpoint shares, as rabbit_mgmt_util applies them:
 * `name` / `use_regex` filtering, `sort` / `sort_reverse` (dotted keys reach into nested objects),
 * `page` / `page_size` pagination with its paged shape, and `columns` to keep only some keys.
 * Pagination only happens when `page` is given; otherwise the answer is a plain array.
 */
import { RE2JS } from "re2js";
import { HttpError, httpError } from "./http-error.js";

export type Item = Record<string, unknown>;
export type Query = Record<string, string | undefined>;

/** The largest page_size RabbitMQ takes. */
const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 100;

/** A list answered as the query asks: filtered, sorted, paged, narrowed to columns. */
export function listResponse(items: Item[], query: Query, defaultSort: readonly string[] = []): unknown {
  const sorted = sortItems(items, query, defaultSort);
  if (query.page === undefined) return narrow(sorted, query.columns);
  const { page, pageSize } = pagination(query);
  const filtered = filterByName(sorted, query);
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  if (page > pageCount) {
    throw new HttpError(400, "page_out_of_range", `Page out of range, page: ${page} page size: ${pageSize}, len: ${filtered.length}`);
  }
  const slice = filtered.slice((page - 1) * pageSize, page * pageSize);
  return {
    filtered_count: filtered.length,
    item_count: slice.length,
    items: narrow(slice, query.columns),
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: items.length,
  };
}

/** How a list endpoint makes its items: a cheap stub (the keys it sorts and filters by) and the whole item. */
export interface StubbedList<T> {
  /** The keys the stub holds, with the values the whole item has for them. */
  readonly stubKeys: readonly string[];
  stub(source: T): Item;
  full(source: T): Item;
}

/**
 * A list whose items are costly to build (a queue's JSON reads its counters and rates): when the
 * query asks for a page and sorts only by keys the stub holds, the page is picked among the stubs
 * and only its items are built, so the UI's page of 50 out of 10,000 queues builds 50. Any other
 * query builds every item, as listResponse does.
 */
export function stubbedListResponse<T>(sources: readonly T[], list: StubbedList<T>, query: Query, defaultSort: readonly string[] = []): unknown {
  const sortKeys = query.sort !== undefined && query.sort !== "" ? [query.sort] : defaultSort;
  if (query.page === undefined || !sortKeys.every((k) => list.stubKeys.includes(k))) {
    return listResponse(
      sources.map((s) => list.full(s)),
      query,
      defaultSort,
    );
  }
  const sourceOf = new Map<Item, T>();
  const stubs = sources.map((s) => {
    const stub = list.stub(s);
    sourceOf.set(stub, s);
    return stub;
  });
  const { columns, ...withoutColumns } = query;
  // Without `columns`, the page's items are the stubs themselves (filtering and slicing keep them).
  const paged = listResponse(stubs, withoutColumns, defaultSort) as { items: Item[] };
  return {
    ...paged,
    items: narrow(
      paged.items.map((stub) => list.full(sourceOf.get(stub)!)),
      columns,
    ),
  };
}

/** One object answered as the query asks (`columns` applies to single objects too). */
export function objectResponse(item: Item, query: Query): Item {
  return query.columns === undefined ? item : pick(item, columnsOf(query.columns));
}

function pagination(query: Query): { page: number; pageSize: number } {
  const page = wholeNumber(query.page);
  const pageSize = query.page_size === undefined ? DEFAULT_PAGE_SIZE : wholeNumber(query.page_size);
  if (page === undefined || pageSize === undefined) throw httpError.badRequest("Pagination parameters are invalid");
  if (page < 1 || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new HttpError(
      400,
      "invalid_pagination_parameters",
      `Invalid pagination parameters: page number ${page}, page size ${query.page_size === undefined ? "undefined" : pageSize}`,
    );
  }
  return { page, pageSize };
}

function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function filterByName(items: Item[], query: Query): Item[] {
  const name = query.name;
  if (name === undefined || name === "") return items;
  if (query.use_regex === "true") {
    let re: RE2JS;
    try {
      // RE2: linear in the name's length, whatever the pattern (a client's regex cannot stall the loop).
      re = RE2JS.compile(name, RE2JS.CASE_INSENSITIVE);
    } catch {
      throw httpError.badRequest("invalid regular expression");
    }
    return items.filter((i) => re.test(String(i.name ?? "")));
  }
  const lower = name.toLowerCase();
  return items.filter((i) =>
    String(i.name ?? "")
      .toLowerCase()
      .includes(lower),
  );
}

function sortItems(items: Item[], query: Query, defaultSort: readonly string[]): Item[] {
  const keys = query.sort !== undefined && query.sort !== "" ? [query.sort] : defaultSort;
  const reverse = query.sort_reverse === "true";
  if (keys.length === 0) return reverse ? [...items].reverse() : items;
  const paths = keys.map((k) => k.split("."));
  const sorted = [...items].sort((a, b) => {
    for (const path of paths) {
      const c = compare(valueAt(a, path), valueAt(b, path));
      if (c !== 0) return c;
    }
    return 0;
  });
  return reverse ? sorted.reverse() : sorted;
}

function valueAt(item: unknown, path: string[]): unknown {
  let v = item;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Item)[key];
  }
  return v;
}

/** Numbers before strings, missing values first, as Erlang orders terms (number < atom < binary). */
function compare(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === undefined || v === null ? 0 : typeof v === "number" ? 1 : typeof v === "boolean" ? 2 : 3);
  const [ra, rb] = [rank(a), rank(b)];
  if (ra !== rb) return ra - rb;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const [sa, sb] = [String(a), String(b)];
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function columnsOf(columns: string): string[][] {
  return columns
    .split(",")
    .filter((c) => c !== "")
    .map((c) => c.split("."));
}

function narrow(items: Item[], columns: string | undefined): Item[] {
  if (columns === undefined) return items;
  const paths = columnsOf(columns);
  return items.map((i) => pick(i, paths));
}

/** Only the given (dotted) keys of an object, nested as they were. */
function pick(item: Item, paths: string[][]): Item {
  const out: Item = {};
  for (const path of paths) {
    const v = valueAt(item, path);
    if (v === undefined) continue;
    let target = out;
    for (const key of path.slice(0, -1)) {
      if (typeof target[key] !== "object" || target[key] === null) target[key] = {};
      target = target[key] as Item;
    }
    target[path[path.length - 1]!] = v;
  }
  return out;
}
