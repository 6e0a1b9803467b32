import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import {
  findActiveTab,
  isTabAccessError,
  originPattern,
} from '../../../lib/extension/active-tab';

describe('findActiveTab', () => {
  beforeEach(() => {
    fakeBrowser.reset();
  });

  function returnTabs(tabs: Array<{ id?: number; url?: string }>): void {
    fakeBrowser.tabs.query = () => Promise.resolve(tabs as never);
  }

  it('keeps a tab whose address is hidden', async () => {
    returnTabs([{ id: 4 }]);
    expect(await findActiveTab()).toEqual({ id: 4 });
  });

  it.each(['https://example.test/a', 'http://127.0.0.1:8080/b'])(
    'returns the web page %s',
    async (url) => {
      returnTabs([{ id: 4, url }]);
      expect(await findActiveTab()).toEqual({ id: 4, url });
    },
  );

  it.each(['chrome://settings', 'about:blank', 'file:///etc/hosts'])(
    'rejects the non-web address %s',
    async (url) => {
      returnTabs([{ id: 4, url }]);
      expect(await findActiveTab()).toBeUndefined();
    },
  );

  it('returns undefined without a tab id', async () => {
    returnTabs([]);
    expect(await findActiveTab()).toBeUndefined();
    returnTabs([{ url: 'https://example.test/' }]);
    expect(await findActiveTab()).toBeUndefined();
  });
});

describe('isTabAccessError', () => {
  it.each([
    [
      'Cannot access contents of the page. Extension manifest must request permission to access the respective host.',
      true,
    ],
    ['Cannot access contents of url "https://example.test/".', true],
    ['Missing host permission for the tab', true],
    ['Cannot access a chrome:// URL', false],
    ['The extensions gallery cannot be scripted.', false],
    ['No tab with id: 4.', false],
  ])('classifies "%s"', (message, expected) => {
    expect(isTabAccessError(new Error(message))).toBe(expected);
  });

  it('reads a non-Error value', () => {
    expect(isTabAccessError('Missing host permission for the tab')).toBe(true);
    expect(isTabAccessError(undefined)).toBe(false);
  });
});

describe('originPattern', () => {
  it('covers every path of the origin', () => {
    expect(originPattern('https://example.test:8443/a/b?c')).toBe(
      'https://example.test:8443/*',
    );
  });
});
