// Finishes the script-tag distribution after Trunk has built dist/core/chat-widget.js (the
// wasm-bindgen glue) and dist/core/chat-widget_bg.wasm:
//   1. minifies the glue, then gives both content-hashed names (core/chat-widget.<hash>.js / .wasm), so the server
//      can let browsers cache them for a year;
//   2. writes the loader dist/chat-widget.js (stable name, short cache) from
//      assets/chat-widget.js, with the minified stylesheet and those names put in, minified;
//   3. writes dist/manifest.json ({ loader, glue, wasm, css }) for tools and benchmarks;
//   4. precompresses every file as <file>.br and <file>.gz (served by the reference server).
// Usage: node scripts/bundle.mjs [dist]
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, statSync, unlinkSync, renameSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { minify } from 'terser';
import { minifyCss } from './bundle-css.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.argv[2] || join(root, 'dist');
const core = join(dist, 'core');

function hashed(file, extension) {
  const bytes = readFileSync(join(core, file));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const name = `chat-widget.${hash}.${extension}`;
  renameSync(join(core, file), join(core, name));
  return `core/${name}`;
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

// Leftovers of an earlier bundle (Trunk normally starts from an empty dist/).
for (const path of walk(dist)) {
  if (/\.(br|gz)$/.test(path) || /chat-widget\.[0-9a-f]{12}\./.test(path)) unlinkSync(path);
}
for (const file of ['chat-widget.js', 'chat-widget_bg.wasm']) {
  if (!existsSync(join(core, file))) {
    console.error(`bundle: ${join(core, file)} is missing; run Trunk first (scripts/build-widget.sh)`);
    process.exit(1);
  }
}
// The wasm-bindgen glue is an ES module of plain functions: minified, it is about a quarter
// smaller after brotli. Minified before hashing, so the name follows what is served.
const glueSource = readFileSync(join(core, 'chat-widget.js'), 'utf8');
const glueMinified = await minify(glueSource, { module: true, compress: { passes: 2 }, mangle: true, format: { comments: false } });
writeFileSync(join(core, 'chat-widget.js'), glueMinified.code);
const glue = hashed('chat-widget.js', 'js');
const wasm = hashed('chat-widget_bg.wasm', 'wasm');
const css = minifyCss(readFileSync(join(root, 'assets', 'launcher.css'), 'utf8'));

let source = readFileSync(join(root, 'assets', 'chat-widget.js'), 'utf8');
for (const [placeholder, value] of [['__CW_CSS__', css], ['__CW_GLUE__', glue], ['__CW_WASM__', wasm]]) {
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
writeFileSync(join(dist, 'manifest.json'), JSON.stringify({ loader: 'chat-widget.js', glue, wasm, css: css.length }, null, 2));

for (const path of walk(dist)) {
  const bytes = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}
console.log(`bundle: dist/chat-widget.js -> ${glue}, ${wasm} (stylesheet ${css.length} bytes)`);
