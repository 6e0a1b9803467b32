/**
 * The keyboard command that opens the side panel, from its manifest entry
 * to the background's handler, and the sentence "Ask about this page"
 * gets when the tab has not been granted to the extension. The browser is
 * WXT's fake browser, with the side panel and scripting calls recorded.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import config from '../../../wxt.config';
import { startBackground } from '../../../lib/extension/background-main';
import { OPEN_SIDE_PANEL_COMMAND } from '../../../lib/extension/background-main';
import { pageReadSchema } from '../../../lib/extension/runtime-messages';
import { createSelectionMenu } from '../../../lib/extension/selection-menu';

type Listener = (...args: unknown[]) => unknown;

/** Replaces an event of the fake browser with one the test can fire. */
function replaceEvent(namespace: object, name: string): Set<Listener> {
  const listeners = new Set<Listener>();
  (namespace as Record<string, unknown>)[name] = {
    addListener: (listener: Listener) => void listeners.add(listener),
    removeListener: (listener: Listener) => void listeners.delete(listener),
    hasListener: (listener: Listener) => listeners.has(listener),
  };
  return listeners;
}

interface SidePanelCalls {
  opened: Array<{ windowId: number }>;
}

let sidePanel: SidePanelCalls;
let commandListeners: Set<Listener>;
let menuListeners: Set<Listener>;
const scope = globalThis as { chrome?: unknown };
const originalChrome = scope.chrome;

beforeEach(() => {
  fakeBrowser.reset();
  fakeBrowser.runtime.getManifest = () => ({
    manifest_version: 3,
    name: 'Tokenwise',
    version: '0.1.0',
  });
  sidePanel = { opened: [] };
  scope.chrome = {
    sidePanel: {
      open: (options: { windowId: number }) => {
        sidePanel.opened.push(options);
        return Promise.resolve();
      },
      setPanelBehavior: () => Promise.resolve(),
    },
  };
  replaceEvent(fakeBrowser.runtime, 'onConnect');
  menuListeners = replaceEvent(fakeBrowser.contextMenus, 'onClicked');
  commandListeners = replaceEvent(fakeBrowser.commands, 'onCommand');
});

afterEach(() => {
  scope.chrome = originalChrome;
});

function fireCommand(command: string, tab: unknown): void {
  for (const listener of commandListeners) {
    listener(command, tab);
  }
}

describe('open-side-panel command', () => {
  it('is declared with a suggested key', async () => {
    const manifest = config.manifest as (env: {
      browser: string;
    }) => Promise<Record<string, unknown>> | Record<string, unknown>;

    for (const browser of ['chrome', 'firefox']) {
      const built = await manifest({ browser });
      const commands = built.commands as Record<
        string,
        { suggested_key?: { default?: string }; description?: string }
      >;
      expect(commands[OPEN_SIDE_PANEL_COMMAND]?.suggested_key?.default).toBe(
        'Alt+Shift+T',
      );
      expect(commands[OPEN_SIDE_PANEL_COMMAND]?.description).toBe(
        '__MSG_openSidePanelCommand__',
      );
    }
  });

  it('opens the panel in the tab window at once', () => {
    startBackground();

    fireCommand(OPEN_SIDE_PANEL_COMMAND, { id: 7, windowId: 3 });

    // Synchronously, because sidePanel.open needs the command's gesture.
    expect(sidePanel.opened).toEqual([{ windowId: 3 }]);
  });

  it('ignores other commands and windowless tabs', () => {
    startBackground();

    fireCommand('another-command', { id: 7, windowId: 3 });
    fireCommand(OPEN_SIDE_PANEL_COMMAND, { id: 7 });
    fireCommand(OPEN_SIDE_PANEL_COMMAND, undefined);

    expect(sidePanel.opened).toEqual([]);
  });

  it('opens the Firefox sidebar instead', () => {
    scope.chrome = undefined;
    let sidebarOpened = 0;
    (fakeBrowser as unknown as Record<string, unknown>).sidebarAction = {
      open: () => {
        sidebarOpened++;
        return Promise.resolve();
      },
    };
    startBackground();

    fireCommand(OPEN_SIDE_PANEL_COMMAND, { id: 7, windowId: 3 });

    expect(sidebarOpened).toBe(1);
    delete (fakeBrowser as unknown as Record<string, unknown>).sidebarAction;
  });
});

describe('page context-menu entry', () => {
  function clickMenu(info: object, tab: unknown): void {
    for (const listener of menuListeners) {
      listener(info, tab);
    }
  }

  it('opens the panel in the tab window at once', async () => {
    startBackground();

    clickMenu(
      { menuItemId: 'open-on-page', pageUrl: 'https://example.test/' },
      { id: 7, windowId: 3 },
    );

    expect(sidePanel.opened).toEqual([{ windowId: 3 }]);
    const stored = await fakeBrowser.storage.local.get('pending-selection');
    expect(stored['pending-selection']).toBeUndefined();
  });

  it('ignores a windowless tab', () => {
    startBackground();

    clickMenu({ menuItemId: 'open-on-page' }, { id: 7 });

    expect(sidePanel.opened).toEqual([]);
  });

  it('is created beside the selection entry', () => {
    const created: Array<{ id?: string; contexts?: string[] }> = [];
    (fakeBrowser.contextMenus as unknown as Record<string, unknown>).create =
      (properties: { id?: string; contexts?: string[] }) => {
        created.push(properties);
        return properties.id;
      };

    createSelectionMenu();

    expect(created.map((entry) => [entry.id, entry.contexts])).toEqual([
      ['ask-about-selection', ['selection']],
      ['open-on-page', ['page']],
    ]);
  });
});

describe('read-page without tab access', () => {
  async function readPage(
    executeError: string,
    shortcut: string | undefined,
  ): Promise<string> {
    (fakeBrowser as unknown as Record<string, unknown>).scripting = {
      executeScript: () => Promise.reject(new Error(executeError)),
    };
    (fakeBrowser.commands as unknown as Record<string, unknown>).getAll = () =>
      Promise.resolve([{ name: OPEN_SIDE_PANEL_COMMAND, shortcut }]);
    startBackground();

    const [response] = await fakeBrowser.runtime.onMessage.trigger(
      { type: 'read-page', tabId: 7 },
      { id: fakeBrowser.runtime.id },
    );
    const read = pageReadSchema.parse(await response);
    if (read.type !== 'page-read-failed') {
      throw new Error('The page was read without access.');
    }
    return read.message;
  }

  it('names the bound shortcut', async () => {
    const message = await readPage(
      'Cannot access contents of the page. Extension manifest must request permission to access the respective host.',
      'Alt+Shift+T',
    );
    expect(message).toContain('press Alt+Shift+T');
    expect(message).toContain('Tokenwise button in the toolbar');
    expect(message).toContain('"Open Tokenwise on this page"');
  });

  it('names the toolbar button when unbound', async () => {
    const message = await readPage('Missing host permission for the tab', '');
    expect(message).not.toContain('press');
    expect(message).toContain('Tokenwise button in the toolbar');
    expect(message).toContain('"Open Tokenwise on this page"');
  });

  it('keeps other failures as they are', async () => {
    const message = await readPage('Cannot access a chrome:// URL', 'Alt+T');
    expect(message).toContain('This page cannot be read');
    expect(message).toContain('Cannot access a chrome:// URL');
  });
});
