import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { AnswerCache } from '../../../lib/extension/answer-cache';
import type { AnswerServices } from '../../../lib/extension/answer-question';
import { handleRuntimeRequest } from '../../../lib/extension/background-main';
import { BackendClient } from '../../../lib/extension/backend-client';
import { TokenwiseDatabase } from '../../../lib/extension/database';
import { InvalidMessageError } from '../../../lib/extension/port-messages';
import {
  parseRuntimeResponse,
  questionPreviewSchema,
  usageRefreshedSchema,
} from '../../../lib/extension/runtime-messages';
import { UsageMirror } from '../../../lib/extension/usage-mirror';
import { routeQuestion } from '../../../lib/router';
import { SUMMARY_MAX_TOKENS } from '../../../lib/context-budget';
import { SYSTEM_PROMPT } from '../../../lib/system-prompt';
import { countChatTokens } from '../../../lib/tokens';
import {
  startProtocolServer,
  usageFigures,
  type ProtocolServer,
} from './support/protocol-server';

describe('handleRuntimeRequest', () => {
  let server: ProtocolServer;
  let database: TokenwiseDatabase;
  let services: AnswerServices;

  beforeEach(async () => {
    fakeBrowser.reset();
    server = await startProtocolServer();
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    services = {
      client: new BackendClient({ baseUrl: server.url }),
      cache: new AnswerCache(database),
      usage: new UsageMirror({ backendUrl: server.url }),
    };
  });

  afterEach(async () => {
    await server.close();
    await database.delete();
  });

  it.each([
    'Hi there',
    'Prove that the algorithm is correct, then implement it and analyze its complexity step by step.',
  ])('previews %s with the shared router', async (question) => {
    const response = await handleRuntimeRequest(
      { type: 'preview-question', question },
      services,
    );
    const preview = parseRuntimeResponse(questionPreviewSchema, response);
    const decision = routeQuestion({ question, history: [] });

    expect(preview.tier).toBe(decision.tier);
    expect(preview.score).toBe(decision.score);
    expect(preview.reasons).toEqual(decision.reasons);
    expect(preview.inputTokens).toBe(
      countChatTokens([
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: question },
      ]),
    );
  });

  it('counts the history in the preview', async () => {
    const history = [
      { role: 'user' as const, content: 'List three fruits.' },
      { role: 'assistant' as const, content: 'Apple, banana, cherry.' },
    ];
    const response = await handleRuntimeRequest(
      { type: 'preview-question', question: 'And the second?', history },
      services,
    );
    expect(
      parseRuntimeResponse(questionPreviewSchema, response).inputTokens,
    ).toBe(
      countChatTokens([
        { role: 'system', content: SYSTEM_PROMPT },
        ...history,
        { role: 'user', content: 'And the second?' },
      ]),
    );
  });

  it('previews summarized turns and page passages', async () => {
    // Each answer is longer than a fold block, so each turn is one.
    const history = [1, 2, 3, 4].flatMap((index) => [
      { role: 'user' as const, content: `Question ${index}?` },
      {
        role: 'assistant' as const,
        content: `Answer ${index}. ${'The walls were rebuilt in stone. '.repeat(120)}`,
      },
    ]);
    const text = Array.from(
      { length: 200 },
      (_, index) => `Paragraph ${index} is about the old harbour walls.`,
    )
      .concat('The lighthouse keeper retired in 1950.')
      .join('\n\n');

    const response = await handleRuntimeRequest(
      {
        type: 'preview-question',
        question: 'When did the lighthouse keeper retire?',
        history,
        pageContext: { title: 'Harbour', url: 'https://harbour.test/', text },
        tier: 'premium',
      },
      services,
    );
    const preview = parseRuntimeResponse(questionPreviewSchema, response);

    expect(preview.context?.budgetTokens).toBe(8_000);
    expect(preview.context?.recentTurns).toBe(2);
    expect(preview.context?.summarizedTurns).toBe(2);
    expect(preview.context?.summaryTokens).toBe(SUMMARY_MAX_TOKENS);
    expect(preview.context?.page?.sentPassages).toBe(1);
    expect(preview.context?.page?.totalPassages).toBeGreaterThan(10);
    expect(preview.context?.sentTokens).toBeLessThanOrEqual(8_000);
  });

  it('refreshes the usage mirror', async () => {
    server.usage = usageFigures({ used: 12, remaining: 988 });
    const response = await handleRuntimeRequest(
      { type: 'refresh-usage' },
      services,
    );
    const { snapshot } = parseRuntimeResponse(usageRefreshedSchema, response);

    expect(snapshot.status).toBe('ok');
    expect(snapshot.figures?.remaining).toBe(988);
    expect(server.registrations).toBe(1);
  });

  it('reports an unreachable backend on refresh', async () => {
    await server.close();
    const response = await handleRuntimeRequest(
      { type: 'refresh-usage' },
      services,
    );
    const { snapshot } = parseRuntimeResponse(usageRefreshedSchema, response);

    expect(snapshot.status).toBe('unreachable');
    expect(snapshot.problem).toContain(
      `Cannot reach the Tokenwise server at ${server.url}`,
    );
    server = await startProtocolServer();
  });

  it('rejects an unknown request', async () => {
    await expect(
      handleRuntimeRequest({ type: 'format-disk' }, services),
    ).rejects.toBeInstanceOf(InvalidMessageError);
  });
});
