/**
 * Opening the side panel: Chrome's `sidePanel` API, or Firefox's
 * `sidebarAction`, where the side panel is a sidebar.
 */
import { browser } from 'wxt/browser';

interface ChromeSidePanelApi {
  open(options: { windowId: number }): Promise<void>;
  setPanelBehavior(behavior: {
    openPanelOnActionClick: boolean;
  }): Promise<void>;
}

interface FirefoxSidebarActionApi {
  open(): Promise<void>;
}

function getChromeSidePanel(): ChromeSidePanelApi | undefined {
  const scope = globalThis as { chrome?: { sidePanel?: ChromeSidePanelApi } };
  return scope.chrome?.sidePanel;
}

function getFirefoxSidebarAction(): FirefoxSidebarActionApi | undefined {
  return (browser as unknown as { sidebarAction?: FirefoxSidebarActionApi })
    .sidebarAction;
}

/**
 * Opens the side panel in a window. Call it synchronously from a user
 * gesture (a click or a keyboard command): both browsers reject the call
 * after an `await`. Rejects when the browser has neither API.
 */
export function openSidePanel(windowId: number): Promise<void> {
  // A synchronous throw becomes a rejection, so callers need one handler.
  try {
    return openSidePanelNow(windowId);
  } catch (error) {
    return Promise.reject(error);
  }
}

function openSidePanelNow(windowId: number): Promise<void> {
  const sidePanel = getChromeSidePanel();
  if (sidePanel) {
    return sidePanel.open({ windowId });
  }
  const sidebarAction = getFirefoxSidebarAction();
  if (sidebarAction) {
    return sidebarAction.open();
  }
  return Promise.reject(
    new Error(
      'This browser has no side panel API (sidePanel or sidebarAction).',
    ),
  );
}

/**
 * Keeps the toolbar button opening the popup (the token HUD) rather than
 * the panel; the popup's button and the keyboard command open the panel.
 * The popup also matters for reading pages: in Chromium 156 a toolbar
 * click that shows a popup grants activeTab, and one that opens the side
 * panel directly does not.
 */
export async function configureSidePanelBehavior(): Promise<void> {
  await getChromeSidePanel()?.setPanelBehavior({
    openPanelOnActionClick: false,
  });
}
