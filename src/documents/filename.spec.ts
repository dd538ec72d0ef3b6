import { contentDisposition, sanitizeFilename } from './filename.js';

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'application/pdf', 'report.pdf'],
    ['../../etc/passwd', 'text/plain', 'passwd.txt'],
    ['C:\\Users\\ada\\notes.txt', 'text/plain', 'notes.txt'],
    ['a\r\nb\tc.txt', 'text/plain', 'abc.txt'],
    ['  spaced   out  .md ', 'text/markdown', 'spaced out .md'],
    ['.hidden', 'text/plain', 'hidden.txt'],
    ['...', 'text/plain', 'document.txt'],
    ['', 'application/json', 'document.json'],
    ['evil\u202Etxt.exe', 'text/plain', 'eviltxt.exe.txt'],
    ['cafe\u0301.txt', 'text/plain', 'café.txt'],
    ['"quoted".txt', 'text/plain', '"quoted".txt'],
    ['x.html', 'text/plain', 'x.html.txt'],
    ['pic.svg', 'text/plain', 'pic.svg.txt'],
    ['evil.hta', 'text/plain', 'evil.hta.txt'],
    ['run.bat', 'text/plain', 'run.bat.txt'],
    ['page.html', 'text/markdown', 'page.html.md'],
    ['notes.md', 'text/markdown', 'notes.md'],
    ['notes.markdown', 'text/markdown', 'notes.markdown'],
    ['table.csv', 'text/csv', 'table.csv'],
    ['data.JSON', 'application/json', 'data.JSON'],
    ['paper.pdf', 'text/plain', 'paper.pdf.txt'],
    ['server.log', 'text/plain', 'server.log'],
    ['in\u200Bvoice\u200C\u200D\u200E\u200F.txt', 'text/plain', 'invoice.txt'],
    ['a\u202A\u202B\u202C\u202D\u202Eb.txt', 'text/plain', 'ab.txt'],
    ['a\u2066\u2067\u2068\u2069b\u061C.txt', 'text/plain', 'ab.txt'],
    ['photo\u202Egnp.exe', 'text/plain', 'photognp.exe.txt'],
  ] as const)('%j as %s becomes %j', (raw, type, expected) => {
    expect(sanitizeFilename(raw, type)).toBe(expected);
  });

  it('keeps the extension when it has to shorten, and never splits a character', () => {
    const name = sanitizeFilename(`${'文'.repeat(200)}.json`, 'application/json');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name.endsWith('.json')).toBe(true);
    expect(name).not.toContain('\ufffd');
    // Once quadratic: a name this long held the event loop for minutes.
    expect(sanitizeFilename(`${'a'.repeat(200_000)}.txt`, 'text/plain')).toBe(`${'a'.repeat(251)}.txt`);
    const risky = sanitizeFilename(`${'a'.repeat(300)}.html`, 'text/plain');
    expect(Buffer.byteLength(risky)).toBeLessThanOrEqual(255);
    expect(risky.endsWith('.txt')).toBe(true);
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
