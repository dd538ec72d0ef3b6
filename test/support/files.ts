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

/** A supertest parser that keeps the body as bytes (`.buffer(true).parse(binaryBody)`). */
export function binaryBody(
  res: { on(event: string, listener: (chunk?: Buffer) => void): void },
  done: (error: null, body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk?: Buffer) => chunks.push(chunk!));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}
