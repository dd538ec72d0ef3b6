import { detectContentType } from './content-type.js';

const text = (s: string) => Buffer.from(s, 'utf8');
const PDF = Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n', 'latin1');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]);

describe('detectContentType', () => {
  it.each([
    ['declared text/plain', text('hello'), 'text/plain', 'a.txt', 'text/plain'],
    ['declared with a charset', text('hello'), 'text/plain; charset=utf-8', 'a', 'text/plain'],
    ['declared text/markdown', text('# hi'), 'text/markdown', 'a.md', 'text/markdown'],
    ['declared text/csv', text('a,b\n1,2'), 'text/csv', 'a.csv', 'text/csv'],
    ['declared JSON', text('[1,2]'), 'application/json', 'a.json', 'application/json'],
    ['declared PDF', PDF, 'application/pdf', 'a.pdf', 'application/pdf'],
    ['octet-stream, .md', text('# hi'), 'application/octet-stream', 'notes.md', 'text/markdown'],
    ['octet-stream, .json', text('{}'), 'application/octet-stream', 'x.JSON', 'application/json'],
    ['no type, no extension, PDF bytes', PDF, '', 'scan', 'application/pdf'],
    ['no type, no extension, text', text('plain'), undefined, 'readme', 'text/plain'],
    [
      'a BOM',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text('{"a":1}')]),
      'application/json',
      'a.json',
      'application/json',
    ],
    ['tabs, CR, LF and form feeds', text('a\tb\r\nc\fd'), 'text/plain', 'a.txt', 'text/plain'],
    ['an empty text file', Buffer.alloc(0), 'text/plain', 'empty.txt', 'text/plain'],
  ])('accepts %s', (_name, data, declared, filename, type) => {
    expect(detectContentType(data, declared, filename)).toMatchObject({ ok: true, type });
  });

  it('says which types carry text to index', () => {
    expect(detectContentType(text('héllo'), 'text/plain', 'a.txt')).toEqual({
      ok: true,
      type: 'text/plain',
      text: true,
    });
    expect(detectContentType(PDF, 'application/pdf', 'a.pdf')).toEqual({
      ok: true,
      type: 'application/pdf',
      text: false,
    });
  });

  it.each([
    ['a PNG declared as text', PNG, 'text/plain', 'a.txt'],
    ['a PNG left to the extension .txt', PNG, 'application/octet-stream', 'a.txt'],
    ['an ELF declared as text', ELF, 'text/plain', 'a.txt'],
    ['invalid UTF-8', Buffer.from([0x61, 0xc3, 0x28]), 'text/plain', 'a.txt'],
    ['a NUL byte', Buffer.from('a\u0000b'), 'text/plain', 'a.txt'],
    ['an escape sequence', Buffer.from('\u001b[31mred'), 'text/plain', 'a.txt'],
    ['image/png', PNG, 'image/png', 'a.png'],
    ['text/html', text('<p>hi</p>'), 'text/html', 'a.html'],
    ['a PDF declared as markdown', PDF, 'text/markdown', 'a.md'],
    ['text declared as PDF', text('hello'), 'application/pdf', 'a.pdf'],
    ['text named .pdf', text('hello'), 'application/octet-stream', 'a.pdf'],
    ['broken JSON', text('{"a":'), 'application/json', 'a.json'],
  ])('refuses %s', (_name, data, declared, filename) => {
    expect(detectContentType(data, declared, filename).ok).toBe(false);
  });

  it.each([
    ['a PNG declared as text', PNG, 'text/plain', 'a.txt', 'looks like a PNG image, not text/plain as declared'],
    [
      'a PNG named .md',
      PNG,
      'application/octet-stream',
      'a.md',
      'looks like a PNG image, not the text/markdown its name (.md) says',
    ],
    ['a PNG with no name to go by', PNG, '', 'upload', 'looks like a PNG image; accepted types are text/plain, '],
    ['an ELF', ELF, 'text/plain', 'a.txt', 'looks like an ELF executable'],
    ['a PDF declared as markdown', PDF, 'text/markdown', 'a.md', 'looks like a PDF, not text/markdown as declared'],
    [
      'text declared as PDF',
      text('MZ, hello'),
      'application/pdf',
      'a.pdf',
      'looks like text, not application/pdf as declared',
    ],
    [
      'invalid UTF-8',
      Buffer.from([0x61, 0xc3, 0x28]),
      'text/plain',
      'a.txt',
      'looks like binary data (not UTF-8 text)',
    ],
    ['an escape sequence', text('\u001b[31mred'), 'text/plain', 'a.txt', 'looks like binary data (control characters)'],
  ])('names what %s looks like, and where the expected type came from', (_name, data, declared, filename, reason) => {
    expect(detectContentType(data, declared, filename)).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });
});
