// What each crate costs in one dialect's wasm: builds that dialect's release module (as
// scripts/build-widget.sh does, but keeping symbol names), runs wasm-bindgen and wasm-opt with
// the real build's passes, and sums twiggy's per-function sizes by crate. Code only; data
// (strings, tables, the stylesheet) is one line.
// Needs `cargo install twiggy` (from crates.io).
// Usage: node scripts/size-breakdown.mjs [dialect=chataibot] [top=25]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const input = join(root, 'target', 'wasm32-unknown-unknown', 'release', 'chat_widget.wasm');
const dialect = process.argv[2] || 'chataibot';
const top = Number(process.argv[3] || 25);
execFileSync('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'chat-widget', '--no-default-features', '--features', `${dialect},csr`], {
  cwd: root,
  stdio: 'inherit',
});
console.log(`dialect: ${dialect}`);
const work = mkdtempSync(join(tmpdir(), 'cw-size-'));
try {
  execFileSync('wasm-bindgen', ['--target', 'web', '--keep-debug', '--out-dir', work, input]);
  const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue'];
  const optimized = join(work, 'named.wasm');
  execFileSync(join(root, 'node_modules', '.bin', 'wasm-opt'), [
    // The passes index.html gives Trunk: -Oz, then data-wasm-opt-params.
    ...features.map((f) => `--enable-${f}`), '-Oz', '--flatten', '--rereloop', '-Oz', '-Oz', '--debuginfo', join(work, 'chat_widget_bg.wasm'), '-o', optimized,
  ]);
  const csv = execFileSync('twiggy', ['top', '-n', '1000000', '--format', 'csv', optimized], { maxBuffer: 1 << 28 }).toString();
  const totals = new Map();
  let all = 0;
  for (const line of csv.split('\n').slice(1)) {
    const match = line.match(/^"?(.*?)"?,(\d+),/);
    if (!match) continue;
    const [, name, size] = match;
    let crate;
    if (/custom section|names/.test(name)) continue; // names are kept only for this report
    else if (name.startsWith('data segment')) crate = '(data: strings, tables, stylesheet)';
    else if (/^(import|export|elem|table|memory|global|type|code\[)/.test(name) || /externref shim|^[a-z_]+_[a-z_]+$/i.test(name) && !name.includes('::')) crate = '(wasm-bindgen shims and tables)';
    else {
      const path = name.replace(/^<+/, '').replace(/^(&mut |&|dyn |impl )+/, '');
      crate = (path.match(/^([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::/) || [null, '(other)'])[1];
    }
    totals.set(crate, (totals.get(crate) || 0) + Number(size));
    all += Number(size);
  }
  const rows = [...totals].sort((a, b) => b[1] - a[1]);
  console.log(`${'crate'.padEnd(40)}${'bytes'.padStart(10)}${'share'.padStart(8)}`);
  for (const [crate, size] of rows.slice(0, top)) {
    console.log(`${crate.padEnd(40)}${String(size).padStart(10)}${((100 * size) / all).toFixed(1).padStart(7)}%`);
  }
  console.log(`${'total (raw, before compression)'.padEnd(40)}${String(all).padStart(10)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
