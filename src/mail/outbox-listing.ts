import type { OutboxEntry } from './mail-outbox.js';

const LINK = /https?:\/\/\S+[?&]token=\S+/;

/**
 * The outbox as `mail:outbox` prints it, newest first. The link is shown only
 * for mails that were logged instead of sent (development without SMTP_URL):
 * a pending mail's link is live and belongs to its recipient alone.
 */
export function formatOutbox(entries: OutboxEntry[]): string {
  if (entries.length === 0) return 'The mail outbox is empty.';
  return entries
    .map((mail) => {
      const link = mail.status === 'logged' && mail.text ? LINK.exec(mail.text)?.[0] : undefined;
      const lines = [
        `${new Date(mail.createdAt).toISOString()}  ${mail.status.padEnd(7)}  ${mail.kind}  to ${mail.recipient}`,
        `  ${mail.subject}`,
        ...(link ? [`  ${link}`] : []),
        ...(mail.lastError ? [`  last error (attempt ${mail.attempts}): ${mail.lastError}`] : []),
      ];
      return lines.join('\n');
    })
    .join('\n');
}
