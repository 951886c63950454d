// "No runtime import cycles", checked by `npm run check:deps` (dependency-cruiser) on the graph of
// imports that survive compilation: `import type` (erased, so it cannot change the order modules
// run in) is left out, which makes every cycle found a runtime one. Type-only cycles are allowed.
// (Checking cycles on the full graph instead would miss some: dependency-cruiser reports one cycle
// per import, and the one it finds first may pass through a type-only import.)

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-runtime-cycle",
      comment: "a runtime import cycle makes a module run before what it imports is initialised",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // false: the TypeScript sources are compiled first (with tsconfig.json's settings, so with
    // verbatimModuleSyntax) and only the imports left in the JavaScript count.
    tsPreCompilationDeps: false,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
