import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { afterAttempt, MAX_DELIVERY_ATTEMPTS, raisesAlert, retryDelayMs } from "../src/security/alerts";
import { bandOf } from "../src/security/bands";
import { webhookUrlProblem } from "../src/security/webhook-url";
import { newWebhookSecret, openWebhookSecret, sealWebhookSecret, signatureHeader } from "../src/security/webhooks";

describe("risk bands", () => {
  it.each([
    [0, "low"],
    [19, "low"],
    [20, "medium"],
    [49, "medium"],
    [50, "high"],
    [79, "high"],
    [80, "critical"],
    [100, "critical"],
  ])("risk %i is %s", (risk, band) => {
    expect(bandOf(risk)).toBe(band);
  });

  it("alerts from 70 up", () => {
    expect([0, 69, 70, 100].map(raisesAlert)).toEqual([false, false, true, true]);
  });
});

describe("delivery backoff", () => {
  it("waits 1, 2, 4 … minutes and gives up after the 8th failure", () => {
    expect(Array.from({ length: 7 }, (_, i) => retryDelayMs(i + 1) / 60_000)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    const now = Date.parse("2026-01-01T00:00:00.000Z");
    const failure = { ok: false as const, statusCode: 500, error: "HTTP 500" };
    expect(afterAttempt(1, failure, now)).toEqual({
      deliveryStatus: "pending",
      nextAttemptAt: "2026-01-01T00:01:00.000Z",
      lastError: "HTTP 500",
      deliveredAt: null,
    });
    expect(afterAttempt(MAX_DELIVERY_ATTEMPTS - 1, failure, now).deliveryStatus).toBe("pending");
    expect(afterAttempt(MAX_DELIVERY_ATTEMPTS, failure, now)).toEqual({ deliveryStatus: "failed", nextAttemptAt: null, lastError: "HTTP 500", deliveredAt: null });
    expect(afterAttempt(3, { ok: true, statusCode: 204 }, now)).toEqual({
      deliveryStatus: "delivered",
      nextAttemptAt: null,
      lastError: null,
      deliveredAt: "2026-01-01T00:00:00.000Z",
    });
  });
});

describe("webhook URL rules", () => {
  const refused = [
    "http://hooks.example.com/x",
    "ftp://hooks.example.com/x",
    "hooks.example.com/x",
    "https://localhost/x",
    "https://LOCALHOST./x",
    "https://api.localhost/x",
    "https://127.0.0.1/x",
    "https://127.10.0.1/x",
    "https://2130706433/x", // 127.0.0.1 in decimal; the URL parser normalizes it
    "https://0x7f.1/x",
    "https://[::1]/x",
    "https://0.0.0.0/x",
    "https://10.1.2.3/x",
    "https://172.16.0.1/x",
    "https://172.31.255.255/x",
    "https://192.168.0.10/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[fc00::1]/x",
    "https://[fd12:3456::1]/x",
    "https://[fe80::1]/x",
    "https://[::ffff:10.0.0.1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://[::]/x",
    "https://user:pass@hooks.example.com/x",
    `https://hooks.example.com/${"a".repeat(2048)}`,
  ];
  it.each(refused)("refuses %s", (url) => {
    expect(webhookUrlProblem(url, false)).not.toBeNull();
  });

  it.each(["https://hooks.example.com/chainproof?x=1", "https://172.32.0.1/x", "https://11.0.0.1/x", "https://[2001:db8::1]/x", "https://192.169.0.1/x"])(
    "accepts %s",
    (url) => {
      expect(webhookUrlProblem(url, false)).toBeNull();
    },
  );

  it("ALLOW_INSECURE_WEBHOOKS admits http and loopback, nothing else private", () => {
    for (const url of ["http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://hooks.example.com/x"]) {
      expect(webhookUrlProblem(url, true)).toBeNull();
    }
    for (const url of ["http://10.0.0.1/x", "http://192.168.1.1/x", "http://169.254.169.254/x", "http://[fe80::1]/x", "ftp://127.0.0.1/x"]) {
      expect(webhookUrlProblem(url, true)).not.toBeNull();
    }
  });
});

describe("webhook secrets and signatures", () => {
  it("a secret is whsec_ and 256 random bits", () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });

  it("is sealed with AES-GCM bound to its organization and SECRET_KEY", async () => {
    const org = crypto.randomUUID();
    const secret = newWebhookSecret();
    const sealed = await sealWebhookSecret(env.SECRET_KEY, org, secret);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(await sealWebhookSecret(env.SECRET_KEY, org, secret)).not.toBe(sealed);
    expect(await openWebhookSecret(env.SECRET_KEY, org, sealed)).toBe(secret);
    await expect(openWebhookSecret(env.SECRET_KEY, crypto.randomUUID(), sealed)).rejects.toThrow();
    await expect(openWebhookSecret("another SECRET_KEY", org, sealed)).rejects.toThrow();
  });

  it("signs t + '.' + body with HMAC-SHA256 under the secret's UTF-8 bytes (docs/protocol.md §9)", async () => {
    // Computed independently: hmac.new(b"whsec_test", b'1700000000.{"a":1}', sha256).hexdigest()
    expect(await signatureHeader("whsec_test", 1700000000, '{"a":1}')).toBe(
      "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789",
    );
  });
});
