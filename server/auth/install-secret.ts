/**
 * The install secret: the HMAC key that signs install tokens. It comes from
 * TOKENWISE_INSTALL_SECRET, or from a file beside the database that the
 * first start generates, so tokens stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/** File name of the generated secret, inside the data directory. */
export const INSTALL_SECRET_FILE = 'install-secret';

const GENERATED_SECRET_BYTES = 32;
const MIN_SECRET_CHARS = 32;

export interface InstallSecret {
  secret: string;
  source: 'environment' | 'file' | 'generated';
  /** The file it was read from or written to, when not from the environment. */
  file?: string;
}

export interface LoadInstallSecretOptions {
  /** TOKENWISE_INSTALL_SECRET, when set. */
  configured: string | undefined;
  dataDirectory: string;
}

/**
 * Returns the configured secret, or reads the secret file, or generates a
 * new one and writes it with mode 0600. Throws when the file exists but
 * contains fewer than 32 characters.
 */
export function loadInstallSecret(
  options: LoadInstallSecretOptions,
): InstallSecret {
  if (options.configured !== undefined) {
    return { secret: options.configured, source: 'environment' };
  }
  const file = path.join(options.dataDirectory, INSTALL_SECRET_FILE);

  mkdirSync(options.dataDirectory, { recursive: true });
  const generated = randomBytes(GENERATED_SECRET_BYTES).toString('hex');
  try {
    // 'wx' fails when the file exists, so two processes starting at once
    // both end up with the one that was written first.
    writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    return { secret: generated, source: 'generated', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(
        `Could not write the install secret to ${file}: ${(error as Error).message}. Make the folder writable or set TOKENWISE_INSTALL_SECRET.`,
        { cause: error },
      );
    }
  }

  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < MIN_SECRET_CHARS) {
    throw new Error(
      `The install secret in ${file} has ${secret.length} characters, fewer than ${MIN_SECRET_CHARS}. Delete the file to generate a new one (this signs out every install) or set TOKENWISE_INSTALL_SECRET.`,
    );
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
  }
  return { secret, source: 'file', file };
}
