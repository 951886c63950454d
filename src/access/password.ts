import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Password hashes in RabbitMQ's format: base64 of a 4-byte salt followed by H(salt + password),
 * where H is named by the user's `hashing_algorithm` (rabbit_password_hashing_sha256 by default).
 * Definitions, hashes included, move between Warren and RabbitMQ unchanged.
 */
export const HASHING_ALGORITHMS = {
  rabbit_password_hashing_sha256: "sha256",
  rabbit_password_hashing_sha512: "sha512",
  rabbit_password_hashing_md5: "md5",
} as const;

export type HashingAlgorithm = keyof typeof HASHING_ALGORITHMS;

export const DEFAULT_HASHING_ALGORITHM: HashingAlgorithm = "rabbit_password_hashing_sha256";

export function isHashingAlgorithm(name: string): name is HashingAlgorithm {
  return Object.hasOwn(HASHING_ALGORITHMS, name);
}

/** Hash a password with a fresh salt (or the given one, to check a password). */
export function hashPassword(password: string, salt: Buffer = randomBytes(4), algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM): string {
  const digest = createHash(HASHING_ALGORITHMS[algorithm]).update(salt).update(password, "utf8").digest();
  return Buffer.concat([salt, digest]).toString("base64");
}

/**
 * Whether `password` matches a stored hash. An empty hash (clear_password) matches nothing, as in
 * RabbitMQ, where such a user can only authenticate by other means.
 */
export function checkPassword(password: string, passwordHash: string, algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM): boolean {
  if (passwordHash === "") return false;
  const stored = Buffer.from(passwordHash, "base64");
  if (stored.length <= 4) return false;
  const expected = Buffer.from(hashPassword(password, stored.subarray(0, 4), algorithm), "base64");
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}
