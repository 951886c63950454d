// Run with ESM support: node --experimental-vm-modules node_modules/jest/bin/jest.js --config examples/embedding/jest.config.mjs
export default {
  rootDir: import.meta.dirname,
  testMatch: ["<rootDir>/jest.test.mjs"],
  transform: {}, // plain ES modules: nothing to compile
};
