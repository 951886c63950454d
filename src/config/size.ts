/**
 * Sizes as RabbitMQ reads them in rabbitmq.conf (rabbit_resource_monitor_misc): bytes, or an
 * integer and a unit. k, M, G and the *iB units are binary; kB, MB, GB are decimal.
 */
const SIZE_UNITS: Record<string, number> = {
  ...Object.fromEntries(["k", "K", "kiB", "KiB", "kib", "KIB"].map((u) => [u, 1024])),
  ...Object.fromEntries(["m", "M", "MiB", "mib", "MIB"].map((u) => [u, 1024 ** 2])),
  ...Object.fromEntries(["g", "G", "GiB", "gib", "GIB"].map((u) => [u, 1024 ** 3])),
  ...Object.fromEntries(["kB", "KB", "kb", "Kb"].map((u) => [u, 1000])),
  ...Object.fromEntries(["MB", "mb", "Mb"].map((u) => [u, 1000 ** 2])),
  ...Object.fromEntries(["GB", "gb", "Gb"].map((u) => [u, 1000 ** 3])),
};

/** The units a size may have, for error messages. */
export const SIZE_UNIT_NAMES = "kB, MB, GB, KiB, MiB, GiB, k, M, G";

/** A size in bytes (50MB is 50 * 10^6, 50MiB and 50M are 50 * 2^20), or undefined when it is not one. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+)([A-Za-z]*)$/.exec(value);
  if (m === null) return undefined;
  const multiplier = m[2] === "" ? 1 : SIZE_UNITS[m[2]!];
  return multiplier === undefined ? undefined : Number(m[1]) * multiplier;
}
