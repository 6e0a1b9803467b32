/**
 * The background service worker: the only part of the extension that talks
 * to the backend. It wires the chat port, the one-off page requests, the
 * keyboard command, the selection menu, the toolbar badge and the
 * first-run registration.
 */
import { browser } from 'wxt/browser';
import { AnswerCache } from './answer-cache';
import {
  refreshUsage,
  type AnswerServices,
  type QuestionSimilarity,
} from './answer-question';
import { BackendClient } from './backend-client';
import { resolveBackendUrl } from './backend-url';
import { serveChatPort } from './chat-port-handler';
import { BACKEND_URL } from './config';
import { getDatabase } from './database';
import { debugLog, setDebugLogging } from './debug-log';
import { isTabAccessError } from './active-tab';
import { t } from './i18n';
import { PageReadError, readTabPage } from './page-context';
import { CHAT_PORT_NAME } from './port-messages';
import { previewQuestion } from './question-preview';
import {
  parseRuntimeRequest,
  type PageRead,
  type UsageRefreshed,
} from './runtime-messages';
import {
  PAGE_MENU_ID,
  SELECTION_MENU_ID,
  createSelectionMenu,
  storePendingSelection,
} from './selection-menu';
import { parseSettings, readSettings } from './settings';
import { configureSidePanelBehavior, openSidePanel } from './side-panel';
import {
  DEBUG_STORAGE_KEY,
  SETTINGS_STORAGE_KEY,
  USAGE_STORAGE_KEY,
} from './storage-keys';
import { updateToolbarBadge } from './toolbar-badge';
import { UsageMirror } from './usage-mirror';
import { parseUsageSnapshot, readUsageSnapshot } from './usage-snapshot';

/** Name of the keyboard command that opens the side panel (see wxt.config.ts). */
export const OPEN_SIDE_PANEL_COMMAND = 'open-side-panel';

export interface BackgroundOptions {
  /** Scores questions for near-duplicate offers; none are made without it. */
  similarity?: QuestionSimilarity;
}

/** Creates the services for one backend URL. */
export function createServices(
  backendUrl: string,
  similarity?: QuestionSimilarity,
): AnswerServices {
  return {
    client: new BackendClient({
      baseUrl: backendUrl,
      extensionVersion: browser.runtime.getManifest().version,
      browserName: import.meta.env.BROWSER,
    }),
    cache: new AnswerCache(getDatabase()),
    usage: new UsageMirror({ backendUrl }),
    similarity,
  };
}

/**
 * Starts the background: registers every listener synchronously, as a
 * service worker must, so events that woke it are not lost. The services
 * are replaced when the options page changes the backend URL.
 */
export function startBackground(options: BackgroundOptions = {}): void {
  let services = createServices(BACKEND_URL, options.similarity);
  const useBackend = (backendUrl: string) => {
    if (backendUrl !== services.client.baseUrl) {
      services = createServices(backendUrl, options.similarity);
    }
  };
  const settingsRead = readSettings()
    .then((settings) => useBackend(resolveBackendUrl(settings)))
    .catch(logFailure);
  const withServices = async () => {
    await settingsRead;
    return services;
  };
  // The chat port reads the services on each question, so a port opened
  // before a backend change uses the new backend for its next question.
  const currentServices: AnswerServices = {
    get client() {
      return services.client;
    },
    get cache() {
      return services.cache;
    },
    get usage() {
      return services.usage;
    },
    similarity: options.similarity,
  };

  followDebugSwitch();
  followUsageForBadge();

  browser.storage.onChanged.addListener((changes, areaName) => {
    const change = changes[SETTINGS_STORAGE_KEY];
    if (areaName === 'local' && change) {
      useBackend(resolveBackendUrl(parseSettings(change.newValue)));
    }
  });

  browser.runtime.onInstalled.addListener(() => {
    configureSidePanelBehavior().catch(logFailure);
    createSelectionMenu();
    // Registers the install on the way, so the popup has figures at once.
    withServices()
      .then((current) => refreshUsage(current))
      .catch(logFailure);
  });

  browser.runtime.onConnect.addListener((port) => {
    if (port.name !== CHAT_PORT_NAME) {
      return;
    }
    if (port.sender?.id !== browser.runtime.id) {
      port.disconnect();
      return;
    }
    serveChatPort(port, currentServices);
  });

  browser.runtime.onMessage.addListener((message, sender) => {
    if (sender.id !== browser.runtime.id) {
      return undefined;
    }
    return withServices().then((current) =>
      handleRuntimeRequest(message, current),
    );
  });

  browser.commands.onCommand.addListener((command, tab) => {
    if (command !== OPEN_SIDE_PANEL_COMMAND || tab?.windowId === undefined) {
      return;
    }
    openSidePanel(tab.windowId).catch(logFailure);
  });

  browser.contextMenus.onClicked.addListener((info, tab) => {
    if (info.menuItemId === PAGE_MENU_ID) {
      // The click granted activeTab on the tab, so the panel can read it.
      if (tab?.windowId !== undefined) {
        openSidePanel(tab.windowId).catch(logFailure);
      }
      return;
    }
    if (info.menuItemId !== SELECTION_MENU_ID || !info.selectionText) {
      return;
    }
    // The panel opens first, synchronously, while the click still counts
    // as a user gesture; it picks the selection up from storage.
    if (tab?.windowId !== undefined) {
      openSidePanel(tab.windowId).catch(logFailure);
    }
    storePendingSelection(info.selectionText, info.pageUrl).catch(logFailure);
  });
}

