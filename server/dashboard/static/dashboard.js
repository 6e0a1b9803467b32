// Fetches the dashboard figures every few seconds and draws them. Served
// as a file because the page's Content-Security-Policy forbids inline
// scripts. Text goes in with textContent only, never as HTML.
'use strict';

const REFRESH_MS = 5000;
const SVG = 'http://www.w3.org/2000/svg';

function element(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    node.setAttribute(name, value);
  }
  for (const child of children || []) {
    node.append(child);
  }
  return node;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    node.setAttribute(name, String(value));
  }
  return node;
}

function formatUsd(value) {
  return `$${value.toFixed(value >= 100 ? 0 : 2)}`;
}

function formatCount(value) {
  return value.toLocaleString('en-US');
}

function formatPercent(value) {
  return `${(value * 100).toFixed(1)}%`;
}

function card(label, value, detail, figure) {
  return element('div', { class: 'card' }, [
    element('div', { class: 'label' }, [label]),
    element('div', { class: 'value', 'data-figure': figure }, [value]),
    element('div', { class: 'detail' }, [detail]),
  ]);
}

function table(headings, rows, name) {
  const head = element(
    'tr',
    {},
    headings.map((text) => element('th', {}, [text])),
  );
  const body = rows.map((cells) =>
    element(
      'tr',
      {},
      cells.map((text) => element('td', {}, [String(text)])),
    ),
  );
  return element('table', { 'data-table': name }, [
    element('thead', {}, [head]),
    element('tbody', {}, body),
  ]);
}

function renderCards(summary) {
  const { today, month } = summary;
  const tokens = (period) =>
    `${formatCount(period.inputTokens + period.outputTokens)} tokens, ${formatCount(period.requests)} answers`;
  document
    .getElementById('cards')
    .replaceChildren(
      card(
        'Spend today',
        formatUsd(today.spendUsd),
        tokens(today),
        'today-spend',
      ),
      card(
        'Spend this month',
        formatUsd(month.spendUsd),
        tokens(month),
        'month-spend',
      ),
      card(
        'Cache hit rate this month',
        formatPercent(month.cache.hitRate),
        `${formatCount(month.cache.hits)} cache ${month.cache.hits === 1 ? 'hit' : 'hits'} saved ${formatUsd(month.cache.savedUsd)}`,
        'cache-hit-rate',
      ),
      card(
        'Saved by routing this month',
        formatUsd(month.routing.savedUsd),
        `all-premium would have cost ${formatUsd(month.routing.allPremiumUsd)}`,
        'routing-saved',
      ),
      card(
        'Active installs',
        formatCount(today.activeInstalls),
        `today; ${formatCount(month.activeInstalls)} this month`,
        'active-installs',
      ),
    );
}

function renderBudgets(summary) {
  const container = document.getElementById('budgets');
  if (summary.budgets.length === 0) {
    container.replaceChildren(
      element('p', {}, [
        'No budget is set. Set TOKENWISE_DAILY_BUDGET_USD or TOKENWISE_MONTHLY_BUDGET_USD.',
      ]),
    );
    return;
  }
  container.replaceChildren(
    ...summary.budgets.map((budget) => {
      const width = 400;
      const filled = Math.min(1, budget.percent / 100) * width;
      const soft = (budget.softLimitUsd / budget.limitUsd) * width;
      const bar = svgElement('svg', {
        viewBox: `0 0 ${width} 16`,
        class: 'budget-bar',
        role: 'img',
        'aria-label': `${budget.percent.toFixed(0)}% spent`,
      });
      bar.append(
        svgElement('rect', { x: 0, y: 0, width, height: 16, class: 'track' }),
        svgElement('rect', {
          x: 0,
          y: 0,
          width: filled,
          height: 16,
          class: `fill ${budget.state}`,
        }),
        svgElement('line', {
          x1: soft,
          x2: soft,
          y1: 0,
          y2: 16,
          class: 'soft-mark',
        }),
      );
      return element('div', { class: 'budget', 'data-budget': budget.period }, [
        element('div', {}, [
          `${budget.period === 'daily' ? 'Daily' : 'Monthly'}: ${formatUsd(budget.spentUsd)} of ${formatUsd(budget.limitUsd)} (${budget.percent.toFixed(0)}%), soft limit ${formatUsd(budget.softLimitUsd)}, state ${budget.state}, resets ${new Date(budget.resetAt).toUTCString()}`,
        ]),
        bar,
      ]);
    }),
  );
}

function renderHourlyChart(summary) {
  const hours = summary.hours;
  const width = 720;
  const height = 160;
  const barWidth = width / hours.length;
  const errors = (hour) => hour.failedAnswers + hour.rejections;
  const highest = Math.max(
    1,
    ...hours.map((hour) => hour.answers + errors(hour)),
  );
  const chart = svgElement('svg', {
    viewBox: `0 0 ${width} ${height + 20}`,
    role: 'img',
    'aria-label': 'Answers and errors per hour',
  });
  hours.forEach((hour, index) => {
    const x = index * barWidth + 2;
    const answerHeight = (hour.answers / highest) * height;
    const errorHeight = (errors(hour) / highest) * height;
    const title = svgElement('title');
    title.textContent = `${hour.hourStart.slice(11, 16)} UTC: ${hour.answers} answers, ${errors(hour)} errors, ${formatUsd(hour.spendUsd)}`;
    const group = svgElement('g');
    group.append(
      title,
      svgElement('rect', {
        x,
        y: height - answerHeight,
        width: barWidth - 4,
        height: answerHeight,
        class: 'answers',
      }),
      svgElement('rect', {
        x,
        y: height - answerHeight - errorHeight,
        width: barWidth - 4,
        height: errorHeight,
        class: 'errors',
      }),
    );
    if (index % 3 === 0) {
      const label = svgElement('text', { x, y: height + 14, class: 'axis' });
      label.textContent = hour.hourStart.slice(11, 13);
      group.append(label);
    }
    chart.append(group);
  });
  const legend = element('p', { class: 'legend' }, [
    element('span', { class: 'swatch answers' }, []),
    ' answers ',
    element('span', { class: 'swatch errors' }, []),
    ' errors (failed answers from the ledger, rejections counted by this process since it started)',
  ]);
  document.getElementById('hourly-chart').replaceChildren(chart, legend);
}

