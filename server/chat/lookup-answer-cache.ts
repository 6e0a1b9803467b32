/**
 * Looks a chat request up in the server answer cache, under the key that
 * covers its scope, question, history, page context, tier, model and
 * system prompt version.
 */
import type { ParsedChatRequest, RouteDecision } from '../../lib/protocol';
import type { CacheLookup } from '../cache/answer-cache';
import { buildServerCacheKey, chooseCacheScope } from '../cache/cache-key';
import type { AppServices } from '../http/context';
import type { TierProvider } from '../providers/index';

export interface LookupAnswerCacheOptions {
  services: AppServices;
  installId: string;
  request: ParsedChatRequest;
  decision: RouteDecision;
  tierProvider: TierProvider;
}

/** Returns the lookup result, or undefined when the cache is off. */
export async function lookupAnswerCache(
  options: LookupAnswerCacheOptions,
): Promise<CacheLookup | undefined> {
  const { services, request } = options;
  const cache = services.answerCache;
  if (!cache) {
    return undefined;
  }
  const scope = chooseCacheScope({
    installId: options.installId,
    history: request.history,
    pageContext: request.pageContext,
    sharedCache: cache.sharedCache,
  });
  const key = buildServerCacheKey({
    scope,
    question: request.question,
    history: request.history,
    pageContext: request.pageContext,
    tier: options.decision.tier,
    model: options.tierProvider.modelName,
  });
  return cache.lookup(key, services.now().getTime(), options.installId);
}
