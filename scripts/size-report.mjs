// Prints the raw, gzip and brotli sizes of the script-tag build: the loader, the JS glue and
// the wasm (the CSS is compiled into the wasm; its own size is listed for reference).
// Usage: node scripts/size-report.mjs [dist]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const dist = process.argv[2] || 'dist';
const files = [
  ['loader', join(dist, 'chat-widget.js')],
  ['glue', join(dist, 'core', 'chat-widget.js')],
  ['wasm', join(dist, 'core', 'chat-widget_bg.wasm')],
  ['css (inside wasm)', 'assets/widget.css'],
];

export function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const pad = (value, width) => String(value).padStart(width);
console.log(`${'file'.padEnd(22)}${pad('raw', 10)}${pad('gzip', 10)}${pad('brotli', 10)}`);
const total = { raw: 0, gzip: 0, brotli: 0 };
for (const [name, path] of files) {
  const size = sizes(readFileSync(path));
  if (!name.startsWith('css')) for (const k of Object.keys(total)) total[k] += size[k];
  console.log(`${name.padEnd(22)}${pad(size.raw, 10)}${pad(size.gzip, 10)}${pad(size.brotli, 10)}`);
}
console.log(`${'total (loader+glue+wasm)'.padEnd(22)}${pad(total.raw, 8)}${pad(total.gzip, 10)}${pad(total.brotli, 10)}`);
