import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import background from '../../../entrypoints/background';
import { questionPreviewSchema } from '../../../lib/extension/runtime-messages';

/** Creates a minimal browser event, for the events the fake browser leaves out. */
function createEvent() {
  const listeners = new Set<(...args: unknown[]) => unknown>();
  return {
    listeners,
    addListener: (listener: (...args: unknown[]) => unknown) =>
      void listeners.add(listener),
    removeListener: (listener: (...args: unknown[]) => unknown) =>
      void listeners.delete(listener),
    hasListener: (listener: (...args: unknown[]) => unknown) =>
      listeners.has(listener),
  };
}

/** Replaces events whose addListener throws "not implemented" with working ones. */
function completeEvents(namespace: Record<string, unknown>, names: string[]) {
  const events: Record<string, ReturnType<typeof createEvent>> = {};
  for (const name of names) {
    const event = namespace[name] as {
      addListener(listener: () => void): void;
    };
    try {
      event.addListener(() => undefined);
    } catch {
      events[name] = createEvent();
      namespace[name] = events[name];
    }
  }
  return events;
}

describe('background entrypoint', () => {
  beforeEach(() => {
    fakeBrowser.reset();
    // The fake browser leaves getManifest for tests to provide.
    fakeBrowser.runtime.getManifest = () => ({
      manifest_version: 3,
      name: 'Tokenwise',
      version: '0.1.0',
    });
  });

  it('starts in the fake browser and answers a preview', async () => {
    const added = {
      ...completeEvents(fakeBrowser.runtime as never, ['onConnect']),
      ...completeEvents(fakeBrowser.commands as never, ['onCommand']),
      ...completeEvents(fakeBrowser.contextMenus as never, ['onClicked']),
    };
    expect(() => background.main()).not.toThrow();
    for (const event of Object.values(added)) {
      expect(event.listeners.size).toBe(1);
    }

    const request = {
      type: 'preview-question',
      question: 'What is the capital of France?',
      history: [],
    };
    const [response] = await fakeBrowser.runtime.onMessage.trigger(request, {
      id: fakeBrowser.runtime.id,
    });
    const preview = questionPreviewSchema.parse(await response);
    expect(preview.tier).toBe('cheap');
    expect(preview.inputTokens).toBeGreaterThan(0);
  });
});

describe('background entrypoint senders', () => {
  beforeEach(() => {
    fakeBrowser.reset();
    fakeBrowser.runtime.getManifest = () => ({
      manifest_version: 3,
      name: 'Tokenwise',
      version: '0.1.0',
    });
  });

  it('ignores another extension', async () => {
    completeEvents(fakeBrowser.runtime as never, ['onConnect']);
    completeEvents(fakeBrowser.commands as never, ['onCommand']);
    completeEvents(fakeBrowser.contextMenus as never, ['onClicked']);
    background.main();

    const [response] = await fakeBrowser.runtime.onMessage.trigger(
      { type: 'preview-question', question: 'Hi', history: [] },
      { id: 'another-extension' },
    );
    expect(response).toBeUndefined();
  });

  it('hands a menu selection to the panel', async () => {
    completeEvents(fakeBrowser.runtime as never, ['onConnect']);
    completeEvents(fakeBrowser.commands as never, ['onCommand']);
    // The fake's onClicked accepts listeners but cannot fire them.
    const onClicked = createEvent();
    (fakeBrowser.contextMenus as unknown as Record<string, unknown>).onClicked =
      onClicked;
    background.main();

    const info = {
      menuItemId: 'ask-about-selection',
      selectionText: 'Le Havre',
      pageUrl: 'http://127.0.0.1/seine',
    };
    const tab = { windowId: 1 };
    expect(onClicked.listeners.size).toBe(1);
    for (const listener of onClicked.listeners) {
      listener(info, tab);
    }
    await expect
      .poll(async () => {
        const stored = await fakeBrowser.storage.local.get('pending-selection');
        return stored['pending-selection'];
      })
      .toMatchObject({ text: 'Le Havre', url: 'http://127.0.0.1/seine' });
  });
});
