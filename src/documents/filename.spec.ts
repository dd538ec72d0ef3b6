import { contentDisposition, sanitizeFilename } from './filename.js';

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\ada\\notes.txt', 'notes.txt'],
    ['a\r\nb\tc.txt', 'abc.txt'],
    ['  spaced   out  .md ', 'spaced out .md'],
    ['.hidden', 'hidden'],
    ['...', 'document.txt'],
    ['', 'document.txt'],
    ['evil\u202Etxt.exe', 'eviltxt.exe'],
    ['cafe\u0301.txt', 'café.txt'],
    ['"quoted".txt', '"quoted".txt'],
  ])('%j becomes %j', (raw, expected) => {
    expect(sanitizeFilename(raw, 'txt')).toBe(expected);
  });

  it('keeps the extension when it has to shorten, and never splits a character', () => {
    const name = sanitizeFilename(`${'文'.repeat(200)}.json`, 'json');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name.endsWith('.json')).toBe(true);
    expect(name).not.toContain('\ufffd');
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the exact name in filename*', () => {
    expect(contentDisposition('plain.txt')).toBe(`attachment; filename="plain.txt"; filename*=UTF-8''plain.txt`);
    expect(contentDisposition('résumé "v2".pdf')).toBe(
      `attachment; filename="r_sum_ _v2_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf`,
    );
    expect(contentDisposition("it's (1).txt")).toBe(
      `attachment; filename="it's (1).txt"; filename*=UTF-8''it%27s%20%281%29.txt`,
    );
  });
});