function renderSplit(containerId, parts, name) {
  const total = parts.reduce((sum, part) => sum + part.value, 0);
  const width = 400;
  const chart = svgElement('svg', {
    viewBox: `0 0 ${width} 24`,
    role: 'img',
    'aria-label': name,
  });
  let x = 0;
  for (const part of parts) {
    const partWidth = total === 0 ? 0 : (part.value / total) * width;
    chart.append(
      svgElement('rect', {
        x,
        y: 0,
        width: partWidth,
        height: 24,
        class: part.className,
      }),
    );
    x += partWidth;
  }
  const rows = parts.map((part) => [part.label, part.text]);
  document
    .getElementById(containerId)
    .replaceChildren(chart, table(['', ''], rows, name));
}

function renderRouting(summary) {
  const { byTier, routing } = summary.month;
  renderSplit(
    'routing',
    [
      {
        label: 'Cheap',
        value: byTier.cheap.requests,
        className: 'cheap',
        text: `${formatCount(byTier.cheap.requests)} answers`,
      },
      {
        label: 'Premium',
        value: byTier.premium.requests,
        className: 'premium',
        text: `${formatCount(byTier.premium.requests)} answers`,
      },
    ],
    'routing',
  );
  document
    .getElementById('routing')
    .append(
      element('p', {}, [
        `Saved ${formatUsd(routing.savedUsd)} against sending everything to the premium model.`,
      ]),
    );
  renderSplit(
    'tiers',
    ['cheap', 'premium'].map((tier) => ({
      label: tier,
      value: byTier[tier].spendUsd,
      className: tier,
      text: `${formatUsd(byTier[tier].spendUsd)}, ${formatCount(byTier[tier].tokens)} tokens`,
    })),
    'tiers',
  );
}

function renderModels(summary) {
  const rows = [];
  for (const [period, figures] of [
    ['today', summary.today],
    ['month', summary.month],
  ]) {
    for (const model of figures.byModel) {
      rows.push([
        period,
        model.model,
        model.tier,
        formatCount(model.requests),
        formatCount(model.inputTokens),
        formatCount(model.cachedInputTokens),
        formatCount(model.outputTokens),
        formatUsd(model.spendUsd),
      ]);
    }
  }
  const children = [
    table(
      [
        'Period',
        'Model',
        'Tier',
        'Answers',
        'Input',
        'Cached input',
        'Output',
        'Spend',
      ],
      rows,
      'models',
    ),
  ];
  if (summary.month.unpricedModels.length > 0) {
    children.push(
      element('p', { class: 'warning' }, [
        `No price for ${summary.month.unpricedModels.join(', ')}; counted as $0. Add them to TOKENWISE_PRICES_FILE.`,
      ]),
    );
  }
  document.getElementById('models').replaceChildren(...children);
}

function renderInstalls(summary) {
  const flagged = new Set(summary.spikes.map((spike) => spike.installId));
  const rows = summary.topInstalls.map((install) => [
    install.installId + (flagged.has(install.installId) ? ' (spike)' : ''),
    formatCount(install.requests),
    formatUsd(install.spendUsd),
  ]);
  document
    .getElementById('installs')
    .replaceChildren(table(['Install', 'Answers', 'Spend'], rows, 'installs'));
}

function renderSpikes(summary) {
  const spikes = summary.spikes.map(
    (spike) =>
      `Install ${spike.installId} spent ${formatUsd(spike.lastHourUsd)} in the last hour; it usually spends ${formatUsd(spike.usualHourlyUsd)} per hour.`,
  );
  document.getElementById('spikes').replaceChildren(
    element(
      'ul',
      { 'data-list': 'spikes' },
      (spikes.length === 0 ? ['No spikes in the last hour.'] : spikes).map(
        (text) => element('li', {}, [text]),
      ),
    ),
  );
  if (summary.alerts.length === 0) {
    document
      .getElementById('alerts')
      .replaceChildren(element('p', {}, ['No alerts sent yet.']));
    return;
  }
  document.getElementById('alerts').replaceChildren(
    table(
      ['Sent', 'Alert'],
      summary.alerts.map((alert) => [
        new Date(alert.sentAt).toUTCString(),
        alert.text,
      ]),
      'alerts',
    ),
  );
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    const response = await fetch('/dashboard/api/summary', {
      credentials: 'same-origin',
    });
    if (response.status === 401) {
      window.location.assign('/dashboard');
      return;
    }
    if (!response.ok) {
      throw new Error(`the backend returned ${response.status}`);
    }
    const summary = await response.json();
    renderCards(summary);
    renderBudgets(summary);
    renderHourlyChart(summary);
    renderRouting(summary);
    renderModels(summary);
    renderInstalls(summary);
    renderSpikes(summary);
    status.textContent = `Updated ${new Date(summary.generatedAt).toUTCString()}`;
    status.dataset.generatedAt = summary.generatedAt;
  } catch (error) {
    status.textContent = `Could not refresh: ${error.message}. Retrying in ${REFRESH_MS / 1000} seconds.`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
