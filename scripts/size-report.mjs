// Prints the raw, gzip and brotli sizes of the script-tag build (see scripts/bundle.mjs): the
// loader every page downloads (it carries the stylesheet), and the widget fetched when needed
// (JS glue + wasm). With --check it exits 1 when a size is over its budget.
// Usage: node scripts/size-report.mjs [dist] [--check]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { minifyCss } from './bundle-css.mjs';

// Brotli budgets, in bytes. The loader's is the issue's; the whole widget's goal is 110 KB
// (`GOAL`), not reached yet, so the check holds the line where the build is today (123.9 KB
// without Leptos, drawn with the DOM API on src/reactive.rs; 173.5 KB, 189.7 KB, 241.5 KB and
// 290 KB before that).
export const BUDGET = { loader: 6 * 1024, widget: 128 * 1024 };
export const GOAL = { widget: 110 * 1024 };

export function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const args = process.argv.slice(2);
const dist = args.find((a) => !a.startsWith('--')) || 'dist';
const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
const css = Buffer.from(minifyCss(readFileSync('assets/launcher.css', 'utf8')));
const rows = [
  ['loader (incl. CSS)', sizes(readFileSync(join(dist, manifest.loader)))],
  ['  of which launcher.css', sizes(css)],
  ['glue', sizes(readFileSync(join(dist, manifest.glue)))],
  ['wasm (incl. widget.css)', sizes(readFileSync(join(dist, manifest.wasm)))],
];
const sum = (...picked) => Object.fromEntries(['raw', 'gzip', 'brotli'].map((k) => [k, picked.reduce((n, s) => n + s[k], 0)]));
const widget = sum(rows[1][1], rows[2][1], rows[3][1]);
rows.push(['widget (all but loader JS)', widget]);
rows.push(['everything', sum(rows[0][1], rows[2][1], rows[3][1])]);

const pad = (value, width) => String(value).padStart(width);
console.log(`${'file'.padEnd(24)}${pad('raw', 10)}${pad('gzip', 10)}${pad('brotli', 10)}`);
for (const [name, size] of rows) console.log(`${name.padEnd(24)}${pad(size.raw, 10)}${pad(size.gzip, 10)}${pad(size.brotli, 10)}`);

const loader = rows[0][1].brotli;
const verdict = (size, limit) => (size <= limit ? 'ok' : 'OVER');
console.log(`budget: loader ${loader} B brotli <= ${BUDGET.loader}: ${verdict(loader, BUDGET.loader)}`);
console.log(`budget: widget ${widget.brotli} B brotli <= ${BUDGET.widget}: ${verdict(widget.brotli, BUDGET.widget)}`);
console.log(`goal:   widget ${widget.brotli} B brotli <= ${GOAL.widget}: ${widget.brotli <= GOAL.widget ? 'met' : 'not met'}`);
if (args.includes('--check') && (loader > BUDGET.loader || widget.brotli > BUDGET.widget)) {
  console.error('size budget exceeded');
  process.exit(1);
}
