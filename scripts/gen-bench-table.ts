// Print the README's "How it compares" table from a `cask bench` results.json:
//   node --import tsx scripts/gen-bench-table.ts bench/results/DATE/results.json
// and paste it over the table in README.md.
import { readJson } from '../src/bench/report/json.js';
import { readmeTable } from '../src/bench/report/readme.js';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: gen-bench-table.ts RESULTS.json\n');
  process.exit(2);
}
const table = readmeTable(readJson(file));
if (table === null) {
  process.stderr.write(`Cask did not run in ${file}: no table to make\n`);
  process.exit(1);
}
process.stdout.write(`${table}\n`);
