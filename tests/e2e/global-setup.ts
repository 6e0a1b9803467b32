import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findFreePort, REPOSITORY_ROOT } from '../../scripts/harness/backend';
import { buildExtension } from '../../scripts/harness/browser';

declare module 'vitest' {
  export interface ProvidedContext {
    backendPort: number;
    extensionDir: string;
  }
}

/**
 * Builds the extension once for the whole run, pointed at a port that each
 * test file's backend then listens on.
 */
export default async function setup(project: TestProject): Promise<void> {
  const backendPort = await findFreePort();
  const extensionDir = await buildExtension({
    backendUrl: `http://127.0.0.1:${backendPort}`,
    // TOKENWISE_E2E_BUILD_DIR keeps parallel runs from sharing one build.
    outDir:
      process.env.TOKENWISE_E2E_BUILD_DIR ??
      join(REPOSITORY_ROOT, 'test-results/e2e-build'),
  });
  project.provide('backendPort', backendPort);
  project.provide('extensionDir', extensionDir);
}
