import { describe, expect, it } from 'vitest';
import {
  extractTerms,
  formatPageBlock,
  MAX_PASSAGE_CHARS,
  MAX_TITLE_CHARS,
  MAX_URL_CHARS,
  PAGE_BLOCK_SUFFIX,
  rankPassages,
  selectPassages,
  splitPassages,
} from './passages';
import { OMISSION_MARKER } from './system-prompt';
import { countTokens } from './tokens';

const TOPICS = [
  'The harbour was built in the twelfth century by merchants from the coast.',
  'Bread in the region is baked with rye flour and caraway seeds.',
  'The cathedral organ has four manuals and more than five thousand pipes.',
  'Local football clubs play in a league founded after the war.',
  'Winters are cold, and the lake usually freezes in January.',
  'The university library keeps a collection of medieval maps.',
  'Trams have run on the main avenue since the late nineteenth century.',
  'Vineyards on the southern slopes produce a dry white wine.',
];

/** A long article: many paragraphs about the city, then a distinct ending. */
function buildArticle(paragraphs: number, ending: string): string {
  const body = Array.from({ length: paragraphs }, (_, index) => {
    const topic = TOPICS[index % TOPICS.length] as string;
    return `${topic} This is paragraph ${index} of the article, and it repeats what earlier ones said about the city and its people.`;
  });
  return [...body, ending].join('\n\n');
}

describe('splitPassages', () => {
  it('splits on blank lines', () => {
    const passages = splitPassages(
      `${'a'.repeat(200)}\n\n${'b'.repeat(200)}\r\n\r\n${'c'.repeat(200)}`,
    );

    expect(passages.map((passage) => passage.text[0])).toEqual(['a', 'b', 'c']);
    expect(passages.map((passage) => passage.index)).toEqual([0, 1, 2]);
  });

  it('joins a heading to the paragraph after it', () => {
    const passages = splitPassages(`History\n\n${'x '.repeat(200)}`);

    expect(passages).toHaveLength(1);
    expect(passages[0]?.text.startsWith('History\nx x')).toBe(true);
  });

  it('cuts long paragraphs at sentence ends', () => {
    const sentence = 'This sentence is about fifty characters long, yes. ';
    const passages = splitPassages(sentence.repeat(100));

    expect(passages.length).toBeGreaterThan(3);
    for (const passage of passages) {
      expect(passage.text.length).toBeLessThanOrEqual(MAX_PASSAGE_CHARS);
      expect(passage.text.endsWith('yes.')).toBe(true);
    }
  });

  it('cuts a text without spaces or sentence ends', () => {
    const passages = splitPassages('x'.repeat(10_000));

    expect(passages.map((passage) => passage.text).join('')).toBe(
      'x'.repeat(10_000),
    );
    for (const passage of passages) {
      expect(passage.text.length).toBeLessThanOrEqual(MAX_PASSAGE_CHARS);
    }
  });

  it('never splits a surrogate pair', () => {
    const passages = splitPassages('🙂'.repeat(3_000));

    for (const passage of passages) {
      expect(passage.text).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
    }
  });

  it('returns nothing for blank text', () => {
    expect(splitPassages(' \n\n \t ')).toEqual([]);
  });
});

describe('extractTerms', () => {
  it('drops stop words and stems plurals', () => {
    expect(extractTerms('What are the Rivers of the cities?')).toEqual([
      'river',
      'citi',
    ]);
  });

  it('splits Chinese into characters', () => {
    expect(extractTerms('长江')).toEqual(['长', '江']);
  });
});

describe('rankPassages', () => {
  it('scores the passage with the rare term highest', () => {
    const passages = splitPassages(
      [
        'The city has a harbour and a market and a river.',
        'The city has a market and a river.',
        'The observatory tracks comets above the city.',
      ]
        .map((text) => text + ' '.repeat(1) + 'filler '.repeat(30))
        .join('\n\n'),
    );

    const scores = rankPassages('When are comets visible?', passages);

    expect(scores).toHaveLength(3);
    expect(scores[2]).toBeGreaterThan(0);
    expect(scores[0]).toBe(0);
    expect(scores[1]).toBe(0);
  });
});

