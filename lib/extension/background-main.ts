/**
 * The background service worker: the only part of the extension that talks
 * to the backend. It wires the chat port, the one-off page requests, the
 * keyboard command and the first-run registration.
 */
import { browser } from 'wxt/browser';
import { AnswerCache } from './answer-cache';
import { refreshUsage, type AnswerServices } from './answer-question';
import { BackendClient } from './backend-client';
import { serveChatPort } from './chat-port-handler';
import { BACKEND_URL } from './config';
import { getDatabase } from './database';
import { debugLog, setDebugLogging } from './debug-log';
import { CHAT_PORT_NAME } from './port-messages';
import { previewQuestion } from './question-preview';
import { parseRuntimeRequest, type UsageRefreshed } from './runtime-messages';
import { configureSidePanelBehavior, openSidePanel } from './side-panel';
import { DEBUG_STORAGE_KEY } from './storage-keys';
import { UsageMirror } from './usage-mirror';

/** Name of the keyboard command that opens the side panel (see wxt.config.ts). */
export const OPEN_SIDE_PANEL_COMMAND = 'open-side-panel';

/**
 * Starts the background: registers every listener synchronously, as a
 * service worker must, so events that woke it are not lost.
 */
export function startBackground(): void {
  const services: AnswerServices = {
    client: new BackendClient({
      baseUrl: BACKEND_URL,
      extensionVersion: browser.runtime.getManifest().version,
      browserName: import.meta.env.BROWSER,
    }),
    cache: new AnswerCache(getDatabase()),
    usage: new UsageMirror({ backendUrl: BACKEND_URL }),
  };

  followDebugSwitch();

  browser.runtime.onInstalled.addListener(() => {
    configureSidePanelBehavior().catch(logFailure);
    // Registers the install on the way, so the popup has figures at once.
    refreshUsage(services).catch(logFailure);
  });

  browser.runtime.onConnect.addListener((port) => {
    if (port.name !== CHAT_PORT_NAME) {
      return;
    }
    if (port.sender?.id !== browser.runtime.id) {
      port.disconnect();
      return;
    }
    serveChatPort(port, services);
  });

  browser.runtime.onMessage.addListener((message, sender) => {
    if (sender.id !== browser.runtime.id) {
      return undefined;
    }
    return handleRuntimeRequest(message, services);
  });

  browser.commands.onCommand.addListener((command, tab) => {
    if (command !== OPEN_SIDE_PANEL_COMMAND || tab?.windowId === undefined) {
      return;
    }
    openSidePanel(tab.windowId).catch(logFailure);
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
      return previewQuestion(request.question, request.history);
    case 'refresh-usage': {
      const snapshot = await refreshUsage(services);
      const response: UsageRefreshed = { type: 'usage-refreshed', snapshot };
      return response;
    }
  }
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

function logFailure(error: unknown): void {
  debugLog('background', 'caught failure', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : error,
  });
}