/**
 * Handles a one-off request from an extension page. Rejects with an
 * InvalidMessageError naming the fields at fault for a malformed request.
 */
export async function handleRuntimeRequest(
  message: unknown,
  services: AnswerServices,
): Promise<unknown> {
  const request = parseRuntimeRequest(message);
  switch (request.type) {
    case 'preview-question':
      return previewQuestion(request.question, request.history, {
        pageContext: request.pageContext,
        tier: request.tier,
      });
    case 'refresh-usage': {
      const snapshot = await refreshUsage(services);
      const response: UsageRefreshed = { type: 'usage-refreshed', snapshot };
      return response;
    }
    case 'read-page':
      return readPageForPanel(request.tabId);
  }
}

async function readPageForPanel(tabId: number): Promise<PageRead> {
  try {
    const page = await readTabPage(tabId);
    return { type: 'page-read', ...page };
  } catch (error) {
    if (!(error instanceof PageReadError)) {
      throw error;
    }
    if (isTabAccessError(error.cause)) {
      return { type: 'page-read-failed', message: await describeTabAccess() };
    }
    return { type: 'page-read-failed', message: error.message };
  }
}

/**
 * Tells the user how to grant activeTab on the tab: the keyboard command
 * as the user bound it (left out when unbound, as in headless Chromium),
 * the toolbar button and the page's context-menu entry.
 */
async function describeTabAccess(): Promise<string> {
  const commands = await browser.commands.getAll().catch(() => []);
  const shortcut = commands.find(
    (command) => command.name === OPEN_SIDE_PANEL_COMMAND,
  )?.shortcut;
  return shortcut
    ? t('pageAccessNeededShortcut', shortcut)
    : t('pageAccessNeeded');
}

function followDebugSwitch(): void {
  browser.storage.local
    .get(DEBUG_STORAGE_KEY)
    .then((stored) => setDebugLogging(stored[DEBUG_STORAGE_KEY] === true))
    .catch(logFailure);
  browser.storage.onChanged.addListener((changes, areaName) => {
    const change = changes[DEBUG_STORAGE_KEY];
    if (areaName === 'local' && change) {
      setDebugLogging(change.newValue === true);
    }
  });
}

function followUsageForBadge(): void {
  readUsageSnapshot().then(updateToolbarBadge).catch(logFailure);
  browser.storage.onChanged.addListener((changes, areaName) => {
    const change = changes[USAGE_STORAGE_KEY];
    if (areaName === 'local' && change) {
      updateToolbarBadge(parseUsageSnapshot(change.newValue)).catch(logFailure);
    }
  });
}

function logFailure(error: unknown): void {
  debugLog('background', 'caught failure', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : error,
  });
}
