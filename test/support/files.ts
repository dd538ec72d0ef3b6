import { createHash } from 'node:crypto';

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A small but well-formed PDF. */
export function pdfBytes(text = 'Hello PDF'): Buffer {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n` +
      `3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >> endobj\n` +
      `4 0 obj << /Length 44 >> stream\nBT /F1 12 Tf 20 100 Td (${text}) Tj ET\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
    'latin1',
  );
}

export const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]),
  Buffer.alloc(64, 0xab),
]);

export const ELF = Buffer.concat([
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x3e, 0x00]),
  Buffer.alloc(64, 0x00),
]);

export const INVALID_UTF8 = Buffer.from([0x68, 0x69, 0x20, 0xc3, 0x28, 0xff, 0xfe, 0x0a]);

/** A page of a generated PDF: its lines of text, or a raw content stream compressed with Flate. */
export type PdfPage = string[] | { deflated: Buffer };

/**
 * A well-formed PDF (catalog, pages, Helvetica, a cross-reference table) with
 * these pages. Lines are PDF literal strings: keep them to plain ASCII without
 * parentheses or backslashes.
 */
export function pdfDocument(pages: PdfPage[]): Buffer {
  const objects: Buffer[] = [];
  const add = (body: string | Buffer) => objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
  const pageIds = pages.map((_, i) => 4 + i * 2);
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add(`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`);
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  for (const [i, page] of pages.entries()) {
    add(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i] + 1} 0 R >>`,
    );
    const stream = Array.isArray(page)
      ? Buffer.from(`BT /F1 12 Tf 72 720 Td 14 TL ${page.map((line) => `(${line}) '`).join(' ')} ET`, 'latin1')
      : page.deflated;
    const filter = Array.isArray(page) ? '' : ' /Filter /FlateDecode';
    add(
      Buffer.concat([
        Buffer.from(`<< /Length ${stream.length}${filter} >>\nstream\n`, 'latin1'),
        stream,
        Buffer.from('\nendstream', 'latin1'),
      ]),
    );
  }
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n', 'latin1')];
  let offset = parts[0].length;
  const offsets: number[] = [];
  for (const [i, body] of objects.entries()) {
    const object = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`, 'latin1'),
      body,
      Buffer.from('\nendobj\n', 'latin1'),
    ]);
    offsets.push(offset);
    parts.push(object);
    offset += object.length;
  }
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

/** A supertest parser that keeps the body as bytes (`.buffer(true).parse(binaryBody)`). */
export function binaryBody(
  res: { on(event: string, listener: (chunk?: Buffer) => void): void },
  done: (error: null, body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk?: Buffer) => chunks.push(chunk!));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}
