import { describe, expect, it } from "vitest";
import { afterAttempt, byOrganization, fetchErrorClass, MAX_DELIVERY_ATTEMPTS, raisesAlert, receiverUnreachable, retryDelayMs } from "../src/security/alerts";
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
    const failure = { ok: false as const, statusCode: 500, error: "status 500" as const };
    expect(afterAttempt(1, failure, now)).toEqual({
      deliveryStatus: "pending",
      nextAttemptAt: "2026-01-01T00:01:00.000Z",
      lastError: "status 500",
      deliveredAt: null,
    });
    expect(afterAttempt(MAX_DELIVERY_ATTEMPTS - 1, failure, now).deliveryStatus).toBe("pending");
    expect(afterAttempt(MAX_DELIVERY_ATTEMPTS, failure, now)).toEqual({ deliveryStatus: "failed", nextAttemptAt: null, lastError: "status 500", deliveredAt: null });
    expect(afterAttempt(3, { ok: true, statusCode: 204 }, now)).toEqual({
      deliveryStatus: "delivered",
      nextAttemptAt: null,
      lastError: null,
      deliveredAt: "2026-01-01T00:00:00.000Z",
    });
  });
});

describe("delivery error classes", () => {
  it("names the class of a thrown fetch error, never its text", () => {
    expect(fetchErrorClass(new DOMException("The operation timed out", "TimeoutError"))).toBe("timeout");
    expect(fetchErrorClass(new DOMException("aborted", "AbortError"))).toBe("timeout");
    expect(fetchErrorClass(new Error("TLS peer's certificate is not trusted; reason = unable to get local issuer certificate"))).toBe("tls");
    expect(fetchErrorClass(new Error("DNS lookup failed"))).toBe("dns");
    expect(fetchErrorClass(new Error("Network connection lost."))).toBe("connection");
    expect(fetchErrorClass(new Error("internal error; reference = abc123"))).toBe("connection");
    expect(fetchErrorClass("weird")).toBe("connection");
  });

  it("a timeout or an unreachable receiver stops its organization's run; an HTTP status or a bad secret does not", () => {
    expect(receiverUnreachable({ ok: false, statusCode: null, error: "timeout" })).toBe(true);
    expect(receiverUnreachable({ ok: false, statusCode: null, error: "connection" })).toBe(true);
    expect(receiverUnreachable({ ok: false, statusCode: 500, error: "status 500" })).toBe(false);
    expect(receiverUnreachable({ ok: false, statusCode: null, error: "secret unreadable" })).toBe(false);
    expect(receiverUnreachable({ ok: true, statusCode: 200 })).toBe(false);
  });

  it("splits round-robin work into one lane per organization, in order", () => {
    const items = [["a", 1], ["b", 1], [null, 1], ["a", 2], ["b", 2], ["a", 3]] as const;
    expect(byOrganization([...items], ([org]) => org)).toEqual([
      [["a", 1], ["a", 2], ["a", 3]],
      [["b", 1], ["b", 2]],
      [[null, 1]],
    ]);
  });
});

