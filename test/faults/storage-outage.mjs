// Scenario 8: the S3-protocol server (s3rver, started here on a free port) stops
// while the service uses it. Uploads and downloads must answer 503 problem+json,
// leave nothing half-written (no row without its object, no object without its
// row), and work again as soon as it is back on the same port.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startS3Server } from '../support/s3-server.mjs';
import { api, freePort, makeUsers, onCleanup, startService, tmp } from './lib.mjs';

const BUCKET = 'faults';

export async function storageOutage({ backing, pg }) {
  const problems = [];
  const port = await freePort();
  const directory = mkdtempSync(join(tmp, 's3-'));
  const s3 = await startS3Server({ port, directory, bucket: BUCKET });
  onCleanup(() => s3.stop());
  const { client } = s3;
  const objects = async () =>
    ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key);

  const svc = await startService('s3-outage', {
    ...backing,
    env: s3.env,
  });
  const [user] = await makeUsers(svc.url, 's3out', 1);
  const upload = async (text) => {
    const form = new globalThis.FormData();
    form.append('file', new globalThis.Blob([text], { type: 'text/plain' }), 'note.txt');
    const res = await fetch(`${svc.url}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}` },
      body: form,
    });
    return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
  };
  const rows = () =>
    Number(
      pg.query(
        `select count(*) from document_versions v join documents d on d.id = v.document_id where d.owner_id = '${user.id}'`,
      )[0][0],
    );

  const first = await upload('before the outage\n');
  if (first.status !== 201) problems.push(`upload before the outage → ${first.status} ${first.body}`);
  const id = JSON.parse(first.body).id;

  await s3.stop();
  const during = await upload('during the outage\n');
  if (during.status !== 503 || !during.contentType?.startsWith('application/problem+json')) {
    problems.push(`upload during the outage → ${during.status} ${during.contentType} ${during.body.slice(0, 200)}`);
  }
  const read = await api(svc.url, 'GET', `/documents/${id}/content`, { token: user.token });
  if (read.status !== 503 || !read.headers.get('content-type')?.startsWith('application/problem+json')) {
    problems.push(`download during the outage → ${read.status} ${read.text.slice(0, 200)}`);
  }
  const meta = await api(svc.url, 'GET', `/documents/${id}`, { token: user.token });
  if (meta.status !== 200) problems.push(`metadata during the outage → ${meta.status} (it lives in PostgreSQL)`);
  if (rows() !== 1) problems.push(`${rows()} version rows after the failed upload, expected 1`);

  await s3.start();
  const keys = await objects();
  if (keys.length !== 1) problems.push(`${keys.length} objects after the outage, expected 1 (no half-written one)`);
  const after = await upload('after the outage\n');
  if (after.status !== 201) problems.push(`upload after the outage → ${after.status} ${after.body}`);
  const again = await api(svc.url, 'GET', `/documents/${id}/content`, { token: user.token });
  if (again.status !== 200 || again.text !== 'before the outage\n') {
    problems.push(`download after the outage → ${again.status} ${again.text.slice(0, 100)}`);
  }
  if (rows() !== 2 || (await objects()).length !== 2)
    problems.push(`rows ${rows()}, objects ${(await objects()).length}: expected 2 and 2`);
  console.log(
    `  during the outage: upload ${during.status}, download ${read.status}; after it: upload ${after.status}, download ${again.status}`,
  );
  svc.kill('SIGTERM');
  await svc.exited;
  client.destroy();
  await s3.stop();
  return problems;
}
