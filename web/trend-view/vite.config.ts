/**
 * The CRS trend view (issue 13): a SMART App Launch app built into dist/web/trend-view, which the
 * service serves under /app/ (src/http/app.ts). Two pages: launch.html (EHR or standalone launch)
 * and index.html (the view, the redirect target).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export default defineConfig({
  root: here('.'),
  // Relative asset URLs: the app works under /app/ or any other mount point.
  base: './',
  define: {
    // fhirclient's "pure" mode: modern browsers have fetch and AbortController, so its polyfills
    // (cross-fetch, abortcontroller-polyfill) stay out of the bundle.
    FHIRCLIENT_PURE: 'true',
  },
  resolve: {
    alias: {
      // fhirclient falls back to this package only where globalThis.crypto is missing (never in a
      // browser that runs this app); it would pull in megabytes of React Native shims.
      'isomorphic-webcrypto': here('src/web-crypto.ts'),
    },
  },
  build: {
    outDir: here('../../dist/web/trend-view'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rolldownOptions: {
      input: { index: here('index.html'), launch: here('launch.html') },
    },
  },
});
