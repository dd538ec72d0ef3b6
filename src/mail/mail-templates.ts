/** A mail as the outbox stores it. */
export interface OutgoingMail {
  kind: MailKind;
  recipient: string;
  subject: string;
  text: string;
  html: string;
}

export type MailKind =
  'verify-email' | 'reset-password' | 'password-reset-notice' | 'change-email-confirm' | 'change-email-notice';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** The plain-text body, and the same paragraphs as minimal HTML with every value escaped. */
function compose(
  kind: MailKind,
  recipient: string,
  subject: string,
  paragraphs: string[],
  link?: string,
): OutgoingMail {
  const text = [...paragraphs, ...(link ? [link] : []), '— UltrAI'].join('\n\n');
  const html = [
    '<!doctype html><html><body>',
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(link ? [`<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`] : []),
    '<p>— UltrAI</p></body></html>',
  ].join('\n');
  return { kind, recipient, subject, text, html };
}

export function verifyEmailMail(to: string, username: string, link: string, hours: number): OutgoingMail {
  return compose(
    'verify-email',
    to,
    'Confirm your email address for UltrAI',
    [`Hello ${username},`, `Open this link to confirm that ${to} is your address. It works once, for ${hours} hours.`],
    link,
  );
}

export function resetPasswordMail(to: string, username: string, link: string, minutes: number): OutgoingMail {
  return compose(
    'reset-password',
    to,
    'Reset your UltrAI password',
    [
      `Hello ${username},`,
      `Someone (hopefully you) asked to reset the password of your UltrAI account. Open this link to choose a new one. It works once, for ${minutes} minutes.`,
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ],
    link,
  );
}

export function passwordResetNoticeMail(to: string, username: string): OutgoingMail {
  return compose('password-reset-notice', to, 'Your UltrAI password was reset', [
    `Hello ${username},`,
    'The password of your UltrAI account was just reset with a link sent to this address, and every session was signed out.',
    'If this was not you, reset your password again at once and tell us.',
  ]);
}

export function changeEmailConfirmMail(to: string, username: string, link: string, hours: number): OutgoingMail {
  return compose(
    'change-email-confirm',
    to,
    'Confirm your new email address for UltrAI',
    [
      `Hello ${username},`,
      `Open this link to make ${to} the address of your UltrAI account. It works once, for ${hours} hours.`,
      'If you did not ask for this, ignore this mail.',
    ],
    link,
  );
}

export function changeEmailNoticeMail(to: string, username: string, newEmail: string): OutgoingMail {
  return compose('change-email-notice', to, 'A change of your UltrAI email address was requested', [
    `Hello ${username},`,
    `Someone signed in to your UltrAI account asked to change its address to ${newEmail}. The change happens only when the link sent to that address is used.`,
    'If this was not you, change your password now: that also cancels the pending change.',
  ]);
}
