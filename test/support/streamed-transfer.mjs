// Streamed uploads and downloads of large files through the API, never whole in
// memory on the client's side: for the large-file test (test/storage-large.e2e-spec.ts)
// and the transfer benchmark (bench/transfers.mjs).
import { createHash } from 'node:crypto';
import { request } from 'node:http';

const MiB = 1024 * 1024;

/** A PDF of `size` bytes (a PDF header, then spaces), generated piece by piece. */
export function* pdfPieces(size) {
  const head = Buffer.from('%PDF-1.4\n% large file\n');
  yield head;
  const filler = Buffer.alloc(MiB, 0x20);
  for (let left = size - head.length; left > 0; left -= filler.length) yield filler.subarray(0, Math.min(left, MiB));
}

/** POST /documents with a `size`-byte PDF streamed as multipart, honouring back-pressure. */
export function uploadPdfStreamed(base, token, size) {
  const boundary = `----streamed${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="large.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    const req = request(`${base}/documents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + size + tail.length,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body, sha256: hash.digest('hex') }));
    });
    req.on('error', reject);
    const pieces = pdfPieces(size);
    const write = () => {
      for (;;) {
        const next = pieces.next();
        if (next.done) return void req.end(tail);
        hash.update(next.value);
        if (!req.write(next.value)) return void req.once('drain', write);
      }
    };
    req.write(head);
    write();
  });
}

/** GET /documents/:id/content, counting and hashing the bytes as they arrive. */
export function downloadStreamed(base, token, id) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    request(`${base}/documents/${id}/content`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', (c) => {
        bytes += c.length;
        hash.update(c);
      });
      res.on('end', () => resolve({ status: res.statusCode, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}
