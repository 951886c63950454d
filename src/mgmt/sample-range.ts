/**
 * The sample ranges a request asks for, as RabbitMQ's management API reads them
 * (rabbit_mgmt_util:range): `msg_rates_age`/`msg_rates_incr` for message_stats, `lengths_age`/
 * `lengths_incr` for queue lengths (and churn_rates), `data_rates_age`/`data_rates_incr` for a
 * connection's or vhost's bytes. Each pair in seconds; a pair with a missing or non-integer half
 * is no range. With a range, each `*_details` also carries `samples` and `avg`/`avg_rate`.
 */
import type { Query } from "./listing.js";

/** Sample times from `last` back to `first` (ms, inclusive), every `incr` ms. */
export interface SampleRange {
  first: number;
  last: number;
  incr: number;
}

export interface SampleRanges {
  msgRates?: SampleRange;
  lengths?: SampleRange;
  dataRates?: SampleRange;
}

/**
 * The most samples one series answers with (the newest): 121 covers RabbitMQ's web UI's longest
 * fine range (10 minutes every 5 s); more would only repeat what the history holds (605 s) and
 * lets one request build megabytes of JSON per object.
 */
export const MAX_SAMPLES = 200;

export function sampleRanges(query: Query, now = Date.now()): SampleRanges {
  return {
    msgRates: rangeOf(query, "msg_rates", now),
    lengths: rangeOf(query, "lengths", now),
    dataRates: rangeOf(query, "data_rates", now),
  };
}

function rangeOf(query: Query, prefix: string, now: number): SampleRange | undefined {
  const age = seconds(query[`${prefix}_age`]);
  const incr = seconds(query[`${prefix}_incr`]);
  if (age === undefined || incr === undefined || incr === 0) return undefined;
  const last = Math.floor(now / (incr * 1000)) * incr * 1000;
  const span = Math.min(age * 1000, (MAX_SAMPLES - 1) * incr * 1000);
  return { first: last - span, last, incr: incr * 1000 };
}

function seconds(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}
