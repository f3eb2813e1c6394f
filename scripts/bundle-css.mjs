import { transform } from 'lightningcss';

/** The stylesheet as the loader carries it: minified by lightningcss (the npm build of the
 * library build.rs uses for the stylesheets compiled into the widget). A stylesheet it cannot
 * parse stops the bundle, naming the place. */
export function minifyCss(css, filename = 'launcher.css') {
  const { code } = transform({ filename, code: Buffer.from(css), minify: true });
  return code.toString();
}
