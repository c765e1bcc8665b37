import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// Django serves the build: frontend/dist is one of STATICFILES_DIRS, so the hashed
// assets live under /static/ (whitenoise) and index.html is returned by Django's
// catch-all view for every storefront route. In development Vite serves the app and
// proxies the Django paths to `make run`'s server.
const django = process.env.DJANGO_ORIGIN ?? 'http://127.0.0.1:8000'
const djangoPaths = ['/api', '/admin', '/images', '/static/admin', '/static/rest_framework']

export default defineConfig(({ command }) => ({
  base: command === 'build' ? '/static/' : '/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(djangoPaths.map((path) => [path, { target: django, changeOrigin: false }])),
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.spec.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
}))
