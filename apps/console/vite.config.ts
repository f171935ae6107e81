import { defineConfig } from 'vite';

// Served by the gateway at /console (see packages/service static-files.ts): every asset is bundled and
// hashed, nothing comes from a CDN and no web font is loaded, so the console works offline.
export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1_000,
    rollupOptions: {
      // React Flow marks its module "use client" (for server components); harmless in a client bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
