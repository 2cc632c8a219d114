import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Two static pages, each its own entry; built to web/dist, which src/pages.ts serves.
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  root: here('.'),
  // Preact's JSX through esbuild alone: no Babel in the build.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // The preload helper would inject no inline code either way; the polyfill is not needed in current browsers.
    modulePreload: { polyfill: false },
    rollupOptions: { input: { index: here('index.html'), platform: here('platform.html') } },
  },
});
