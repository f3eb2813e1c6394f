// Writes the script-tag distribution dist/ from the widget modules Trunk built, one per
// dialect (<builds dir>/<dialect>/core/chat-widget.js, the wasm-bindgen glue, and
// chat-widget_bg.wasm; see scripts/build-widget.sh):
//   1. for each dialect, shortens the names the wasm and the glue share (imports, exports),
//      minifies the glue, then gives both content-hashed names (core/chat-widget.<hash>.js /
//      .wasm), so the server can let browsers cache them for a year;
//   2. writes the loader dist/chat-widget.js (stable name, short cache) from
//      assets/chat-widget.js, with the minified stylesheet and the builds' names put in,
//      minified;
//   3. writes dist/manifest.json ({ loader, css, builds: { dialect: { glue, wasm } } }) for
//      tools and benchmarks;
//   4. precompresses every file as <file>.br and <file>.gz (served by the reference server).
// Usage: node scripts/bundle.mjs <dist> <builds dir> <dialect>... (the default dialect first)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, statSync, renameSync, existsSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { minify } from 'terser';
import { minifyCss } from './bundle-css.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [dist, buildsDir, ...dialects] = process.argv.slice(2);
if (!dist || !buildsDir || dialects.length === 0) {
  console.error('usage: node scripts/bundle.mjs <dist> <builds dir> <dialect>... (the default dialect first)');
  process.exit(2);
}
const core = join(dist, 'core');

/** Names a build's glue and wasm after one hash of both (`core/chat-widget.<hash>.js` and
 * `.wasm`): either changing renames both, and the loader carries one hash per build, not two
 * (random hex is what brotli cannot shrink in it). Returns the hash. */
function hashed() {
  const files = [['chat-widget.js', 'js'], ['chat-widget_bg.wasm', 'wasm']];
  const digest = createHash('sha256');
  for (const [file] of files) digest.update(readFileSync(join(core, file)));
  const hash = digest.digest('hex').slice(0, 12);
  for (const [file, extension] of files) renameSync(join(core, file), join(core, `chat-widget.${hash}.${extension}`));
  return hash;
}

/**
 * Gives the wasm's imports, exports and import module one- or two-letter names (binaryen's
 * `--minify-imports-and-exports-and-modules`, as emscripten does), and renames them to match in
 * the wasm-bindgen glue. wasm-bindgen names each import after its JS function plus a 16-digit
 * hash, written once in the wasm and once in the glue: about 170 of them, 3 KB after brotli
 * that does nothing. Every name must be found where the glue is known to use it (an import
 * object key, `wasm.<export>`), or the build stops: a rename missed would fail only at load.
 */
function shortNames(wasmPath, glue) {
  const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue'];
  const printed = execFileSync(join(root, 'node_modules', '.bin', 'wasm-opt'), [
    ...features.map((f) => `--enable-${f}`), wasmPath, '--minify-imports-and-exports-and-modules', '-o', wasmPath,
  ]).toString();
  const map = JSON.parse(printed.slice(printed.indexOf('{')));
  const renamed = new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmPath))).map((entry) => entry.module));
  const fail = (what) => { throw new Error(`bundle: cannot shorten the wasm names: ${what}`); };
  const replaceFound = (pattern, replacement, what) => {
    let count = 0;
    glue = glue.replace(pattern, (...args) => { count++; return replacement(...args); });
    if (count === 0) fail(`${what} is not where expected in the glue`);
  };
  const escape = (name) => name.replace(/[$]/g, '\\$&');
  const oldModules = new Set(map.imports.map(([module]) => module));
  if (oldModules.size !== 1 || renamed.size !== 1) throw new Error('bundle: expected one import module');
  for (const [, name, short] of map.imports) {
    replaceFound(new RegExp(`^(\\s+)${escape(name)}:`, 'gm'), (_, indent) => `${indent}${JSON.stringify(short)}:`, `import ${name}`);
  }
  replaceFound(new RegExp(`^(\\s+)${JSON.stringify([...oldModules][0]).replace(/[.$]/g, '\\$&')}:`, 'gm'), (_, indent) => `${indent}${JSON.stringify([...renamed][0])}:`, 'the import module');
  for (const [name, short] of map.exports) {
    // Exports the glue never calls (wasm-bindgen's abort hooks) need no rename.
    glue = glue.replace(new RegExp(`\\bwasm\\.${escape(name)}\\b`, 'g'), () => `wasm.${short}`);
  }
  const leftover = map.exports.find(([name]) => new RegExp(`\\.${escape(name)}\\b`).test(glue));
  if (leftover) fail(`the glue uses export ${leftover[0]} other than as wasm.${leftover[0]}`);
  return glue;
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

// dist/ is written afresh: the loader, manifest.json and core/ with this build's modules.
rmSync(dist, { recursive: true, force: true });
mkdirSync(core, { recursive: true });
const builds = {};
for (const dialect of dialects) {
  const from = join(buildsDir, dialect, 'core');
  for (const file of ['chat-widget.js', 'chat-widget_bg.wasm']) {
    if (!existsSync(join(from, file))) {
      console.error(`bundle: ${join(from, file)} is missing; run Trunk first (scripts/build-widget.sh)`);
      process.exit(1);
    }
  }
  // The wasm-bindgen glue is an ES module of plain functions: minified, it is about a quarter
  // smaller after brotli. Minified before hashing, so the name follows what is served.
  copyFileSync(join(from, 'chat-widget_bg.wasm'), join(core, 'chat-widget_bg.wasm'));
  const glueSource = shortNames(join(core, 'chat-widget_bg.wasm'), readFileSync(join(from, 'chat-widget.js'), 'utf8'));
  const glueMinified = await minify(glueSource, { module: true, compress: { passes: 2 }, mangle: true, format: { comments: false } });
  writeFileSync(join(core, 'chat-widget.js'), glueMinified.code);
  builds[dialect] = hashed();
}
const css = minifyCss(readFileSync(join(root, 'assets', 'launcher.css'), 'utf8'));

let source = readFileSync(join(root, 'assets', 'chat-widget.js'), 'utf8');
for (const [placeholder, value] of [['__CW_CSS__', css], ['__CW_BUILDS__', builds]]) {
  const quoted = `'${placeholder}'`;
  if (!source.includes(quoted)) throw new Error(`bundle: ${quoted} is missing from assets/chat-widget.js`);
  source = source.replace(quoted, () => JSON.stringify(value));
}
const minified = await minify(source, {
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false, preamble: '/*! chat-widget loader (source: assets/chat-widget.js) */' },
});
writeFileSync(join(dist, 'chat-widget.js'), minified.code);
const manifest = {
  loader: 'chat-widget.js',
  css: css.length,
  builds: Object.fromEntries(Object.entries(builds).map(([dialect, hash]) => [dialect, { glue: `core/chat-widget.${hash}.js`, wasm: `core/chat-widget.${hash}.wasm` }])),
};
writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2));

for (const path of walk(dist)) {
  const bytes = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}
console.log(`bundle: dist/chat-widget.js (stylesheet ${css.length} bytes) -> ${dialects.map((d) => `${d}: core/chat-widget.${builds[d]}.wasm`).join(', ')}`);
