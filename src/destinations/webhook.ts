import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, NetworkRefusedError, refusedBecause } from './network-guard.js';

export interface WebhookTarget {
  url: string;
  /** HMAC-SHA256 key for the signature header. */
  secret?: string;
  timeoutMs: number;
  /** Allow loopback, private and link-local addresses (a destination on the same network). */
  allowPrivateNetworks: boolean;
}

export type SendResult = { ok: true; status: number } | { ok: false; status?: number; reason: string; retry: boolean };

/**
 * The signature a receiver checks: HMAC-SHA256 over "<timestamp>.<body>" (Stripe's scheme, so the
 * timestamp cannot be replayed with another body), hex, in `X-Mosaic-Signature: t=<ts>,v1=<hex>`.
 */
export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** One POST, no redirects followed, every address checked at connect time. Never throws. */
export function postWebhook(target: WebhookTarget, body: string, headers: Record<string, string> = {}, now = Date.now()): Promise<SendResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return resolve({ ok: false, reason: `"${target.url}" is not a URL`, retry: false });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return resolve({ ok: false, reason: `${url.protocol} is not http or https`, retry: false });
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: check it here.
    if (!target.allowPrivateNetworks && isIP(host)) {
      const why = refusedBecause(host);
      if (why) return resolve({ ok: false, reason: `${host} is ${why}; refused unless the destination sets allowPrivateNetworks`, retry: false });
    }
    const ts = Math.floor(now / 1000);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'mosaic-webhooks/1',
          ...(target.secret ? { 'x-mosaic-signature': signature(target.secret, ts, body) } : {}),
          ...headers,
        },
        ...(target.allowPrivateNetworks ? {} : { lookup: guardedLookup as never }),
        signal: AbortSignal.timeout(target.timeoutMs),
      },
      (res) => {
        res.resume(); // the body is not needed; drain it so the socket is freed
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve({ ok: true, status });
        if (status >= 300 && status < 400) return resolve({ ok: false, status, reason: `HTTP ${status}: redirects are not followed (point the destination at the final URL)`, retry: false });
        // 408 and 429 and 5xx are worth retrying; other 4xx mean the receiver refuses this payload.
        const retry = status >= 500 || status === 408 || status === 429;
        resolve({ ok: false, status, reason: `HTTP ${status}`, retry });
      },
    );
    req.on('error', (err: Error & { code?: string }) => {
      if (err instanceof NetworkRefusedError || err.code === 'MOSAIC_DESTINATION_ADDRESS_REFUSED') return resolve({ ok: false, reason: err.message, retry: false });
      if (err.name === 'TimeoutError' || err.name === 'AbortError') return resolve({ ok: false, reason: `no answer within ${target.timeoutMs} ms`, retry: true });
      resolve({ ok: false, reason: `${err.code ?? err.name}: ${err.message}`, retry: true });
    });
    req.end(body);
  });
}
