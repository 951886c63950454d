#!/usr/bin/env node
/**
 * warren-perf: a load generator for AMQP 0-9-1 brokers (Warren, RabbitMQ, any other), modelled on
 * RabbitMQ's PerfTest and LavinMQ's lavinmqperf so its figures compare with theirs.
 *
 *   warren-perf -x 1 -y 1 -s 16 --auto-ack -z 10
 *   warren-perf --mode backlog -C 1000000 --json
 *
 * Live progress goes to stderr once a second; the result to stdout (one JSON line with --json).
 */
import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { runPerf, type PerfResult } from "../perf/modes.js";
import { checkOptions, MODE_DEFAULTS, MODES, UsageError, type Mode, type PerfOptions } from "../perf/options.js";
import { renderPlot, type PlotPhase } from "../perf/plot.js";
import { formatResult } from "../perf/report.js";
import { cpus } from "node:os";
import { warrenVersion } from "../version.js";

function int(min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`'${raw}' is not an integer >= ${min}`);
    return n;
  };
}
function num(min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`'${raw}' is not a number >= ${min}`);
    return n;
  };
}

const program = new Command("warren-perf")
  .description("Load generator for AMQP 0-9-1 brokers: throughput and latency, and the broker's memory per connection, queue and queued message")
  .version(warrenVersion())
  .addOption(new Option("-m, --mode <mode>", "what to measure").choices(MODES).default("throughput"))
  .option("--uri <uri>", "broker to test", "amqp://guest:guest@127.0.0.1:5672/")
  .option("-x, --producers <n>", "producers, each on its own connection", int(0), 1)
  .option("-y, --consumers <n>", "consumers, each on its own connection", int(0), 1)
  .option("-s, --size <bytes>", "message body size (8 or more to measure latency)", int(0), 16)
  .option("-u, --queue <name>", "queue name (with --queues N: name-1 .. name-N); default: server-named queues, deleted at the end")
  .option(
    "--queues <n>",
    "queues; producers and consumers are spread over them (a fanout or headers exchange sends every message to all) (queues mode: how many to declare, default 10000)",
    int(1),
  )
  .option("-e, --exchange <name>", "exchange to publish to (declared unless amq.*); default: the default exchange", "")
  .option("-t, --type <type>", "exchange type", "direct")
  .option("-a, --auto-ack", "consume without acks (no_ack)", false)
  .option("-A, --multi-ack-every <n>", "manual ack with multiple=true every N messages (0: ack each one)", int(0), 0)
  .option("-q, --prefetch <n>", "basic.qos prefetch count per consumer (0: unlimited)", int(0), 0)
  .option("--persistent", "durable queues and delivery mode 2", false)
  .option("-c, --confirm <n>", "publisher confirms with at most N unconfirmed messages per producer (0: off)", int(0), 0)
  .option("-r, --rate <n>", "publish rate per producer, msg/s (0: as fast as possible)", num(0), 0)
  .option("-z, --time <s>", "run this many seconds (0: until -C/-D are reached, or Ctrl-C)", num(0), 0)
  .option("--warmup <s>", "seconds at the start left out of the rates and latency", num(0), 0)
  .option("-C, --pmessages <n>", "messages per producer (0: no limit; backlog mode: default 1000000)", int(0))
  .option("-D, --cmessages <n>", "messages per consumer (0: no limit)", int(0), 0)
  .option("--threads <n>", "worker threads the producers and consumers are spread over (default: one per client, at most the number of CPUs)", int(1))
  .option(
    "--max-in-flight <n>",
    "producers pause while published but not yet consumed reaches N (0: off; applies only with consumers and no -r)",
    int(0),
    100_000,
  )
  .option("--connections <n>", "connections mode: connections to open", int(1), MODE_DEFAULTS.connections)
  .option("--hold <s>", "connections, queues, backlog modes: seconds to wait before reading the broker's memory", num(0), 2)
  .option(
    "--prime <n>",
    "connections, queues modes: open and close (declare and delete) N first, so one-time costs are left out of the memory per item",
    int(0),
    0,
  )
  .option("--broker-pid <pid>", "broker process to read CPU and memory from (default: the one listening on the URI's port)", int(1))
  .option("--json", "print the result as one JSON line", false)
  .option("--plot <file>", "write an SVG chart of rates and latency over time")
  .option("--quiet", "no live progress on stderr", false)
  .addHelpText(
    "after",
    `
Examples:
  warren-perf -x 1 -y 1 -s 16 --auto-ack -z 10                    throughput, one producer and one consumer
  warren-perf -q 100 -z 10                                         manual ack, prefetch 100
  warren-perf -s 1024 --persistent -c 100 -q 100 -z 10             durable, confirms, 100 outstanding
  warren-perf -e perf-fanout -t fanout --queues 10 -y 10 -a -z 10  fanout to 10 queues
  warren-perf -r 1000 -a -z 10                                     latency at a fixed 1,000 msg/s
  warren-perf --mode connections --connections 1000                memory per connection
  warren-perf --mode queues --queues 10000                         declare rate and memory per queue
  warren-perf --mode backlog -C 1000000                            memory per queued message, drain rate`,
  );