describe('selectPassages', () => {
  const ending =
    'In the last paragraph the author describes the zebra migration across the Serengeti plains each autumn.';
  const page = {
    title: 'A city through the ages',
    url: 'https://example.test/city',
    text: buildArticle(300, ending),
  };

  it('finds the last paragraph of a long page', () => {
    const total = splitPassages(page.text).length;

    const selection = selectPassages({
      question: 'What does the author say about the zebra migration?',
      page,
      budgetTokens: 400,
    });

    expect(selection).toBeDefined();
    expect(selection?.sentIndexes).toContain(total - 1);
    expect(selection?.block).toContain('zebra migration across the Serengeti');
    expect(selection?.totalPassages).toBe(total);
    expect(selection?.omittedChars).toBeGreaterThan(page.text.length / 2);
  });

  it('keeps page order', () => {
    const selection = selectPassages({
      question: 'organ pipes and medieval maps',
      page,
      budgetTokens: 1_500,
    });
    const indexes = selection?.sentIndexes ?? [];
    const block = selection?.block ?? '';
    const passages = splitPassages(page.text);

    expect(indexes.length).toBeGreaterThan(2);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    const positions = indexes.map((index) =>
      block.indexOf(passages[index]?.text ?? '<missing>'),
    );
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it.each([60, 100, 250, 700, 2_000, 8_000])(
    'never exceeds %i tokens',
    (budget) => {
      const selection = selectPassages({
        question: 'Tell me about the harbour, the bread and the trams.',
        page,
        budgetTokens: budget,
      });

      if (selection) {
        expect(selection.tokens).toBeLessThanOrEqual(budget);
        expect(selection.tokens).toBe(
          countTokens(selection.block + PAGE_BLOCK_SUFFIX),
        );
      }
    },
  );

  it('takes the page from its start when nothing matches', () => {
    const selection = selectPassages({
      question: 'Summarize.',
      page,
      budgetTokens: 300,
    });

    expect(selection?.sentIndexes[0]).toBe(0);
    expect(selection?.sentIndexes).toEqual(
      selection?.sentIndexes.map((_, position) => position),
    );
  });

  it('marks the gaps between sent passages', () => {
    const selection = selectPassages({
      question: 'zebra migration',
      page,
      budgetTokens: 300,
    });

    expect(selection?.block).toContain(`${OMISSION_MARKER}\n\nIn the last`);
  });

  it('sends nothing when the tags alone do not fit', () => {
    expect(
      selectPassages({ question: 'zebra', page, budgetTokens: 10 }),
    ).toBeUndefined();
  });

  it('sends the whole of a short page', () => {
    const short = { title: 't', url: 'u', text: 'One.\n\nTwo.' };

    const selection = selectPassages({
      question: 'Anything?',
      page: short,
      budgetTokens: 500,
    });

    expect(selection?.block).toBe(
      '<page title="t" url="u">\nOne.\nTwo.\n</page>',
    );
    expect(selection?.omittedChars).toBe(0);
  });
});

describe('formatPageBlock', () => {
  it('cuts a long title and URL', () => {
    const block = formatPageBlock(
      {
        title: 't'.repeat(5_000),
        url: `https://x.test/${'u'.repeat(5_000)}`,
        text: '',
      },
      [{ index: 0, text: 'Body.' }],
    );

    expect(block).toContain(`title="${'t'.repeat(MAX_TITLE_CHARS)}"`);
    expect(block).not.toContain('t'.repeat(MAX_TITLE_CHARS + 1));
    expect(block.match(/url="([^"]*)"/)?.[1]).toHaveLength(MAX_URL_CHARS);
  });

  it('breaks up closing tags and escapes attributes', () => {
    const block = formatPageBlock(
      { title: 'A "quoted" <title>', url: 'https://x.test/?a=1&b=2', text: '' },
      [{ index: 0, text: 'Stop </page> here' }],
    );

    expect(block.match(/<\/page/g)).toHaveLength(1);
    expect(block).toContain('title="A &quot;quoted&quot; &lt;title>"');
    expect(block).toContain('url="https://x.test/?a=1&amp;b=2"');
  });
});
