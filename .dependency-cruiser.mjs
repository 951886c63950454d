// The layering rules `npm run check:deps` enforces (dependency-cruiser). Every import counts here,
// `import type` included: a type from a higher layer couples the code as much as a value does.
// Runtime import cycles are checked by .dependency-cruiser-cycles.mjs, on the graph without types.
//
// The layers (README, "Rules the build checks"): amqp <- broker <- server, store, ctl.

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "amqp-is-the-bottom",
      comment: "src/amqp is the wire; it knows nothing of queues, sockets, storage, control or users",
      severity: "error",
      from: { path: "^src/amqp/" },
      to: { path: "^src/(broker|server|store|ctl|access)/" },
    },
    {
      name: "broker-not-server-or-ctl",
      comment: "src/broker is the model; the server and warrenctl use it, not the other way round",
      severity: "error",
      from: { path: "^src/broker/" },
      to: { path: "^src/(server|ctl)/" },
    },
    {
      name: "broker-not-store",
      comment: "src/broker declares its storage contract and src/store implements it (issue 9)",
      severity: "error",
      from: { path: "^src/broker/" },
      to: { path: "^src/store/" },
    },
    {
      name: "store-not-server-or-ctl",
      comment: "src/store makes the model durable; it knows nothing of sockets or warrenctl",
      severity: "error",
      from: { path: "^src/store/" },
      to: { path: "^src/(server|ctl)/" },
    },
    {
      name: "bench-not-test",
      comment: "bench/ must not depend on test helpers, which change with the tests",
      severity: "error",
      from: { path: "^bench/" },
      to: { path: "^test/" },
    },
    {
      name: "src-not-test-or-bench",
      comment: "the shipped code must not import tests or benchmarks",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
