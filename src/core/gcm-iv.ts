import { randomBytes } from 'node:crypto';

const IV_BYTES = 12;
let prefix = randomBytes(8);
let counter = 0;

/**
 * A 12-byte AES-GCM IV. GCM needs an IV never used twice under one key, not an unpredictable
 * one (NIST SP 800-38D, 8.2.1): 8 random bytes drawn per process (and again every 2^32 IVs),
 * then a counter. Two processes collide only if they draw the same 64-bit prefix. Drawing 12
 * random bytes per value cost more than the encryption itself.
 */
export function nextGcmIv(): Buffer {
  if (counter === 0xffffffff) {
    prefix = randomBytes(8);
    counter = 0;
  }
  const iv = Buffer.allocUnsafe(IV_BYTES);
  prefix.copy(iv, 0);
  iv.writeUInt32BE(counter++, 8);
  return iv;
}
