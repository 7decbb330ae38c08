// Run the benchmark lab from a source checkout without building:
//   node --import tsx bench/cask-bench.ts [cask bench options]
// Same as `cask bench …` once the CLI is built.
import { runBench } from '../src/bench/index.js';

process.exitCode = await runBench(process.argv.slice(2));
