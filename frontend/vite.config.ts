/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// One build serves every stack: nothing environment-specific is baked in; the app reads
// /config.json at start. `npm run dev` proxies the API and WebSocket to a local `chorus up`.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 900 },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8765",
      "/config.json": "http://127.0.0.1:8765",
      "/ws": { target: "ws://127.0.0.1:8765", ws: true },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
