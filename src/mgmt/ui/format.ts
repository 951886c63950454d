/** How numbers, sizes, rates and times are shown. */

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

/** A count: 12,345 (a chart's axis may ask for 0.5). */
export function count(value: unknown): string {
  if (typeof value !== "number") return "–";
  return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

/** A rate per second: 1,234/s, 0.4/s. */
export function rate(value: unknown): string {
  if (typeof value !== "number") return "–";
  return `${value >= 100 ? integer.format(value) : decimal.format(value)}/s`;
}

/** A size in bytes: 1.2 MiB. */
export function bytes(value: unknown): string {
  if (typeof value !== "number") return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(size) : decimal.format(size)} ${units[unit]}`;
}

/** A duration in milliseconds: 3d 4h, 5m 10s. */
export function duration(milliseconds: unknown): string {
  if (typeof milliseconds !== "number") return "–";
  let seconds = Math.floor(milliseconds / 1000);
  const days = Math.floor(seconds / 86400);
  seconds -= days * 86400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/** Yes/no for booleans, the text otherwise. */
export function text(value: unknown): string {
  if (value === undefined || value === null || value === "") return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A value at a dotted path of an API object: `at(q, "message_stats.publish_details.rate")`. */
export function at(item: unknown, path: string): unknown {
  let value: unknown = item;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
