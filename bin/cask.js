#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript so `npx cask` works from a clone
// once `npm install` has run the `prepare` build.
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
