import { memo, useState, type ComponentProps, type ReactNode } from 'react';
import ReactMarkdown, {
  defaultUrlTransform,
  type Components,
  type Options,
} from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { t } from '@/lib/extension/i18n';

// Module constants, so every render hands react-markdown the same objects.
const REMARK_PLUGINS: Options['remarkPlugins'] = [remarkGfm];
const REHYPE_PLUGINS: Options['rehypePlugins'] = [
  [rehypeHighlight, { detect: false }],
];

/**
 * Renders model output as Markdown. The output is untrusted: raw HTML in it
 * is dropped (skipHtml), and only http, https, mailto and fragment links
 * survive the URL transform, so scripts, event handlers and `javascript:`
 * links never reach the page.
 *
 * Memoized on the text: while one answer streams, the panel re-renders its
 * whole list on every update, and parsing every earlier answer again made
 * each update slower as the conversation grew.
 */
export const AnswerMarkdown = memo(function AnswerMarkdown({
  text,
}: {
  text: string;
}) {
  return (
    <ReactMarkdown
      skipHtml
      remarkPlugins={REMARK_PLUGINS}
      rehypePlugins={REHYPE_PLUGINS}
      urlTransform={transformUrl}
      components={COMPONENTS}
    >
      {text}
    </ReactMarkdown>
  );
});

/** Keeps http, https, mailto and relative links; returns '' for anything else. */
export function transformUrl(url: string): string {
  const safe = defaultUrlTransform(url);
  if (safe === '' || /^(https?:|mailto:|#)/i.test(safe)) {
    return safe;
  }
  return /^[a-z][a-z0-9+.-]*:/i.test(safe) ? '' : safe;
}

function SafeLink({ href, children }: ComponentProps<'a'>) {
  if (!href) {
    return <span>{children}</span>;
  }
  return (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  );
}

// Images from model output would load remote content, so they show as links.
function ImageLink({ src, alt }: ComponentProps<'img'>) {
  const label = alt || t('imageLink');
  if (typeof src !== 'string' || src === '') {
    return <span>{label}</span>;
  }
  return (
    <a href={src} target="_blank" rel="noopener noreferrer nofollow">
      {label}
    </a>
  );
}

function CodeBlock({ children }: { children?: ReactNode }) {
  const [copied, setCopied] = useState(false);
  const copy = (event: React.MouseEvent<HTMLButtonElement>) => {
    const code = event.currentTarget.parentElement?.querySelector('code');
    navigator.clipboard
      .writeText(code?.textContent ?? '')
      .then(() => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1_500);
      })
      .catch(() => setCopied(false));
  };
  return (
    <div className="code-block">
      <button
        type="button"
        className="code-block__copy"
        data-testid="copy-code"
        onClick={copy}
      >
        {copied ? t('codeCopied') : t('copyCode')}
      </button>
      <pre>{children}</pre>
    </div>
  );
}

const COMPONENTS: Components = {
  a: SafeLink,
  pre: CodeBlock,
  img: ImageLink,
};
