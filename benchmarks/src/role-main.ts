// One role process: `node dist/role-main.js <scenario id> <role>`; driven by the runner over Node IPC.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { takeDefinedRole, type Role, type RoleContext } from './api.js';

type Msg = { type: 'load'; entry: string } | { type: 'setup'; entry: string; ctx: RoleContext } | { type: 'run'; n: number; warmup: number } | { type: 'teardown' };
const here = dirname(fileURLToPath(import.meta.url));
let role: Role | undefined;
const send = (m: unknown) => new Promise<void>((res) => { process.send!(m, undefined, {}, () => res()); });
const errMsg = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

if (!process.send) { process.stderr.write('role-main.js is started by the benchmark runner\n'); process.exit(2); }
process.on('disconnect', () => process.exit(71));
let chain: Promise<void> = Promise.resolve();
// `load` (sent by the runner right after the spawn) imports the role module at once, so the roles of a cell
// load in parallel while the earlier roles run their setup; `setup` awaits the same import.
const loads = new Map<string, Promise<unknown>>();
const load = (entry: string) => {
  let p = loads.get(entry);
  if (!p) { p = import(pathToFileURL(join(here, 'roles', `${entry}.js`)).href); p.catch(() => {}); loads.set(entry, p); }
  return p;
};
process.on('message', (m: Msg) => {
  if (m.type === 'load') { load(m.entry); return; }
  chain = chain.then(async () => {
    try {
      if (m.type === 'setup') {
        await load(m.entry);
        role = takeDefinedRole();
        if (!role) throw new Error(`role module ${m.entry} did not call defineRole`);
        const result = await role.setup(m.ctx);
        await send({ type: 'setup-done', result: result ?? {} });
      } else if (m.type === 'run') {
        const result = await role!.run(m.n, m.warmup);
        await send({ type: 'run-done', result: result ?? null });
      } else if (m.type === 'teardown') {
        if (role) await role.teardown();
        await send({ type: 'teardown-done' });
        process.disconnect();
      }
    } catch (e) {
      await send({ type: 'error', message: errMsg(e) });
    }
  });
});
