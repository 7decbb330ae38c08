#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=100
// Thin launcher: the CLI lives in the compiled TypeScript so `npx cask` works from a clone
// once `npm install` has run the `prepare` build.
//
// --max-semi-space-size=2 (MiB) caps V8's young generation. Left to grow, it takes the front
// from about 85 MB to about 110 MB of resident memory under a keep-alive hello-world load for
// no CPU gained: a request's garbage is short-lived whatever the size (docs/performance.md).
// --heap-growing-percent=100 lets the old generation grow by at most twice its live size
// after a collection (V8 picks up to four times under a fast allocation rate): about 20 MB
// less at the peak of a keep-alive load, for no CPU per request measured (same page).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