describe("webhook URL rules", () => {
  // [URL, what the 422 message names]. Every IANA special-purpose range, in the encodings a URL allows.
  const refused: [string, string][] = [
    ["http://hooks.example.com/x", "must use https"],
    ["ftp://hooks.example.com/x", "must use https"],
    ["hooks.example.com/x", "absolute URL"],
    ["https://user:pass@hooks.example.com/x", "credentials"],
    [`https://hooks.example.com/${"a".repeat(2048)}`, "at most 2048"],
    ["https://localhost/x", "special-use name .localhost"],
    ["https://LOCALHOST./x", "special-use name .localhost"],
    ["https://api.localhost/x", "special-use name .localhost"],
    ["https://printer.local/x", "special-use name .local"],
    ["https://metadata.google.internal/x", "special-use name .internal"],
    ["https://router.home.arpa/x", "special-use name .arpa"],
    ["https://ipv4only.arpa/x", "special-use name .arpa"],
    ["https://hooks.test/x", "special-use name .test"],
    ["https://x.invalid/x", "special-use name .invalid"],
    ["https://hidden.onion/x", "special-use name .onion"],
    ["https://intranet/x", "single-label name"],
    ["https://127.0.0.1/x", "loopback, 127.0.0.0/8"],
    ["https://127.10.0.1/x", "loopback, 127.0.0.0/8"],
    ["https://2130706433/x", "loopback, 127.0.0.0/8"], // decimal
    ["https://0x7f.1/x", "loopback, 127.0.0.0/8"], // hex, short form
    ["https://017700000001/x", "loopback, 127.0.0.0/8"], // octal
    ["https://0177.0.0.1/x", "loopback, 127.0.0.0/8"],
    ["https://127.1/x", "loopback, 127.0.0.0/8"],
    ["https://0.0.0.0/x", "0.0.0.0/8"],
    ["https://0/x", "0.0.0.0/8"],
    ["https://10.1.2.3/x", "private-use, 10.0.0.0/8"],
    ["https://100.64.0.1/x", "100.64.0.0/10"],
    ["https://100.127.255.254/x", "100.64.0.0/10"],
    ["https://169.254.169.254/latest/meta-data", "link-local"],
    ["https://172.16.0.1/x", "172.16.0.0/12"],
    ["https://172.31.255.255/x", "172.16.0.0/12"],
    ["https://192.0.0.170/x", "192.0.0.0/24"],
    ["https://192.0.2.1/x", "192.0.2.0/24"],
    ["https://192.88.99.1/x", "192.88.99.0/24"],
    ["https://192.168.0.10/x", "192.168.0.0/16"],
    ["https://198.18.0.1/x", "198.18.0.0/15"],
    ["https://198.19.255.255/x", "198.18.0.0/15"],
    ["https://198.51.100.7/x", "198.51.100.0/24"],
    ["https://203.0.113.9/x", "203.0.113.0/24"],
    ["https://224.0.0.1/x", "multicast, 224.0.0.0/4"],
    ["https://239.255.255.250/x", "multicast, 224.0.0.0/4"],
    ["https://240.0.0.1/x", "240.0.0.0/4"],
    ["https://255.255.255.255/x", "240.0.0.0/4"],
    ["https://[::1]/x", "loopback, ::1/128"],
    ["https://[::]/x", "unspecified, ::/128"],
    ["https://[::ffff:127.0.0.1]/x", "IPv4-mapped, ::ffff:0:0/96"],
    ["https://[::ffff:7f00:1]/x", "IPv4-mapped, ::ffff:0:0/96"],
    ["https://[0:0:0:0:0:ffff:808:808]/x", "IPv4-mapped, ::ffff:0:0/96"], // even a public IPv4 inside
    ["https://[::ffff:10.0.0.1]/x", "IPv4-mapped"],
    ["https://[::127.0.0.1]/x", "IPv4-compatible (deprecated), ::/96"],
    ["https://[::7f00:1]/x", "IPv4-compatible (deprecated), ::/96"],
    ["https://[64:ff9b::7f00:1]/x", "NAT64"],
    ["https://[64:ff9b::808:808]/x", "64:ff9b::/96"],
    ["https://[64:ff9b:1::1]/x", "64:ff9b:1::/48"],
    ["https://[100::1]/x", "discard-only, 100::/64"],
    ["https://[2001::1]/x", "Teredo, 2001::/32"],
    ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", "Teredo"],
    ["https://[2001:2::1]/x", "IETF protocol assignments, 2001::/23"],
    ["https://[2001:db8::1]/x", "documentation, 2001:db8::/32"],
    ["https://[2002:7f00:1::1]/x", "6to4, 2002::/16"],
    ["https://[3fff::1]/x", "documentation, 3fff::/20"],
    ["https://[5f00::1]/x", "5f00::/16"],
    ["https://[fc00::1]/x", "unique-local, fc00::/7"],
    ["https://[fd12:3456::1]/x", "unique-local, fc00::/7"],
    ["https://[fe80::1]/x", "link-local, fe80::/10"],
    ["https://[ff02::1]/x", "multicast, ff00::/8"],
    ["https://[4000::1]/x", "outside 2000::/3"],
  ];
  it.each(refused)("refuses %s (%s)", (url, reason) => {
    expect(webhookUrlProblem(url, false)).toContain(reason);
  });

  it.each([
    "https://hooks.example.com/chainproof?x=1",
    "https://172.32.0.1/x",
    "https://11.0.0.1/x",
    "https://100.128.0.1/x",
    "https://198.20.0.1/x",
    "https://192.169.0.1/x",
    "https://8.8.8.8/x",
    "https://[2606:4700:4700::1111]/x",
    "https://[2001:200::1]/x",
    "https://hooks.example.com./x",
  ])("accepts %s", (url) => {
    expect(webhookUrlProblem(url, false)).toBeNull();
  });

  it("ALLOW_INSECURE_WEBHOOKS admits http and plain loopback, nothing else special", () => {
    for (const url of ["http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://hooks.example.com/x"]) {
      expect(webhookUrlProblem(url, true)).toBeNull();
    }
    for (const url of [
      "http://10.0.0.1/x",
      "http://192.168.1.1/x",
      "http://169.254.169.254/x",
      "http://[fe80::1]/x",
      "http://[::ffff:127.0.0.1]/x",
      "http://[::127.0.0.1]/x",
      "http://[64:ff9b::7f00:1]/x",
      "http://printer.local/x",
      "ftp://127.0.0.1/x",
    ]) {
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
    const SECRET_KEY = "a deployment's SECRET_KEY, for this test only";
    const org = crypto.randomUUID();
    const secret = newWebhookSecret();
    const sealed = await sealWebhookSecret(SECRET_KEY, org, secret);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(await sealWebhookSecret(SECRET_KEY, org, secret)).not.toBe(sealed);
    expect(await openWebhookSecret(SECRET_KEY, org, sealed)).toBe(secret);
    await expect(openWebhookSecret(SECRET_KEY, crypto.randomUUID(), sealed)).rejects.toThrow();
    await expect(openWebhookSecret("another SECRET_KEY", org, sealed)).rejects.toThrow();
  });

  it("signs t + '.' + body with HMAC-SHA256 under the secret's UTF-8 bytes (docs/protocol.md §9)", async () => {
    // Computed independently: hmac.new(b"whsec_test", b'1700000000.{"a":1}', sha256).hexdigest()
    expect(await signatureHeader("whsec_test", 1700000000, '{"a":1}')).toBe(
      "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789",
    );
  });
});
