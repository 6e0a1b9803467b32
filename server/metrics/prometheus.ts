/**
 * Renders metrics in the Prometheus text exposition format, version 0.0.4.
 */

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE =
  'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One sample: labels and a value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
  /** Suffix added to the metric name, such as `_bucket`. */
  suffix?: string;
}

/** Renders one metric family with its HELP and TYPE lines. */
export function renderMetric(options: {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}): string {
  const lines = [
    `# HELP ${options.name} ${escapeHelp(options.help)}`,
    `# TYPE ${options.name} ${options.type}`,
  ];
  for (const sample of options.samples) {
    lines.push(
      `${options.name}${sample.suffix ?? ''}${renderLabels(sample.labels)} ${formatValue(sample.value)}`,
    );
  }
  return lines.join('\n') + '\n';
}

function renderLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) {
    return '';
  }
  const rendered = entries.map(
    ([name, value]) => `${name}="${escapeLabelValue(value)}"`,
  );
  return `{${rendered.join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) {
    return 'NaN';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '+Inf' : '-Inf';
  }
  return String(value);
}
