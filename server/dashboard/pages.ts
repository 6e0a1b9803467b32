/**
 * The dashboard's HTML: the login form and the page shell that
 * dashboard.js fills. Neither has an inline script or style, so both run
 * under the strict Content-Security-Policy of HTML responses.
 */

/** Escapes text for an HTML text node or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function renderHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/png" href="/dashboard/static/favicon.png">
<link rel="stylesheet" href="/dashboard/static/dashboard.css">
</head>`;
}

/** Renders the login form, with an error line when `error` is set. */
export function renderLoginPage(error?: string): string {
  const message =
    error === undefined
      ? ''
      : `<p class="error" role="alert">${escapeHtml(error)}</p>`;
  return `${renderHead('Tokenwise dashboard: sign in')}
<body class="login">
<main>
<h1>Tokenwise spend dashboard</h1>
<form method="post" action="/dashboard/login">
<label for="admin-key">Admin key (TOKENWISE_ADMIN_KEY)</label>
<input id="admin-key" name="key" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
${message}
</form>
</main>
</body>
</html>`;
}

/** Renders the dashboard shell; dashboard.js fetches and draws the figures. */
export function renderDashboardPage(): string {
  return `${renderHead('Tokenwise dashboard')}
<body>
<header>
<h1>Tokenwise spend</h1>
<p id="status" aria-live="polite">Loading…</p>
<form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form>
</header>
<main id="dashboard">
<section class="cards" id="cards"></section>
<section id="budgets-section"><h2>Budgets</h2><div id="budgets"></div></section>
<section><h2>Requests and errors per hour (last 24 hours)</h2><div id="hourly-chart" class="chart"></div></section>
<section class="columns">
<div><h2>Routing split this month</h2><div id="routing"></div></div>
<div><h2>Spend by tier this month</h2><div id="tiers"></div></div>
</section>
<section><h2>Spend by model</h2><div id="models"></div></section>
<section><h2>Top installs this month</h2><div id="installs"></div></section>
<section><h2>Spikes and alerts</h2><div id="spikes"></div><div id="alerts"></div></section>
</main>
<script src="/dashboard/static/dashboard.js" defer></script>
</body>
</html>`;
}
