/**
 * Summarizes a V8 .cpuprofile as plain text: the functions with the most
 * self time and the most total time (self plus callees), in percent of the
 * samples taken after an optional start offset.
 */

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  children?: number[];
}

/** The JSON of a .cpuprofile file, as `node --cpu-prof` writes it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the profiler's clock. */
  startTime: number;
  samples: number[];
  /** Microseconds since the previous sample. */
  timeDeltas: number[];
}

export interface SummarizeOptions {
  /** Functions listed per table. */
  limit?: number;
  /** Samples in the first this many milliseconds are left out, such as start-up. */
  skipMs?: number;
}

/** Lists the functions with the most self and total time. */
export function summarizeCpuProfile(
  profile: CpuProfile,
  options: SummarizeOptions = {},
): string {
  const limit = options.limit ?? 30;
  const skipMicroseconds = (options.skipMs ?? 0) * 1_000;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parents.set(child, node.id);
    }
  }

  const selfSamples = new Map<string, number>();
  const totalSamples = new Map<string, number>();
  let elapsed = 0;
  let counted = 0;
  profile.samples.forEach((id, index) => {
    elapsed += profile.timeDeltas[index] ?? 0;
    if (skipMicroseconds > 0 && elapsed <= skipMicroseconds) {
      return;
    }
    counted += 1;
    const leaf = nodes.get(id);
    if (leaf === undefined) {
      return;
    }
    increment(selfSamples, describeFrame(leaf));
    const seen = new Set<string>();
    for (
      let node: ProfileNode | undefined = leaf;
      node !== undefined;
      node = nodes.get(parents.get(node.id) ?? -1)
    ) {
      const key = describeFrame(node);
      if (!seen.has(key)) {
        seen.add(key);
        increment(totalSamples, key);
      }
    }
  });

  return [
    `${counted} samples`,
    'self:',
    ...formatTop(selfSamples, counted, limit),
    'total:',
    ...formatTop(totalSamples, counted, limit),
  ].join('\n');
}

function describeFrame(node: ProfileNode): string {
  const frame = node.callFrame;
  const where = frame.url
    .replace(/^.*node_modules\//, '')
    .replace(/^file:\/\/.*?\/main\//, '');
  return `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function formatTop(
  counts: Map<string, number>,
  total: number,
  limit: number,
): string[] {
  return [...counts.entries()]
    .sort((left, right) => right[1] - left[1])
    .slice(0, limit)
    .map(
      ([key, count]) =>
        `${((count / total) * 100).toFixed(1).padStart(5)}%  ${key}`,
    );
}
