/**
 * `npm start`: builds the extension, starts the backend on PORT (default
 * 8787) with the database under data/, and opens Chromium with the extension
 * loaded and the side panel open in a tab. Stops both on Ctrl-C.
 *
 * Where there is no display (no DISPLAY or WAYLAND_DISPLAY), it says so and
 * runs `npm run demo` instead.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPOSITORY_ROOT, startBackend } from './harness/backend';
import { buildExtension, launchExtension } from './harness/browser';

async function main(): Promise<number> {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    console.log(
      'No display found (DISPLAY and WAYLAND_DISPLAY are unset), so Chromium cannot open a window.\n' +
        'Running the headless demo instead: npm run demo\n',
    );
    return runDemo();
  }

  const port = Number(process.env.PORT ?? 8787);
  const backendUrl = `http://127.0.0.1:${port}`;
  console.log(`Building the extension for ${backendUrl} ...`);
  const extensionDir = await buildExtension({
    backendUrl,
    outDir: join(REPOSITORY_ROOT, '.output'),
  });

  console.log('Starting the backend; its log goes to data/backend.log ...');
  const backend = await startBackend({
    port,
    dataDir: join(REPOSITORY_ROOT, 'data'),
    logFile: join(REPOSITORY_ROOT, 'data/backend.log'),
    isolated: false,
  });

  const browser = await launchExtension({ extensionDir, headless: false });
  await browser.openSidePanel();
  console.log(
    `Tokenwise is running: backend ${backend.url}, extension ${browser.extensionId}.\n` +
      'Ask in the side panel tab, click the toolbar icon for the popup. Ctrl-C stops both.',
  );

  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
    browser.context.once('close', () => resolveStop());
  });
  await browser.close().catch(() => undefined);
  await backend.stop();
  return 0;
}

function runDemo(): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn('npm', ['run', 'demo'], {
      cwd: REPOSITORY_ROOT,
      stdio: 'inherit',
    });
    child.once('exit', (code) => resolveRun(code ?? 1));
  });
}

process.exitCode = await main();