program.parse();
const flags = program.opts<{
  mode: Mode;
  uri: string;
  producers: number;
  consumers: number;
  size: number;
  queue?: string;
  queues?: number;
  exchange: string;
  type: string;
  autoAck: boolean;
  multiAckEvery: number;
  prefetch: number;
  persistent: boolean;
  confirm: number;
  rate: number;
  time: number;
  warmup: number;
  pmessages?: number;
  cmessages: number;
  threads?: number;
  maxInFlight: number;
  connections: number;
  hold: number;
  prime: number;
  brokerPid?: number;
  json: boolean;
  plot?: string;
  quiet: boolean;
}>();

const options: PerfOptions = {
  uri: flags.uri,
  mode: flags.mode,
  producers: flags.producers,
  consumers: flags.consumers,
  size: flags.size,
  queue: flags.queue,
  queues: flags.queues ?? (flags.mode === "queues" ? MODE_DEFAULTS.queues : 1),
  exchange: flags.exchange,
  type: flags.type,
  autoAck: flags.autoAck,
  multiAckEvery: flags.multiAckEvery,
  prefetch: flags.prefetch,
  persistent: flags.persistent,
  confirm: flags.confirm,
  rate: flags.rate,
  time: flags.time,
  warmup: flags.warmup,
  producerMessages: flags.pmessages ?? (flags.mode === "backlog" ? MODE_DEFAULTS.backlogMessages : 0),
  consumerMessages: flags.cmessages,
  threads: flags.threads ?? Math.max(1, Math.min(flags.producers + flags.consumers, cpus().length)),
  maxInFlight: flags.maxInFlight,
  connections: flags.connections,
  hold: flags.hold,
  prime: flags.prime,
  brokerPid: flags.brokerPid,
  json: flags.json,
  plot: flags.plot,
  quiet: flags.quiet,
};

try {
  checkOptions(options);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`warren-perf: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

// Ctrl-C ends the run early and still prints the result; a second one quits at once.
let requestStop!: () => void;
const stopRequested = new Promise<void>((r) => (requestStop = r));
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    requestStop();
  });
}

const phases: PlotPhase[] = [];
let result: PerfResult;
try {
  result = await runPerf(options, {
    progress: (line) => {
      if (!options.quiet) process.stderr.write(`${line}\n`);
    },
    series: (name, samples) => phases.push({ name, samples }),
    stopRequested,
  });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  if (options.json) console.log(JSON.stringify({ mode: options.mode, error: message }));
  else console.error(`warren-perf: ${message}`);
  process.exit(1);
}

if (options.plot !== undefined) {
  const b = result.broker;
  const what =
    options.mode === "throughput"
      ? `${options.producers} producer(s), ${options.consumers} consumer(s), ${options.size} B${options.autoAck ? ", auto-ack" : ""}${options.confirm ? `, confirm ${options.confirm}` : ""}${options.rate ? `, ${options.rate} msg/s` : ""}`
      : options.mode;
  if (phases.length === 0) console.error(`warren-perf: --plot: ${options.mode} mode has no time series; no chart written`);
  else writeFileSync(options.plot, renderPlot(`warren-perf ${what}: ${b.product} ${b.version}`, phases));
}

console.log(options.json ? JSON.stringify({ ...result, config: configOf(options) }) : formatResult(result));
process.exit(result.error !== undefined ? 1 : 0);

/** The settings that shape the load, for the JSON line (no credentials). */
function configOf(o: PerfOptions): Record<string, unknown> {
  const { uri: _uri, json: _json, plot: _plot, quiet: _quiet, ...rest } = o;
  return rest;
}
