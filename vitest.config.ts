import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Test-only secrets, fresh each run. The audit key is the post-rotation state: rows sealed with
// the retired key (as an older deployment would have) must keep verifying.
const checkpointKey = JSON.stringify(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }));

export default defineConfig(async () => ({
  test: {
    projects: [
      {
        // The Worker's tests run inside workerd with real D1, Durable Objects and R2.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
                SECRET_KEY: "test-secret-key-0123456789abcdef0123456789abcdef",
                AUDIT_HMAC_KEY: "test-audit-key-current",
                AUDIT_HMAC_RETIRED_KEYS: JSON.stringify(["test-audit-key-retired"]),
                REPORT_SIGNING_KEY: "test-report-signing-key",
                CHECKPOINT_SIGNING_KEY: checkpointKey,
                // Lets webhooks reach the receiver on 127.0.0.1 over http (test/setup/webhook-receiver.ts).
                ALLOW_INSECURE_WEBHOOKS: "true",
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**"],
          setupFiles: ["./test/setup/apply-migrations.ts"],
          globalSetup: ["./test/setup/webhook-receiver.ts"],
        },
      },
      {
        // What runs on Node: the offline CLI and the scripts.
        // Only for loading the app's modules (test/node/openapi-lint.test.ts builds the OpenAPI document).
        resolve: { alias: { "cloudflare:workers": fileURLToPath(new URL("./test/node/stubs/cloudflare-workers.ts", import.meta.url)) } },
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node" },
      },
    ],
  },
}));
