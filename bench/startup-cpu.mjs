// Start-up CPU of one or more builds of the server, compared on the same machine: each
// build's main.js is started `runs` times, the builds alternated (A B, B A, A B, …) so the
// machine's noise falls on both, on real PostgreSQL and Redis with the image's environment
// (bench/lib.mjs startServer). Prints, per build, the CPU from spawn to the first 200 of
// /health/ready (coldStartCpuMs), the wall time (coldStartMs), the RSS then and the page faults
// to then (coldStartFaults; bench/lib.mjs pageFaults): median (min–max).
// Usage: npm run build && cp -r dist /tmp/dist-before && (change, build) &&
//   node bench/startup-cpu.mjs [--runs 7] [--cpus 0.1] [--profile dir] dist /tmp/dist-before
// A build directory outside the project is copied in as .bench-builds/<n> (so it finds
// node_modules, as dist/main.js does). --profile writes a --cpu-prof of each start there.
// A build may carry extra V8/Node flags after `+`: `dist dist+--single-threaded-gc` compares
// the same build with and without the flag (each set of flags gets its own compile cache).
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchBuilds, freshDatabase, rssMiB, serviceEnv, startServer } from './lib.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '7' },
    cpus: { type: 'string' },
    profile: { type: 'string' },
  },
});
const runs = Number(values.runs);
const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
const dirs = positionals.length > 0 ? positionals : ['dist'];
const adminUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const { builds, remove: removeBuilds } = benchBuilds(dirs);

const stats = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) };
};
const show = ({ median, min, max }) => `${median.toFixed(0)} (${min.toFixed(0)}–${max.toFixed(0)})`;

const profiles = values.profile ? join(resolve(values.profile), 'current') : undefined;
if (profiles) mkdirSync(profiles, { recursive: true });
const db = await freshDatabase(adminUrl, 'ultrai_bench_startup');
const env = serviceEnv(db.url, redisUrl, 'bench-startup');
const results = builds.map(() => ({ cpu: [], wall: [], rss: [], faults: [] }));
try {
  // One start each first: migrations, and each build's compile cache (as the image's warm-up).
  const firstArgs = profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [];
  for (const { script, flags } of builds) {
    await startServer(env, { script, nodeArgs: [...flags, ...firstArgs] }).then((s) => s.stop());
  }
  if (profiles) for (const name of readdirSync(profiles)) rmSync(join(profiles, name));
  for (let round = 0; round < runs; round++) {
    const order = builds.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      // The same flags at every start (the code cache is kept per set of flags): Node names
      // each profile, renamed here once the start is over.
      const nodeArgs = [...builds[i].flags, ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [])];
      const server = await startServer(env, { script: builds[i].script, cpus, nodeArgs });
      if (!server) throw new Error('no cgroup for --cpus here');
      results[i].cpu.push(server.coldStartCpuMs);
      results[i].wall.push(server.coldStartMs);
      results[i].rss.push(rssMiB(server.pid));
      results[i].faults.push(server.coldStartFaults);
      await server.stop();
      if (values.profile) {
        for (const name of readdirSync(profiles))
          renameSync(join(profiles, name), join(values.profile, `${i}-${round}.cpuprofile`));
      }
    }
  }
} finally {
  await db.drop();
  if (profiles) rmSync(profiles, { recursive: true, force: true });
  removeBuilds();
}
console.log(
  `node ${process.version}, ${runs} starts each${cpus === undefined ? '' : ` at ${cpus} CPU`}, median (min–max) ms`,
);
builds.forEach(({ label }, i) =>
  console.log(
    `${(label.includes('+') ? label : basename(label)).padEnd(20)} start-up CPU ${show(stats(results[i].cpu)).padEnd(18)} ready after ${show(stats(results[i].wall)).padEnd(18)} RSS at ready ${show(stats(results[i].rss))} MiB   page faults ${show(stats(results[i].faults))}`,
  ),
);
