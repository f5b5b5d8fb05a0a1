import { defineConfig } from "tsup";

// No source maps in the package: they were 1.4 MB of its 2.2 MB, and the bundles are not minified
// (a stack trace already names msgauth's functions and files). `npm run build` leaves none either.
export default defineConfig([
  {
    // The library as ESM, and the command line beside it: one build with splitting, so cli.js
    // imports the library's code from a shared chunk instead of carrying a second copy of it.
    entry: { index: "src/index.ts", cli: "src/cli/bin.ts" },
    format: ["esm"],
    dts: { entry: { index: "src/index.ts" } },
    sourcemap: false,
    clean: true,
    target: "node20",
    platform: "node",
    splitting: true,
  },
  {
    entry: { index: "src/index.ts" },
    format: ["cjs"],
    dts: { entry: { index: "src/index.ts" } },
    sourcemap: false,
    target: "node20",
    platform: "node",
    splitting: false,
    // import.meta.url (src/deps.ts loads some dependencies on first use) in the CommonJS build.
    shims: true,
  },
]);
