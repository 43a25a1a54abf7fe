import assert from "node:assert/strict";
import { fetchFailure } from "./http_client.ts";

/** Deno's fetch error: "fetch failed", the cause naming the URL and the low-level error. */
function failed(inner: string): Error {
  return new TypeError("fetch failed", {
    cause: new Error(`error sending request for url (https://h/x?token=s3cr3t): ${inner}`),
  });
}

Deno.test("fetchFailure: refused, DNS, TLS, reset in words, without the URL", () => {
  const cases: [string, string][] = [
    [
      "client error (Connect): tcp connect error: Connection refused (os error 111)",
      "connection refused (nothing listens there)",
    ],
    [
      "client error (Connect): dns error: failed to lookup address information: Name or service not known",
      "DNS lookup failed (unknown host)",
    ],
    [
      "client error (Connect): invalid peer certificate: UnknownIssuer",
      "TLS handshake failed (invalid peer certificate: UnknownIssuer)",
    ],
    ["connection error: Connection reset by peer (os error 104)", "connection reset by the server"],
  ];
  for (const [inner, cause] of cases) {
    const result = fetchFailure(failed(inner));
    assert.equal(result.cause, cause);
    assert.ok(!result.raw.includes("s3cr3t"), result.raw);
  }
  assert.equal(
    fetchFailure(new TypeError("Fetch failed: Requests to port 1 are blocked")).cause,
    "Requests to port 1 are blocked",
  );
});
