// The layering rules `npm run check:deps` enforces (dependency-cruiser). Every import counts here,
// `import type` included: a type from a higher layer couples the code as much as a value does.
// Runtime import cycles are checked by .dependency-cruiser-cycles.mjs, on the graph without types.
//
// The layers (README, "Rules the build checks"): amqp <- broker <- server, store, ctl, definitions.
// src/ctl holds two programs that share only the protocol modules at its top (protocol.ts,
// info-keys.ts, info-values.ts): the broker's end (src/ctl/server/) and warrenctl (src/ctl/cli/).

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "amqp-is-the-bottom",
      comment: "src/amqp is the wire; it knows nothing of queues, sockets, storage, control, users or definitions",
      severity: "error",
      from: { path: "^src/amqp/" },
      to: { path: "^src/(broker|server|store|ctl|access|definitions)/" },
    },
    {
      name: "broker-not-server-or-ctl",
      comment: "src/broker is the model; the server, warrenctl and definitions use it, not the other way round",
      severity: "error",
      from: { path: "^src/broker/" },
      to: { path: "^src/(server|ctl|definitions)/" },
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
      name: "ctl-cli-not-broker",
      comment:
        "warrenctl (src/ctl/cli/, src/cli/warrenctl.ts) talks to the broker over the control socket only: it imports its own modules, the shared protocol, settings and the version",
      severity: "error",
      from: { path: "^src/(ctl/cli/|cli/warrenctl[.]ts$)" },
      to: { path: "^src/", pathNot: "^src/(ctl/cli/|ctl/[^/]+[.]ts$|config/|version[.]ts$)" },
    },
    {
      name: "ctl-server-not-cli",
      comment: "the broker's end of the control socket answers with data; printing it is warrenctl's (src/ctl/cli/)",
      severity: "error",
      from: { path: "^src/ctl/server/" },
      to: { path: "^src/ctl/cli/" },
    },
    {
      name: "ctl-protocol-shared",
      comment: "the protocol modules at the top of src/ctl are what both ends share: they import only each other",
      severity: "error",
      from: { path: "^src/ctl/[^/]+[.]ts$" },
      to: { path: "^src/", pathNot: "^src/ctl/[^/]+[.]ts$" },
    },
    {
      name: "definitions-not-server-or-ctl",
      comment: "definitions import/export works on the model; warrenctl's server and the startup call it",
      severity: "error",
      from: { path: "^src/definitions/" },
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
