import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals small JSON values into cookie text with AES-256-GCM: the browser can neither read nor change them, and a
 * value sealed for one purpose (the session) cannot be replayed as another (a sign-in in progress).
 */
export class CookieSealer {
  readonly #key: Buffer;

  /** `secret` null: a random key, so sealed values last only as long as this process. */
  constructor(secret: string | null) {
    const material = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
    this.#key = Buffer.from(
      hkdfSync('sha256', material, 'email-connector admin console', 'cookie sealing key', 32),
    );
  }

  seal(purpose: string, value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The value, or null when the text was not sealed by this key for this purpose (tampered, foreign, damaged). */
  open(purpose: string, text: string): unknown {
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length < 12 + 16 + 2) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(purpose, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as unknown;
    } catch {
      return null;
    }
  }

  /** A keyed digest, e.g. an OAuth `state` derived from a session without revealing what it was derived from. */
  derive(label: string, value: string): string {
    return Buffer.from(hkdfSync('sha256', this.#key, value, label, 24)).toString('base64url');
  }
}
